/** `idleforge bench handoff`: what its figures mean on known trials and CPU times (nothing here is timed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handoffFigures, shareOfCore } from './handoff.js';

describe('idleforge bench handoff: figures', () => {
  it('known trials give the median and the worst of noticed and freed; the driver’s figure only where it was read', () => {
    const trials = [
      { noticedMs: 300.04, freedMs: 2 },
      { noticedMs: 100, freedMs: 250.5 },
      { noticedMs: 200, freedMs: 3 },
    ];
    assert.deepEqual(handoffFigures(trials), { trials: 3, noticedMs: { p50: 200, max: 300.04 }, freedMs: { p50: 3, max: 250.5 } });
    const real = handoffFigures([{ noticedMs: 400, freedMs: 1, driverFreedMs: 40 }, { noticedMs: 500, freedMs: 1 }]);
    assert.deepEqual(real.driverFreedMs, { p50: 40, max: 40 });
  });

  it('the sources’ cost is their CPU time over the wall time, as a share of one core', () => {
    assert.equal(shareOfCore(7.5, 10_000), 0.075); // 7.5 ms of CPU in 10 s
    assert.equal(shareOfCore(50, 10_000), 0.5); // the target's edge
    assert.equal(shareOfCore(0, 10_000), 0);
  });
});
