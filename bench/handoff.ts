/**
 * `idleforge bench handoff [--json] [--trials N] [--proc-root DIR]`: how fast the GPU is handed
 * back when someone else wants it, measured through the worker's own sources and governor on the
 * real compute host:
 * - another process using the GPU: the DRM fdinfo source reads a /proc tree. Without a DRM
 *   device (these machines) it is a fixture tree made here, where a "game" (pid 4242) starts
 *   using the GPU at a random moment of a running task and its busy time grows 80% of the time;
 *   `--proc-root` points it at another tree. With `--real` (a machine with a GPU) a real second
 *   process (gpu-load.ts, Dawn in a loop) starts using the GPU, the worker's own sources (DRM
 *   fdinfo, nvidia-smi) notice it, and "freed" is also read from the driver: the bench's own GPU
 *   memory (DRM fdinfo memory keys, or nvidia-smi's used_memory) falling to a tenth of what it
 *   held;
 * - a fullscreen window appearing: a real X server (Xvfb), window manager (openbox) and window
 *   (xmessage), made fullscreen with wmctrl, read by the X11 source; skipped, saying why, where
 *   those programs are missing.
 * For each: "noticed" is the time from the event to the governor stopping work; "freed" the time
 * from there to the device destroyed and lost (its memory given back: `host.release()`).
 * Targets: noticed within 1 s, freed within 250 ms after. Also what the sources cost while a
 * game runs, at their polling rates, as a share of one core over 10 s with the game present and
 * no GPU work (target under 0.5%): the CPU spent inside the source's calls plus that of the tools
 * they run (xprop, nvidia-smi), and, as an upper bound, the whole process's. The fixture tree
 * holds a desktop's worth of other processes (`--desktop-procs`, default 300, with 40 open files
 * each), so that the walk over /proc costs what it would on a desktop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_SETTINGS, type Task } from '../protocol/index.js';
import { quantile, round } from './stats.js';
import type { ComputeHost } from '../worker/compute/compute-host.js';
import { execRun, onPath } from '../worker/schedule/exec.js';
import { x11SpySource } from '../worker/schedule/fullscreen.js';
import { drmFdinfoSource, nodeGpuProcessSource } from '../worker/schedule/gpu-processes.js';
import { benchMatmulTask, openBenchHost } from './bench-task.js';
import { drmProcessMemoryKiB, nvidiaProcessMemoryKiB } from './gpu-memory.js';
import { Governor } from '../worker/schedule/governor.js';
import type { ConditionSources } from '../worker/schedule/sources.js';

const TARGETS = { noticedMs: 1000, freedMs: 250, sourcesCpuPct: 0.5 };
const GAME_PID = 4242;
/** A trial fails when the sources have not noticed the event by then. */
const NOTICE_LIMIT_MS = 10_000;
const X_TOOLS = ['Xvfb', 'openbox', 'wmctrl', 'xmessage', 'xprop'];

