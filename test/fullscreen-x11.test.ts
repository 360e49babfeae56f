/**
 * A real X server: Xvfb, the openbox window manager (it keeps the EWMH fullscreen state) and a
 * real window (xmessage), made fullscreen and back with wmctrl. The X11 source, a Governor
 * built on the Node sources for that display, and the real headless worker working on that
 * display must notice within a second either way.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { CliEvent } from '../protocol/index.js';
import { DEFAULT_SETTINGS } from '../protocol/settings.js';
import { DEVNET_REPLICA_POLICY, DEVNET_STANDING } from '../hub/devnet.js';
import { startHub } from '../hub/server.js';
import { runCli, startCli, tempDir } from './helpers.js';
import { onPath } from '../worker/schedule/exec.js';
import type { Decision } from '../worker/schedule/conditions.js';
import { x11FullscreenSource, x11SpySource } from '../worker/schedule/fullscreen.js';
import { Governor } from '../worker/schedule/governor.js';
import { nodeSources } from '../worker/schedule/sources.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';

const exec = promisify(execFile);
const TOOLS = ['Xvfb', 'openbox', 'wmctrl', 'xmessage', 'xprop'];
const missing = TOOLS.filter((t) => !onPath(t));
const skip = process.platform !== 'linux' ? 'needs Linux and X11' : missing.length > 0 ? `${missing.join(', ')} not installed (apt-get install xvfb openbox wmctrl x11-utils)` : false;

/** Read through a function: an assert on `governor.decision.allowed` would narrow the getter's type for good. */
const decisionOf = (g: Governor): Decision => g.decision;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it holds; resolves with the ms it took, or rejects after `limitMs`. */
async function until(check: () => Promise<boolean> | boolean, limitMs: number, everyMs = 20): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`not within ${limitMs} ms`);
    await sleep(everyMs);
  }
}

