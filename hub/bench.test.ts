import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBench } from './bench.js';

describe('idleforge bench hub', () => {
  it('measures throughput and overhead with simulated workers (a short run)', async () => {
    const r = await runBench({ workers: 4, seconds: 0.3, warmupS: 0, gpuGflops: 0.25, feederTasks: 3 });
    assert.equal(r.bench, 'hub');
    assert.ok(r.throughput.cycles > 0);
    assert.ok(r.throughput.cyclesPerSecond > 0);
    assert.ok(r.throughput.latencyMs.p50 > 0 && r.throughput.latencyMs.p99 >= r.throughput.latencyMs.p50);
    assert.ok(r.throughput.hubCpuMsPerCycle > 0);
    for (const o of [r.feederSizes.mean, r.feederSizes.largest]) {
      assert.equal(o.tasks, 1, 'three tasks, two of them warm-up');
      assert.ok(o.hubCpuMsPerTask > 0 && o.computeMs.softwareGpu > 0);
    }
    assert.equal(r.feederSizes.largest.side, 160);
    assert.equal(typeof r.targets.met.throughput, 'boolean');
  });
});