export interface Trial {
  noticedMs: number;
  freedMs: number;
  /** --real: until the driver reported this process's GPU memory freed. */
  driverFreedMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Other processes of a desktop in the fixture tree: a name, a parent, `files` open files, none of them a GPU. */
function fixtureDesktop(root: string, count: number, files = 40): void {
  for (let i = 0; i < count; i++) {
    const pid = 10_000 + i;
    const dir = join(root, String(pid));
    mkdirSync(join(dir, 'fd'), { recursive: true });
    mkdirSync(join(dir, 'fdinfo'), { recursive: true });
    writeFileSync(join(dir, 'cmdline'), `/usr/lib/desktop/app-${i}\0--flag\0`);
    writeFileSync(join(dir, 'comm'), `app-${i}\n`);
    writeFileSync(join(dir, 'stat'), `${pid} (app-${i}) S 1 ${pid} ${pid} 0 -1 4194560 0 0`);
    for (let fd = 0; fd < files; fd++) {
      symlinkSync(fd < 3 ? '/dev/null' : fd % 2 ? `socket:[${pid * 100 + fd}]` : `/usr/lib/desktop/file-${fd}`, join(dir, 'fd', String(fd)));
      writeFileSync(join(dir, 'fdinfo', String(fd)), 'pos:\t0\nflags:\t02\nmnt_id:\t24\n');
    }
  }
}

/**
 * A /proc-like tree holding one process that uses the GPU (amdgpu's fdinfo keys) while it is on:
 * a child process, not this one, keeps its busy time growing (80% of the time), so that the CPU
 * measured for the sources is theirs alone. It is started beforehand; `start` (SIGUSR1) and
 * `stop` (SIGUSR2) only turn the growth on and off, so a trial times the sources, not a start.
 */
function fixtureGame(root: string): { start(): void; stop(): void; close(): void } {
  const dir = join(root, String(GAME_PID));
  mkdirSync(join(dir, 'fd'), { recursive: true });
  mkdirSync(join(dir, 'fdinfo'), { recursive: true });
  writeFileSync(join(dir, 'cmdline'), '/usr/bin/blender\0');
  writeFileSync(join(dir, 'comm'), 'blender\n');
  writeFileSync(join(dir, 'stat'), `${GAME_PID} (blender) S 1 ${GAME_PID} ${GAME_PID} 0 -1 4194560 0 0`);
  symlinkSync('/dev/dri/renderD128', join(dir, 'fd', '3'));
  const file = join(dir, 'fdinfo', '3');
  const fdinfo = (busyNs: number): string => `pos:\t0\nflags:\t02100002\ndrm-driver:\tamdgpu\ndrm-client-id:\t57\ndrm-memory-vram:\t409600 KiB\ndrm-engine-gfx:\t${busyNs} ns\n`;
  writeFileSync(file, fdinfo(0));
  const writer = `const fs = require('node:fs'); let busy = 0; let on = false; let last = performance.now();
    process.on('SIGUSR1', () => { on = true; last = performance.now(); }); process.on('SIGUSR2', () => (on = false));
    setInterval(() => { if (!on) return; const now = performance.now(); busy += Math.round((now - last) * 0.8e6); last = now;
      fs.writeFileSync(process.argv[1], ${JSON.stringify(fdinfo(0)).replace('0 ns', '" + busy + " ns')}); }, 50);`;
  const child: ChildProcess = spawn(process.execPath, ['-e', writer, file], { stdio: 'ignore' });
  return {
    start: () => void child.kill('SIGUSR1'),
    stop: () => void child.kill('SIGUSR2'),
    close: () => void child.kill('SIGKILL'),
  };
}

/**
 * A real second process using the GPU (gpu-load.ts), opened beforehand (`prepare`), so that
 * `start` is the moment it begins to compute (SIGUSR1) and `stop` when it stops (SIGUSR2).
 */
function realGame(readyFile: string): { prepare(): Promise<void>; start(): void; stop(): void; close(): void } {
  let pid: number | null = null;
  const signal = (s: NodeJS.Signals): void => {
    if (pid === null) return;
    try {
      process.kill(pid, s);
    } catch {
      // it ended by itself
    }
  };
  return {
    async prepare() {
      pid ??= await startLoad(readyFile);
    },
    start: () => signal('SIGUSR1'),
    stop: () => signal('SIGUSR2'),
    close() {
      signal('SIGKILL');
      pid = null;
    },
  };
}

/** Xvfb, openbox and an xmessage window; null (with why) where the programs are missing. */
async function startX(): Promise<{ display: string; fullscreen(on: boolean): Promise<void>; stop(): void } | string> {
  const missing = X_TOOLS.filter((t) => !onPath(t));
  if (missing.length > 0) return `no ${missing.join(', ')} on this machine (apt-get install xvfb openbox wmctrl x11-apps x11-utils)`;
  const children: ChildProcess[] = [];
  const stop = (): void => children.forEach((c) => c.kill('SIGKILL'));
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  children.push(xvfb);
  const number = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Xvfb did not start within 10 s')), 10_000);
    (xvfb.stdio[3] as NodeJS.ReadableStream).once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.toString().trim());
    });
  }).catch((error: unknown) => {
    stop();
    throw error;
  });
  const display = `:${number}`;
  const env = { ...process.env, DISPLAY: display };
  const title = 'idleforge-bench-game';
  children.push(spawn('openbox', [], { env, stdio: 'ignore' }));
  const wmctrl = (args: string[]): Promise<number> =>
    new Promise((resolve) => spawn('wmctrl', args, { env, stdio: 'ignore' }).once('exit', (code) => resolve(code ?? 1)));
  // The window manager is up once wmctrl can list windows; then the window, once it can focus it.
  const until = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    for (let i = 0; !(await check()); i++) {
      if (i > 100) {
        stop();
        throw new Error(`${what} within 10 s`);
      }
      await sleep(100);
    }
  };
  await until(async () => (await wmctrl(['-l'])) === 0, 'the window manager did not start');
  children.push(spawn('xmessage', ['-title', title, 'a game'], { env, stdio: 'ignore' }));
  await until(async () => (await wmctrl(['-a', title])) === 0, 'the window did not appear');
  await sleep(200);
  return {
    display,
    fullscreen: async (on) => void (await wmctrl(['-r', title, '-b', `${on ? 'add' : 'remove'},fullscreen`])),
    stop,
  };
}

