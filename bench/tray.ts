/**
 * `idleforge bench tray [--json] [--warmup S] [--window S]`: what the desktop app costs sitting
 * idle in the tray: memory across all its processes and CPU as a percentage of one core. The app
 * (bundled from the sources) starts hidden with a fresh data folder and a wallet against a local
 * network, pauses itself, and measures with app.getAppMetrics() (method: bench/app/tray.ts, also
 * printed). Where Electron cannot run (no binary, no display) it prints why and measures nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ReadyEventSchema } from '../protocol/index.js';
import { bundleDesktopApp, chooseStartMode, desktopArgs, desktopEnv, findElectronBinary, prepareElectronNative, PROJECT_ROOT } from '../cli/desktop.js';

const BIN = join(PROJECT_ROOT, 'bin', 'idleforge.mjs');

/** What the app prints when IDLEFORGE_BENCH_TRAY is set (bench/app/tray.ts runTrayBench). */
const TrayFiguresSchema = z.object({
  bench: z.literal('tray'),
  skipped: z.literal(false),
  windowS: z.number(),
  warmupS: z.number(),
  memoryMB: z.number(),
  cpuPercentOfOneCore: z.number(),
  processes: z.array(z.object({ type: z.string(), pid: z.number(), memoryMB: z.number(), cpuPercent: z.number() })),
  limits: z.object({ memoryMB: z.number(), cpuPercentOfOneCore: z.number() }),
  withinLimits: z.boolean(),
  method: z.string(),
});

function seconds(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3600) throw new Error(`--${name} takes whole seconds, 1 to 3600`);
  return n;
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  createInterface({ input: stream }).on('line', onLine);
}

function json(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, warmup: { type: 'string' }, window: { type: 'string' } }, strict: true });
  const warmupS = seconds(values.warmup, 10, 'warmup');
  const windowS = seconds(values.window, 30, 'window');
  const say = (line: string): void => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  const mode = chooseStartMode({ electron: findElectronBinary(), platform: process.platform, env: process.env });
  if (mode.mode === 'headless') {
    const { reason } = mode;
    if (values.json) process.stdout.write(`${JSON.stringify({ bench: 'tray', skipped: true, reason })}\n`);
    else process.stdout.write(`bench tray: skipped: ${reason}.\n`);
    return 0;
  }

  const dir = mkdtempSync(join(tmpdir(), 'idleforge-bench-tray-'));
  const children: ReturnType<typeof spawn>[] = [];
  try {
    say('Bundling the desktop app…');
    await bundleDesktopApp({ outdir: join(dir, 'desktop'), dashboard: false });
    await prepareElectronNative(join(dir, 'desktop'));
    const env = { ...process.env, IDLEFORGE_PASSPHRASE: randomBytes(12).toString('hex') };
    say('Starting a local network…');
    const devnet = spawn(process.execPath, [BIN, 'devnet', '--json', '--port', '0', '--data', join(dir, 'devnet')], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(devnet);
    const ready = await new Promise<z.infer<typeof ReadyEventSchema>>((resolve, reject) => {
      lines(devnet.stdout!, (line) => {
        const parsed = ReadyEventSchema.safeParse(json(line));
        if (parsed.success) resolve(parsed.data);
      });
      devnet.once('exit', () => reject(new Error('the local network did not start')));
    });
    const created = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, [BIN, 'wallet', 'create', '--data', join(dir, 'worker')], { stdio: 'ignore', env });
      c.once('exit', (code) => resolve(code ?? 1));
    });
    if (created !== 0) throw new Error('could not create a wallet for the measured app');

    say(`Measuring the idle tray: ${warmupS} s warm-up, then a ${windowS} s window…`);
    const app = spawn(mode.electron, desktopArgs({ hub: ready.hub, rpc: ready.rpc, dataDir: join(dir, 'worker'), hidden: true, bundleDir: join(dir, 'desktop') }), {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...desktopEnv(env), IDLEFORGE_BENCH_TRAY: `${warmupS},${windowS}` },
    });
    children.push(app);
    const figures = await new Promise<z.infer<typeof TrayFiguresSchema>>((resolve, reject) => {
      lines(app.stdout!, (line) => {
        const parsed = TrayFiguresSchema.safeParse(json(line));
        if (parsed.success) resolve(parsed.data);
      });
      app.once('exit', (code) => reject(new Error(`the desktop app exited (${code}) before it measured`)));
    });
    if (values.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
    else {
      process.stdout.write(
        `Idle tray: ${figures.memoryMB} MB across ${figures.processes.length} processes, ${figures.cpuPercentOfOneCore}% of one core over ${figures.windowS.toFixed(0)} s ` +
          `(${figures.withinLimits ? 'within' : 'OVER'} the limits of ${figures.limits.memoryMB} MB and ${figures.limits.cpuPercentOfOneCore}%).\n`,
      );
      for (const p of figures.processes) process.stdout.write(`  ${p.type.padEnd(12)} ${String(p.memoryMB).padStart(7)} MB  ${p.cpuPercent}%\n`);
      process.stdout.write(`Method: ${figures.method}\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`idleforge: bench tray: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGINT');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    rmSync(dir, { recursive: true, force: true });
  }
}
