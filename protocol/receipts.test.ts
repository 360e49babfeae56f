/** The receipts' wire additions: optional, older answers still parse, a check of an unknown method is dropped, not an error; and their words. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWords, EarningEntrySchema, HealthSchema, ResultResponseSchema, workWords } from './index.js';

describe('receipts on the wire', () => {
  it('parse answers without them (hubs before receipts), and keep a known check', () => {
    assert.deepEqual(ResultResponseSchema.parse({ status: 'accepted', credited: '1' }), { status: 'accepted', credited: '1' });
    assert.deepEqual(ResultResponseSchema.parse({ status: 'rejected', credited: '0', reason: 'wrong', check: { method: 'freivalds', rounds: 2 } }).check, { method: 'freivalds', rounds: 2 });
    assert.ok(HealthSchema.safeParse({ ok: true, version: 'v1', chainId: 1, token: { address: null, symbol: 'IDLE', decimals: 18 } }).success, 'no treasury: an older hub');
    assert.ok(!HealthSchema.safeParse({ ok: true, version: 'v1', chainId: 1, token: { address: null, symbol: 'IDLE', decimals: 18 }, treasury: '0x12' }).success);
  });

  it('drop a check of a method this version does not know rather than refuse the whole answer', () => {
    assert.equal(ResultResponseSchema.parse({ status: 'accepted', credited: '1', check: { method: 'zk-proof' } }).check, undefined);
    const entry = EarningEntrySchema.parse({ id: '1', taskId: 't', kind: 'matmul', amount: '1', status: 'paid', createdAt: '2026-01-01T00:00:00.000Z', check: { method: 'freivalds', rounds: 0 } });
    assert.equal(entry.check, undefined, 'zero rounds is no check');
  });

  it('say each check and size in plain words', () => {
    assert.match(checkWords({ method: 'freivalds', rounds: 2 }, 'verified'), /^Freivalds' check: .*2 secret random vectors/);
    assert.match(checkWords({ method: 'replica' }, 'pending'), /^Waiting for another worker/);
    assert.match(checkWords({ method: 'replica' }, 'verified'), /^Another worker, picked by the hub, answered the same task/);
    assert.match(checkWords({ method: 'spot-check', nonces: 16384 }, 'verified'), /searched 16,384 nonces of the range itself/);
    assert.match(checkWords(null, 'lapsed'), /the hub has no result of it/);
    assert.match(checkWords(undefined, 'paid'), /did not say how it checked/);
    assert.equal(workWords({ units: '268435456', unit: 'FLOP' }), '268.43 MFLOP');
    assert.equal(workWords({ units: String(2n * 1024n ** 3n), unit: 'FLOP' }), '2.14 GFLOP');
    assert.equal(workWords({ units: '1024', unit: 'FLOP' }), '1,024 FLOP');
    assert.equal(workWords({ units: '1048576', unit: 'hashes' }), '1,048,576 hashes');
    assert.equal(workWords(null), null);
  });
});