/** Quiet readings for every source the scenario does not test. */
function quiet(extra: Partial<ConditionSources>): ConditionSources {
  return {
    idleSeconds: async () => Infinity,
    onBattery: async () => false,
    runningPrograms: async () => [],
    gpuSensors: async () => ({ temperatureC: null, utilizationPercent: null }),
    ...extra,
  };
}

/** One hand-back: a task runs, `begin()` makes the event, the governor notices, the host frees the GPU. */
async function trial(
  host: ComputeHost,
  governor: Governor,
  task: Task,
  begin: () => Promise<void> | void,
  end: () => Promise<void> | void,
  memory?: () => Promise<number | null>,
): Promise<Trial> {
  await waitFor(() => governor.decision.allowed, 30_000, 'work allowed again');
  const run = host.run(task, governor.workSignal()).catch(() => undefined);
  await sleep(100 + Math.random() * 400);
  const held = memory ? await memory() : null;
  const noticed = new Promise<number>((resolve) => {
    const off = governor.onChange((d) => {
      if (!d.allowed) {
        off();
        resolve(performance.now());
      }
    });
  });
  const t0 = performance.now();
  await begin();
  const t1 = await Promise.race([noticed, sleep(NOTICE_LIMIT_MS).then(() => Promise.reject(new Error(`the sources did not notice within ${NOTICE_LIMIT_MS / 1000} s`)))]);
  await host.release?.();
  const t2 = performance.now();
  // As the driver sees it: this process's GPU memory down to a tenth of what it held.
  let driverFreedMs: number | undefined;
  if (memory && held !== null && held > 0) {
    for (let now = await memory(); performance.now() - t1 < 3000; now = await memory()) {
      if (now === null || now <= held / 10) {
        driverFreedMs = performance.now() - t1;
        break;
      }
    }
  }
  await run;
  await end();
  return { noticedMs: t1 - t0, freedMs: t2 - t1, ...(driverFreedMs !== undefined ? { driverFreedMs } : {}) };
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/** The trials' figures: median and worst of noticed, freed and (--real) freed as the driver saw it, ms. */
export const handoffFigures = (trials: Trial[]) => {
  const stats = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return { p50: round(quantile(v, 0.5)), max: round(v.at(-1) ?? 0) };
  };
  const driver = trials.flatMap((t) => (t.driverFreedMs === undefined ? [] : [t.driverFreedMs]));
  return {
    trials: trials.length,
    noticedMs: stats(trials.map((t) => t.noticedMs)),
    freedMs: stats(trials.map((t) => t.freedMs)),
    ...(driver.length > 0 ? { driverFreedMs: stats(driver) } : {}),
  };
};

/** Starts gpu-load.ts outside this process tree (its shell exits) and waits until its device is open; returns its pid. */
async function startLoad(readyFile: string): Promise<number> {
  const script = fileURLToPath(new URL('./gpu-load.ts', import.meta.url));
  const out = await execRun(10_000)('sh', ['-c', `"${process.execPath}" --import tsx "${script}" "${readyFile}" >/dev/null 2>&1 & echo $!`]);
  const pid = Number(out.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`could not start the GPU load: ${out}`);
  await waitFor(() => existsSync(readyFile), 60_000, 'the GPU load process ready');
  return pid;
}

