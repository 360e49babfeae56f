/**
 * `idleforge bench tray`'s figures, from two snapshots of app.getAppMetrics() taken `windowS`
 * apart while the app sits idle in the tray (no work running): memory is the sum of every
 * process's working set (main, GPU, network and utility processes, any renderer) at the end of
 * the window; CPU is the CPU time all of them used during the window, as a percentage of one core.
 */

/** The parts of Electron's ProcessMetric used here (memory in KiB, as Electron reports it). */
export interface MetricSample {
  pid: number;
  type: string;
  cpu: { percentCPUUsage: number; cumulativeCPUUsage?: number };
  memory: { workingSetSize: number };
}

export const TRAY_LIMITS = { memoryMB: 150, cpuPercentOfOneCore: 0.5 } as const;

export const TRAY_METHOD =
  'The app starts with a fresh data folder against a local network, is paused so that no work runs, and waits out a warm-up; ' +
  'then app.getAppMetrics() is read twice, a window apart. Memory: the sum of every process’s working set (KiB × 1024 / 10⁶ = MB) ' +
  'at the end of the window. CPU: each process’s CPU time during the window (cumulativeCPUUsage difference; percentCPUUsage since ' +
  'the first read where that is missing), summed, over the window’s length, as a percentage of one core.';

export interface TrayFigures {
  windowS: number;
  processes: { type: string; pid: number; memoryMB: number; cpuPercent: number }[];
  memoryMB: number;
  cpuPercentOfOneCore: number;
  limits: typeof TRAY_LIMITS;
  withinLimits: boolean;
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

export function summarizeTray(first: readonly MetricSample[], last: readonly MetricSample[], windowS: number): TrayFigures {
  if (!(windowS > 0)) throw new RangeError('the window must be longer than 0 s');
  const before = new Map(first.map((m) => [m.pid, m]));
  const processes = last.map((m) => {
    const b = before.get(m.pid);
    const cumulative =
      m.cpu.cumulativeCPUUsage !== undefined && (b === undefined || b.cpu.cumulativeCPUUsage !== undefined)
        ? ((m.cpu.cumulativeCPUUsage - (b?.cpu.cumulativeCPUUsage ?? 0)) / windowS) * 100
        : null;
    return {
      type: m.type,
      pid: m.pid,
      memoryMB: round((m.memory.workingSetSize * 1024) / 1e6, 1),
      cpuPercent: round(cumulative ?? m.cpu.percentCPUUsage, 3),
    };
  });
  const memoryMB = round(last.reduce((sum, m) => sum + m.memory.workingSetSize * 1024, 0) / 1e6, 1);
  const cpuPercentOfOneCore = round(
    processes.reduce((sum, p) => sum + p.cpuPercent, 0),
    3,
  );
  return {
    windowS,
    processes,
    memoryMB,
    cpuPercentOfOneCore,
    limits: TRAY_LIMITS,
    withinLimits: memoryMB < TRAY_LIMITS.memoryMB && cpuPercentOfOneCore < TRAY_LIMITS.cpuPercentOfOneCore,
  };
}

export interface TrayBenchOptions {
  /** app.getAppMetrics */
  metrics(): MetricSample[];
  /** Makes sure no work runs (the engine's pause). */
  pause(): Promise<unknown>;
  warmupS: number;
  windowS: number;
  sleep(ms: number): Promise<void>;
  now(): number;
}

/** Pauses, waits out the warm-up, measures over the window; the figures and the method. */
export async function runTrayBench(o: TrayBenchOptions): Promise<TrayFigures & { bench: 'tray'; skipped: false; warmupS: number; method: string }> {
  await o.pause();
  await o.sleep(o.warmupS * 1000);
  const first = o.metrics();
  const started = o.now();
  await o.sleep(o.windowS * 1000);
  const last = o.metrics();
  const figures = summarizeTray(first, last, (o.now() - started) / 1000);
  return { bench: 'tray', skipped: false, warmupS: o.warmupS, ...figures, method: TRAY_METHOD };
}

/** IDLEFORGE_BENCH_TRAY="warmup,window" (seconds), as `idleforge bench tray` sets it; null when absent. */
export function trayBenchRequest(value: string | undefined): { warmupS: number; windowS: number } | null {
  if (!value) return null;
  const m = /^(\d{1,4}),(\d{1,4})$/.exec(value.trim());
  if (!m || Number(m[2]) < 1) throw new RangeError(`IDLEFORGE_BENCH_TRAY takes "warmup,window" in seconds (like 10,30), not ${value}`);
  return { warmupS: Number(m[1]), windowS: Number(m[2]) };
}
