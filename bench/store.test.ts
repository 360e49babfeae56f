/** `idleforge bench store`: what its figures mean on known counts and times (nothing here is timed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rate } from './store.js';

describe('idleforge bench store: figures', () => {
  it('a known count in a known time gives its rate, and each transaction’s mean time counts the connections at work', () => {
    assert.deepEqual(rate(500, 1000), { perSecond: 500, meanMs: 2 });
    // Four connections leasing at once for a second, 1,000 leases in all: each took 4 ms.
    assert.deepEqual(rate(1000, 1000, 4), { perSecond: 1000, meanMs: 4 });
    assert.deepEqual(rate(0, 5000), { perSecond: 0, meanMs: 0 });
  });
});
