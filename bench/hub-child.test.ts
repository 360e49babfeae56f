import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runThroughput } from './hub-child.js';

describe('idleforge bench hub: throughput', () => {
  it('measures cycles, latency, hub CPU and where the time goes, with 1 and 2 hub processes on one PostgreSQL (a short run)', async () => {
    const runs = await runThroughput({ workers: 4, seconds: 0.3, warmupS: 0, processes: [1, 2], loadProcesses: 1 });
    assert.deepEqual(
      runs.map((r) => r.processes),
      [1, 2],
    );
    for (const r of runs) {
      assert.ok(r.cycles > 0);
      assert.ok(r.cyclesPerSecond > 0);
      assert.ok(r.latencyMs.p50 > 0 && r.latencyMs.p99 >= r.latencyMs.p50);
      assert.ok(r.hubCpuMsPerCycle > 0);
      // A cycle is a lease and a submit: a statement each at least (the lease is one, hub_lease), waits on PostgreSQL, JSON and a Freivalds check.
      assert.ok(r.perCycle.statements >= 2, `statements per cycle: ${r.perCycle.statements}`);
      assert.ok(r.perCycle.dbWaitMs > 0 && r.perCycle.jsonMs > 0 && r.perCycle.verifyMs > 0, JSON.stringify(r.perCycle));
    }
  });
});