describe('fullscreen on a real X server (Xvfb + openbox + xmessage)', { skip }, () => {
  const children: ChildProcess[] = [];
  let display = '';
  const title = `idleforge-fullscreen-${process.pid}`;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, DISPLAY: display });
  const x = async (cmd: string, args: string[]): Promise<string> => (await exec(cmd, args, { env: env(), timeout: 3000 })).stdout;
  const start = (cmd: string, args: string[], stdio: ('ignore' | 'pipe')[] = ['ignore', 'ignore', 'pipe']): ChildProcess => {
    const c = spawn(cmd, args, { env: env(), stdio });
    children.push(c);
    return c;
  };
  const wm = (op: 'add' | 'remove'): Promise<string> => x('wmctrl', ['-r', title, '-b', `${op},fullscreen`]);

  before(async () => {
    // Xvfb picks a free display itself and writes its number to fd 3.
    const xvfb = start('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], ['ignore', 'ignore', 'pipe', 'pipe']);
    display = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('Xvfb did not start within 10 s')), 10_000);
      xvfb.stdio[3]!.on('data', (b: Buffer) => {
        out += String(b);
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(`:${out.trim()}`);
        }
      });
      xvfb.on('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
    });
    start('openbox', []);
    await until(async () => (await x('xprop', ['-root', '_NET_SUPPORTING_WM_CHECK']).catch(() => '')).includes('window id'), 10_000, 50);
    start('xmessage', ['-title', title, 'A window to make fullscreen']);
    await until(async () => (await x('wmctrl', ['-l']).catch(() => '')).includes(title), 10_000, 50);
    // openbox gives the new window the focus.
    await until(async () => !/# 0x0\b/.test(await x('xprop', ['-root', '_NET_ACTIVE_WINDOW']).catch(() => '# 0x0')), 10_000, 50);
  });

  after(async () => {
    // Newest first (the window, the window manager, then the server), each by its own pid.
    for (const c of children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill('SIGTERM');
      const ended = new Promise((r) => c.once('exit', r));
      if ((await Promise.race([ended, sleep(2000).then(() => 'late')])) === 'late') c.kill('SIGKILL');
    }
  });

  /** Toggles fullscreen twice; `source` must follow each way within 1 s. Returns the latencies in words. */
  const follows = async (source: () => Promise<string | null>): Promise<string> => {
    assert.equal(await source(), null, 'a normal window is not fullscreen');
    const latencies: string[] = [];
    for (let round = 0; round < 2; round++) {
      await wm('add');
      const on = await until(async () => (await source()) === 'Xmessage', 1000);
      await wm('remove');
      const off = await until(async () => (await source()) === null, 1000);
      latencies.push(`on ${on.toFixed(0)} ms, off ${off.toFixed(0)} ms`);
    }
    return latencies.join('; ');
  };

  it('the X11 source says which app is fullscreen within 1 s, and null within 1 s after it leaves', async () => {
    const source = x11FullscreenSource({ display });
    const latencies = await follows(source);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) await source();
    process.stderr.write(`# X11 source, read back-to-back: ${latencies}; one read ${((performance.now() - t0) / 20).toFixed(1)} ms\n`);
  });

  it('the event-driven X11 source (xprop -spy) says the same within 1 s, without running a program per read', async () => {
    process.stderr.write(`# X11 spy source: ${await follows(x11SpySource({ display }))}\n`);
  });

  it('a Governor on the Node sources for this display stops with code fullscreen within 1 s, and resumes within 1 s after', async () => {
    const real = nodeSources({ display });
    const governor = new Governor({
      settings: () => DEFAULT_SETTINGS,
      pause: () => ({ kind: 'none' }),
      sources: {
        ...real,
        idleSeconds: async () => Infinity,
        onBattery: async () => false,
        runningPrograms: async () => [],
        gpuSensors: async () => ({ temperatureC: 50, utilizationPercent: 0 }),
        gpuProcesses: async () => [],
      },
    });
    await governor.start();
    try {
      assert.equal(governor.decision.allowed, true);
      const latencies: string[] = [];
      for (let round = 0; round < 3; round++) {
        const signal = governor.workSignal();
        // Measured from the moment wmctrl returns, the window manager having changed the state.
        await wm('add');
        const on = await until(() => signal.aborted, 1000, 5);
        const d = decisionOf(governor);
        assert.equal(d.allowed ? 'allowed' : d.code, 'fullscreen');
        assert.equal(!d.allowed && d.reason, 'Paused: a fullscreen app is in front (Xmessage)');
        await wm('remove');
        const off = await until(() => decisionOf(governor).allowed, 1000, 5);
        latencies.push(`stop ${on.toFixed(0)} ms, resume ${off.toFixed(0)} ms`);
        await sleep(100 + round * 150); // a different phase of the 250 ms poll each round
      }
      process.stderr.write(`# Governor (250 ms poll): ${latencies.join('; ')}\n`);
    } finally {
      governor.stop();
    }
  });

  it('a working headless worker on this display stops within 1 s of the window going fullscreen, and works again after', async (t) => {
    const dir = tempDir('fullscreen');
    // A lone worker's hashsearch results wait for a check: let it hold many, so it never runs out of work here.
    const hub = await startHub({
      db: await testDatabaseUrl(),
      port: 0,
      customerStartingBalance: 10n ** 30n,
      standing: { ...DEVNET_STANDING, newKey: { ...DEVNET_STANDING.newKey, pending: 1000 } },
      replicaPolicy: DEVNET_REPLICA_POLICY,
    });
    const key = await hub.createCustomer('fullscreen test');
    const job = (seed: number) =>
      fetch(`${hub.url}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'hashsearch', header: seed.toString(16).padStart(8, '0'), target: `0000${'f'.repeat(60)}`, start: String(seed * 2 ** 30), count: 30 * 2 ** 20 }),
      });
    // Without xprintidle on PATH the display's user counts as idle: only the window matters here.
    // Nor the game list: another test file may be running a process named like a game beside this one.
    const set = await runCli(['settings', 'set', 'useBuiltinBlocklist=false', '--data', join(dir.path, 'worker')]);
    assert.equal(set.code, 0, set.stderr);
    const worker = startCli(['worker', '--hub', hub.url, '--data', join(dir.path, 'worker'), '--json', '--idle-minutes', '0'], { DISPLAY: display });
    t.after(async () => {
      worker.child.kill('SIGINT');
      await worker.exit;
      await hub.close();
      dir.remove();
    });
    assert.equal((await job(1)).status, 201);
    const states = (): { state: string; reason: string }[] => worker.events.filter((e): e is Extract<CliEvent, { event: 'state' }> => e.event === 'state');
    const working = (): boolean => states().at(-1)?.state === 'working' && /^Working on a/.test(states().at(-1)!.reason);
    await until(working, 60_000);
    await sleep(500);
    const latencies: string[] = [];
    for (let round = 0; round < 2; round++) {
      await wm('add');
      const on = await until(() => states().at(-1)?.reason === 'Paused: a fullscreen app is in front (Xmessage)', 1000, 5);
      await sleep(1500);
      assert.equal(states().at(-1)?.reason, 'Paused: a fullscreen app is in front (Xmessage)', 'no work while the window is fullscreen');
      await wm('remove');
      const off = await until(working, 5000, 5).catch(() => assert.fail(`no work within 5 s of leaving fullscreen; last states: ${JSON.stringify(states().slice(-4))}`));
      latencies.push(`stop ${on.toFixed(0)} ms, back at work ${off.toFixed(0)} ms`);
      await sleep(700);
    }
    process.stderr.write(`# a working worker: ${latencies.join('; ')}\n`);
  });
});
