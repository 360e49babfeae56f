/** `idleforge bench tray`'s figures, from two known snapshots of the app's process metrics. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runTrayBench, summarizeTray, trayBenchRequest, type MetricSample } from './tray.js';

describe('idle-tray figures', () => {
  const sample = (pid: number, type: string, kib: number, cumulative?: number, percent = 0): MetricSample => ({
    pid,
    type,
    memory: { workingSetSize: kib },
    cpu: { percentCPUUsage: percent, ...(cumulative !== undefined ? { cumulativeCPUUsage: cumulative } : {}) },
  });

  test('memory summed over every process; CPU time over the window as % of one core', () => {
    const first = [sample(1, 'Browser', 60_000, 10), sample(2, 'GPU', 30_000, 5), sample(3, 'Utility', 10_000, 1)];
    const last = [sample(1, 'Browser', 62_000, 10.06), sample(2, 'GPU', 30_000, 5.03), sample(3, 'Utility', 10_000, 1), sample(4, 'Tab', 20_000, 0.03)];
    const f = summarizeTray(first, last, 30);
    assert.equal(f.memoryMB, Math.round(((62_000 + 30_000 + 10_000 + 20_000) * 1024) / 1e5) / 10);
    assert.equal(f.cpuPercentOfOneCore, 0.4, '0.12 s of CPU in 30 s');
    assert.equal(f.processes.length, 4);
    assert.equal(f.withinLimits, true);
    const heavy = summarizeTray(first, [sample(1, 'Browser', 150_000, 11)], 30);
    assert.equal(heavy.withinLimits, false);
    const noCumulative = summarizeTray([sample(1, 'Browser', 1000)], [sample(1, 'Browser', 1000, undefined, 0.25)], 30);
    assert.equal(noCumulative.cpuPercentOfOneCore, 0.25);
    assert.throws(() => summarizeTray(first, last, 0), RangeError);
  });

  test('IDLEFORGE_BENCH_TRAY="warmup,window"', () => {
    assert.equal(trayBenchRequest(undefined), null);
    assert.deepEqual(trayBenchRequest('10,30'), { warmupS: 10, windowS: 30 });
    assert.throws(() => trayBenchRequest('10'), RangeError);
    assert.throws(() => trayBenchRequest('5,0'), RangeError);
  });

  test('the run: paused, the warm-up waited out, the window measured on the clock it is given', async () => {
    const reads = [[sample(1, 'Browser', 50_000, 2)], [sample(1, 'Browser', 50_000, 2.3)]];
    const slept: number[] = [];
    let clock = 0;
    let paused = false;
    const r = await runTrayBench({
      metrics: () => reads.shift()!,
      pause: async () => (paused = true),
      warmupS: 10,
      windowS: 30,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
      now: () => clock,
    });
    assert.equal(paused, true);
    assert.deepEqual(slept, [10_000, 30_000]);
    assert.equal(r.windowS, 30);
    assert.equal(r.cpuPercentOfOneCore, 1, '0.3 s of CPU in 30 s');
    assert.equal(r.memoryMB, 51.2, '50,000 KiB');
  });
});
