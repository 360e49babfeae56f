import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FEEDER_MAX_SIDE, FEEDER_MIN_SIDE } from '../jobs/matmul.js';
import { runHubBench } from './hub.js';

describe('idleforge bench hub', () => {
  it('runs feeder-size jobs through a real worker engine and compares with the same tasks run locally (a short run)', async () => {
    const r = await runHubBench({ workers: 4, seconds: 0.3, warmupS: 0, tasks: 4, warm: 1, processes: [1] });
    assert.equal(r.throughput.length, 1);
    assert.ok(r.machine.loopMs.before > 0 && r.machine.loopMs.after > 0, 'the machine\'s speed, before and after');
    assert.ok(r.throughput[0]!.cycles > 0);
    const f = r.feederSizes;
    assert.equal(f.tasks, 3, 'four tasks, one of them warm-up');
    assert.equal(f.jobs.length, 4);
    for (const j of f.jobs) for (const side of [j.m, j.n, j.k]) assert.ok(side >= FEEDER_MIN_SIDE && side <= FEEDER_MAX_SIDE);
    assert.ok(f.localMs > 0 && f.networkMs > 0 && f.computeMs.total > 0);
    assert.ok(f.gapMs.p50 >= 0 && f.gapMs.p99 >= f.gapMs.p50);
    assert.ok(Number.isFinite(f.gpuIdlePct) && Number.isFinite(f.slowdownPct));
    assert.ok(f.roundTripMs.lease > 0 && f.roundTripMs.submit > 0);
    assert.equal(r.targets.met.overhead, f.gpuIdlePct < 2);
    assert.ok(Number.isFinite(f.workerCpuMsPerTask) && f.workerCpuMsPerTask >= 0);
    // The protocol alone: three more tasks (one warm-up) through an instant compute host, credited.
    assert.equal(f.protocolCpu.tasks, 3);
    assert.ok(f.protocolCpu.cpuMsPerTask > 0 && f.protocolCpu.systemMsPerTask >= 0);
    assert.ok(f.protocolCpu.pctOfCompute > 0);
  });
});
