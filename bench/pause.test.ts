/** `idleforge bench pause`: what its figures mean on known stop times (nothing here is timed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stopFigures } from './pause.js';

describe('idleforge bench pause: figures', () => {
  it('known stop times give their median, 99th percentile (nearest rank) and worst, to 0.1 ms', () => {
    const times = Array.from({ length: 100 }, (_, i) => 100 - i); // 100, 99, …, 1 ms
    assert.deepEqual(stopFigures(times), { trials: 100, p50Ms: 50, p99Ms: 99, maxMs: 100 });
    assert.deepEqual(stopFigures([12.34, 3.21]), { trials: 2, p50Ms: 3.2, p99Ms: 12.3, maxMs: 12.3 });
  });
});
