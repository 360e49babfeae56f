import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runThroughput, throughputFigures } from './hub-child.js';

describe('idleforge bench hub: throughput', () => {
  it('measures cycles, latency and hub CPU with simulated workers (a short run)', async () => {
    const r = await runThroughput({ workers: 4, seconds: 0.3, warmupS: 0 });
    assert.ok(r.cycles > 0);
    assert.ok(r.cyclesPerSecond > 0);
    assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p99 >= r.latencyMs.p50);
    assert.ok(r.hubCpuMsPerCycle > 0);
  });

  it('figures: 500 cycles in 0.5 s are 1,000 cycles/s; the CPU per cycle is the CPU over the cycles', () => {
    const latenciesMs = Array.from({ length: 500 }, (_, i) => (i % 100) + 1); // 1 to 100 ms, five times each
    const r = throughputFigures({ workers: 64, latenciesMs, elapsedS: 0.5, hubCpuMs: 250, workersCpuMs: 100 });
    assert.equal(r.cycles, 500);
    assert.equal(r.cyclesPerSecond, 1000);
    assert.deepEqual(r.latencyMs, { p50: 51, p99: 100 });
    assert.equal(r.hubCpuMsPerCycle, 0.5);
    assert.equal(r.workersCpuMsPerCycle, 0.2);
  });
});