/** This process's GPU memory (KiB), as its driver reports it: DRM fdinfo, else nvidia-smi; null when neither tells. */
function ownGpuMemory(): () => Promise<number | null> {
  const smi = onPath('nvidia-smi');
  const run = execRun(2000);
  return async () => {
    const drm = drmProcessMemoryKiB(process.pid);
    if (drm !== null || !smi) return drm;
    try {
      return nvidiaProcessMemoryKiB(await run(smi, ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits']), process.pid);
    } catch {
      return null;
    }
  };
}

/** CPU time over wall time, as a percentage of one core (to 0.001). */
export const shareOfCore = (cpuMs: number, wallMs: number): number => round((cpuMs / wallMs) * 100, 3);

/** The tools the sources run as child processes. */
const SOURCE_TOOLS = new Set(['xprop', 'nvidia-smi']);

/**
 * CPU ms so far of this process's children that are the sources' tools, the living ones (from
 * their /proc/<pid>/stat) and the ended ones (this process's cutime and cstime); 0 without /proc.
 */
function toolsCpuMs(): number {
  const ticks = (stat: string, from: number, count: number): number =>
    stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(from, from + count).reduce((sum, t) => sum + Number(t), 0) * 10; // USER_HZ 100
  try {
    // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    let ms = ticks(readFileSync('/proc/self/stat', 'latin1'), 13, 2);
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === process.pid && SOURCE_TOOLS.has(name)) ms += ticks(stat, 11, 2);
      } catch {
        // it ended while we looked
      }
    }
    return ms;
  } catch {
    return 0;
  }
}

/** Counts the CPU spent inside a source's calls (their work is synchronous file reads, or a child's, counted apart). */
function metered<A extends unknown[], R>(read: (...args: A) => Promise<R>): { read: (...args: A) => Promise<R>; cpuMs(): number } {
  let us = 0;
  return {
    read: async (...args) => {
      const before = process.cpuUsage();
      const pending = read(...args);
      const used = process.cpuUsage(before);
      us += used.user + used.system;
      return pending;
    },
    cpuMs: () => us / 1000,
  };
}

/**
 * What the sources cost while `governor` polls with a game present and no GPU work, as % of one
 * core over `ms`: their own calls and tools, and the whole process's (an upper bound: Dawn's idle
 * threads and the governor's timers are in it too).
 */
