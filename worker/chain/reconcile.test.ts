/**
 * The comparison of the hub's payouts with the chain's transfers, on known inputs: what each
 * total counts and how each difference is named (the chain itself: test/earnings-reconcile.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChainTransfer, ReceivedPayout } from '../../protocol/index.js';
import { compare } from './reconcile.js';

const TREASURY = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const OTHER = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const hash = (n: number): string => `0x${n.toString(16).padStart(64, '0')}`;
const payout = (n: number, amount: bigint, p: Partial<ReceivedPayout> = {}): ReceivedPayout => ({
  txHash: hash(n),
  amount: amount.toString(),
  status: 'confirmed',
  blockNumber: 10 + n,
  createdAt: '2026-01-05T10:00:00.000Z',
  mine: true,
  ...p,
});
const transfer = (n: number, amount: bigint, from = TREASURY): ChainTransfer => ({ txHash: hash(n), logIndex: 0, blockNumber: 10 + n, from, amount: amount.toString() });
const run = (payouts: ReceivedPayout[], transfers: ChainTransfer[]) =>
  compare({ address: OTHER, treasury: TREASURY, token: OTHER, fromBlock: 11, toBlock: 40, payouts, transfers, checkedAt: '2026-01-05T12:00:00.000Z' });

describe('compare: the ledger against the chain', () => {
  it('agrees when every payout has its transfer, amounts exact past 2^53, hashes in any case', () => {
    const big = 2n ** 70n + 1n;
    const mixed = `0x${'AbCd'.repeat(16)}`;
    const r = run([payout(1, big), payout(2, 5n, { mine: false, txHash: mixed })], [transfer(1, big), { ...transfer(2, 5n), txHash: mixed.toLowerCase() }]);
    assert.deepEqual([r.ledgerTotal, r.chainTotal, r.matched, r.payouts, r.differences, r.agrees], [(big + 5n).toString(), (big + 5n).toString(), 2, { mine: 1, others: 1 }, [], true]);
  });

  it('names each difference: a payout without its transfer, a transfer no payout names, amounts that differ', () => {
    const r = run([payout(1, 100n), payout(2, 50n), payout(3, 7n, { status: 'sent', blockNumber: null })], [transfer(2, 49n), transfer(4, 9n)]);
    assert.equal(r.agrees, false);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.txHash, d.ledgerAmount, d.chainAmount]),
      [
        ['missing-transfer', hash(1), '100', null],
        ['amount-differs', hash(2), '50', '49'],
        ['missing-transfer', hash(3), '7', null],
        ['unknown-transfer', hash(4), null, '9'],
      ],
    );
    assert.match(r.differences[2]!.explanation, /not on chain yet/, 'a payout just sent may still be mined');
    assert.deepEqual([r.ledgerTotal, r.chainTotal, r.matched], ['157', '58', 0]);
  });

  it('counts neither a payout not sent yet nor a failed one, yet reports a failed payout found on chain; other senders apart', () => {
    const r = run(
      [payout(1, 10n), payout(2, 20n, { status: 'pending', txHash: null, blockNumber: null }), payout(3, 30n, { status: 'failed', blockNumber: null })],
      [transfer(1, 10n), transfer(3, 30n), transfer(5, 1000n, OTHER)],
    );
    assert.deepEqual([r.ledgerTotal, r.chainTotal, r.notSentYet, r.matched], ['10', '40', 1, 1]);
    assert.deepEqual(r.differences.map((d) => [d.kind, d.txHash]), [['unknown-transfer', hash(3)]]);
    assert.match(r.differences[0]!.explanation, /recorded this payout as failed/);
    assert.deepEqual([r.otherSenders.map((t) => t.amount), r.otherTotal], [['1000'], '1000']);
  });

  it("counts a payout from the hub's earlier treasury as the hub's, not another sender's", () => {
    const r = run([payout(1, 10n), payout(2, 20n, { from: OTHER })], [transfer(1, 10n), transfer(2, 20n, OTHER)]);
    assert.deepEqual([r.matched, r.chainTotal, r.otherSenders, r.agrees], [2, '30', [], true]);
  });
});
