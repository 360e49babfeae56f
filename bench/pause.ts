/**
 * `idleforge bench pause [--json] [--trials N]`: how long GPU work takes to stop once a condition
 * turns to stop. Each trial starts a large matmul on the real compute host under the governor,
 * lets it run a random 30–300 ms, then reports the user back at the keyboard through the
 * governor (as the idle source would) and times until the host has stopped submitting and the
 * GPU queue is empty (the run has settled).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SETTINGS } from '../protocol/index.js';
import { benchMatmulTask, openBenchHost } from './bench-task.js';
import { Governor } from '../worker/schedule/governor.js';

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** The stop times (ms, any order) as printed: how many, the median, the 99th percentile (nearest rank) and the worst, to 0.1 ms. */
export function stopFigures(latencies: readonly number[]): { trials: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    trials: sorted.length,
    p50Ms: Number(percentile(sorted, 50).toFixed(1)),
    p99Ms: Number(percentile(sorted, 99).toFixed(1)),
    maxMs: Number(sorted[sorted.length - 1]!.toFixed(1)),
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, trials: { type: 'string' } }, strict: true });
  const trials = Number(values.trials ?? 50);
  if (!Number.isInteger(trials) || trials < 1) {
    process.stderr.write('idleforge: --trials takes a whole number\n');
    return 2;
  }
  const host = await openBenchHost();
  if (!host) return 1;
  const readings = { idleSeconds: Infinity as number | null };
  const governor = new Governor({
    settings: () => ({ ...DEFAULT_SETTINGS, idleMinutes: 1 }),
    pause: () => ({ kind: 'none' }),
    sources: {
      idleSeconds: async () => readings.idleSeconds,
      onBattery: async () => false,
      runningPrograms: async () => [],
      gpuSensors: async () => ({ temperatureC: null, utilizationPercent: null }),
    },
  });
  const n = 512;
  const task = benchMatmulTask('bench-pause', n);

  const latencies: number[] = [];
  let finishedFirst = 0;
  try {
    for (let i = 0; i < trials; i++) {
      governor.update({ idleSeconds: Infinity });
      const run = host.run(task, governor.workSignal()).then(
        () => 'finished' as const,
        () => 'stopped' as const,
      );
      await new Promise((r) => setTimeout(r, 30 + Math.random() * 270));
      const t0 = performance.now();
      governor.update({ idleSeconds: 0 }); // the user is back
      const outcome = await run;
      const t1 = performance.now();
      if (outcome === 'finished') finishedFirst++;
      else latencies.push(t1 - t0);
    }
  } finally {
    governor.stop();
    await host.close();
  }
  const result = {
    ...stopFigures(latencies),
    adapter: host.adapter.description || host.adapter.device,
    task: `matmul ${n}×${n}×${n}`,
    finishedBeforeStop: finishedFirst,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `GPU work stopped ${result.p50Ms} ms (median) and ${result.p99Ms} ms (99th percentile) after the user came back, over ${result.trials} trials on ${result.adapter} (worst ${result.maxMs} ms).\n`,
    );
  }
  return 0;
}