async function sourcesCpu(ms: number, source: { cpuMs(): number }): Promise<{ sourcesCpuPct: number; processCpuPct: number }> {
  const before = process.cpuUsage();
  const own0 = source.cpuMs();
  const tools0 = toolsCpuMs();
  const t0 = performance.now();
  await sleep(ms);
  const used = process.cpuUsage(before);
  const wall = performance.now() - t0;
  return {
    sourcesCpuPct: shareOfCore(source.cpuMs() - own0 + toolsCpuMs() - tools0, wall),
    processCpuPct: shareOfCore((used.user + used.system) / 1000, wall),
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, trials: { type: 'string' }, 'proc-root': { type: 'string' }, real: { type: 'boolean' }, 'desktop-procs': { type: 'string' } },
    strict: true,
  });
  const trials = Number(values.trials ?? 5);
  const desktopProcs = Number(values['desktop-procs'] ?? 300);
  if (!Number.isInteger(trials) || trials < 1 || !Number.isInteger(desktopProcs) || desktopProcs < 0) {
    process.stderr.write('idleforge: --trials and --desktop-procs take a whole number\n');
    return 2;
  }
  if (values.real && !existsSync('/dev/dri') && !onPath('nvidia-smi')) {
    process.stderr.write('idleforge: --real needs a GPU whose use the sources can read: a DRM device under /dev/dri, or nvidia-smi\n');
    return 1;
  }
  const host = await openBenchHost();
  if (!host) return 1;
  const n = 512;
  const task = benchMatmulTask('bench-handoff', n);
  const settings = () => ({ ...DEFAULT_SETTINGS, idleMinutes: 0 });
  const pause = () => ({ kind: 'none' as const });
  const result: Record<string, unknown> = { bench: 'handoff', device: host.adapter.description || host.adapter.device, task: `matmul ${n}×${n}×${n}` };
  const fixtureRoot = values['proc-root'] ? null : mkdtempSync(join(tmpdir(), 'idleforge-handoff-proc-'));
  try {
    // What the sources cost while a game runs: this whole process's CPU over 10 s with the game
    // present, the governor polling and no GPU work (an upper bound: Dawn's idle threads and the
    // governor's own timers are in it too).
    const cost = async (source: { cpuMs(): number }): Promise<{ sourcesCpuPct: number; processCpuPct: number }> => {
      await sleep(3000); // the trials' GPU work winds down first
      return sourcesCpu(10_000, source);
    };
    // Another process on the GPU: a real one (--real), or a fixture /proc tree's.
    const procRoot = values['proc-root'] ?? fixtureRoot!;
    const real = values.real ? realGame(join(fixtureRoot ?? tmpdir(), `idleforge-gpu-load-${process.pid}.ready`)) : null;
    await real?.prepare();
    const game = real ?? fixtureGame(procRoot);
    if (fixtureRoot) fixtureDesktop(fixtureRoot, desktopProcs);
    // The writer (or the load) is up before the first trial.
    await sleep(1000);
    const processSource = metered(values.real ? nodeGpuProcessSource() : drmFdinfoSource({ procRoot }));
    const g1 = new Governor({ settings, pause, sources: quiet({ gpuProcesses: processSource.read }) });
    const memory = values.real ? ownGpuMemory() : undefined;
    await g1.start();
    // What the source costs while no other process uses the GPU (work allowed, so every read
    // walks /proc): the price of noticing within a second.
    const watching = (await sourcesCpu(5000, processSource)).sourcesCpuPct;
    const processTrials: Trial[] = [];
    try {
      for (let i = 0; i < trials; i++) processTrials.push(await trial(host, g1, task, () => game.start(), async () => game.stop(), memory));
      // The last trial's end is seen first (else "noticed" below is the trial's, and the start
      // signal can land together with the stop, which the game then handles second).
      await waitFor(() => g1.decision.allowed, 30_000, 'the game seen gone');
      game.start();
      await waitFor(() => !g1.decision.allowed, 5000, 'the game noticed');
      const source = values.real
        ? 'a real second process (Dawn), seen by DRM fdinfo or nvidia-smi'
        : values['proc-root']
          ? `DRM fdinfo under ${procRoot}`
          : `DRM fdinfo, a fixture /proc tree with ${desktopProcs} other processes`;
      result.gpuProcess = { source, ...handoffFigures(processTrials), ...(await cost(processSource)), watchingCpuPct: watching };
      game.stop();
    } finally {
      g1.stop();
      game.close();
    }

    // A fullscreen window.
    const x = await startX();
    if (typeof x === 'string') result.fullscreen = { skipped: x };
    else {
      const fullscreenSource = metered(x11SpySource({ display: x.display }));
      const g2 = new Governor({ settings, pause, sources: quiet({ fullscreenApp: fullscreenSource.read }) });
      await g2.start();
      const fullTrials: Trial[] = [];
      try {
        for (let i = 0; i < trials; i++) fullTrials.push(await trial(host, g2, task, () => x.fullscreen(true), () => x.fullscreen(false)));
        await waitFor(() => g2.decision.allowed, 30_000, 'the window seen out of fullscreen');
        await x.fullscreen(true);
        await waitFor(() => !g2.decision.allowed, 5000, 'the fullscreen window noticed');
        result.fullscreen = { source: `X11 (Xvfb ${x.display}, openbox, xmessage)`, ...handoffFigures(fullTrials), ...(await cost(fullscreenSource)) };
      } finally {
        g2.stop();
        x.stop();
      }
    }
  } finally {
    if (fixtureRoot) rmSync(fixtureRoot, { recursive: true, force: true });
    await host.close();
  }
  const parts = [result.gpuProcess, result.fullscreen].filter((p): p is ReturnType<typeof handoffFigures> & { sourcesCpuPct: number } => typeof p === 'object' && p !== null && 'trials' in p);
  result.targets = {
    ...TARGETS,
    met: {
      noticed: parts.every((p) => p.noticedMs.max <= TARGETS.noticedMs),
      freed: parts.every((p) => p.freedMs.max <= TARGETS.freedMs),
      sourcesCpu: parts.every((p) => p.sourcesCpuPct < TARGETS.sourcesCpuPct),
    },
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    for (const [name, p] of [['another process on the GPU', result.gpuProcess], ['a fullscreen window', result.fullscreen]] as const) {
      const r = p as (ReturnType<typeof handoffFigures> & { sourcesCpuPct: number; processCpuPct: number; source: string }) | { skipped: string };
      if ('skipped' in r) process.stdout.write(`${name}: not measured: ${r.skipped}\n`);
      else process.stdout.write(`${name} (${r.source}): noticed in ${r.noticedMs.p50} ms (worst ${r.noticedMs.max}), GPU memory freed ${r.freedMs.p50} ms after (worst ${r.freedMs.max}), over ${r.trials} trials; the sources cost ${r.sourcesCpuPct}% of one core while it lasts (the whole process ${r.processCpuPct}%)${'watchingCpuPct' in r ? `, ${String(r.watchingCpuPct)}% while watching for it` : ''}\n`);
    }
    process.stdout.write(`targets: noticed within ${TARGETS.noticedMs} ms, freed within ${TARGETS.freedMs} ms, sources under ${TARGETS.sourcesCpuPct}% of a core\n`);
  }
  return 0;
}
