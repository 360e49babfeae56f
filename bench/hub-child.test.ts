import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runThroughput } from './hub-child.js';

describe('idleforge bench hub: throughput', () => {
  it('measures cycles, latency and hub CPU with simulated workers (a short run)', async () => {
    const r = await runThroughput({ workers: 4, seconds: 0.3, warmupS: 0 });
    assert.ok(r.cycles > 0);
    assert.ok(r.cyclesPerSecond > 0);
    assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p99 >= r.latencyMs.p50);
    assert.ok(r.hubCpuMsPerCycle > 0);
  });
});
