/**
 * Earnings checked against a real chain (anvil): the hub pays two rigs of one owner to one
 * payout address; `reconcileWithChain` (the engine API's reconcileEarnings and `idleforge
 * earnings reconcile`) reads the token's Transfer events to that address in bounded block ranges
 * and matches them by transaction hash against the hub's payouts. Equal after real payouts; a
 * transfer the treasury made outside the ledger, a payout whose transfer is not on chain, and a
 * transfer from another sender are each reported as such. Another owner's rig sees none of it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JsonRpcProvider, Wallet } from 'ethers';
import { f32ToBase64, LeaseResponseSchema, PayoutsResponseSchema, ReconciliationSchema, ResultResponseSchema, toF32 } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { ANVIL_KEYS } from '../hub/anvil.js';
import { transferToken } from '../hub/chain.js';
import { call, matmulJobBody, signIn, startTestChain, startTestHub, type TestChain, type TestHub } from '../hub/testkit.js';
import { reconcileWithChain } from '../worker/chain/reconcile.js';
import { HubClient } from '../worker/hub-client.js';
import { runCli, tempDir, until } from './helpers.js';

describe('earnings against the chain', () => {
  let chain: TestChain;
  let t: TestHub;
  let customerKey: string;
  const owner = Wallet.createRandom();
  const rigA = Wallet.createRandom();
  const rigB = Wallet.createRandom();
  const stranger = Wallet.createRandom();
  const clients: HubClient[] = [];
  const clientOf = (w: Wallet | ReturnType<typeof Wallet.createRandom>): HubClient => {
    const c = new HubClient({ hubUrl: t.hub.url, wallet: { address: w.address, signMessage: (m) => w.signMessage(m) } });
    clients.push(c);
    return c;
  };

  before(async () => {
    chain = await startTestChain();
    t = await startTestHub({ chain: { rpcUrl: chain.rpcUrl, token: chain.token, treasuryKey: chain.treasuryKey, payoutThreshold: 1n, pollMs: 200 } });
    customerKey = await t.hub.createCustomer('acme');
  });
  after(async () => {
    for (const c of clients) c.close();
    await t?.close();
    await chain?.stop();
  });

  /** One verified matmul task for `wallet`, then its payout confirmed on chain. */
  const earnAndGetPaid = async (wallet: { address: string; signMessage(m: string): Promise<string> }, seed: number): Promise<void> => {
    const token = await signIn(t.hub.url, wallet);
    assert.equal((await call(`${t.hub.url}/v1/jobs`, { token: customerKey, body: matmulJobBody(8, 8, 8, seed).body })).status, 201);
    const leased = LeaseResponseSchema.parse((await call(`${t.hub.url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } })).body).task;
    assert.ok(leased.kind === 'matmul');
    const c = matmul.matmulReference(leased.params, toF32(leased.inputs.a), toF32(leased.inputs.b));
    const r = await call(`${t.hub.url}/v1/tasks/${leased.id}/result`, { token, body: { output: { c: f32ToBase64(c) } } });
    assert.equal(ResultResponseSchema.parse(r.body).status, 'accepted');
    await until('the payout to be confirmed', async () => {
      const p = PayoutsResponseSchema.parse((await call(`${t.hub.url}/v1/payouts`, { token })).body).payouts;
      return p.length > 0 && p.every((x) => x.status === 'confirmed');
    });
  };

  it('equal after real payouts to two rigs of one owner, read in bounded block ranges', async () => {
    await clientOf(rigA).registerPayoutAddress(owner.address);
    await clientOf(rigB).registerPayoutAddress(owner.address);
    await earnAndGetPaid(rigA, 1);
    await earnAndGetPaid(rigB, 2);
    await earnAndGetPaid(stranger, 3);
    const onChain = await chain.transfersTo(owner.address);
    assert.equal(onChain.length, 2, 'two payouts reached the owner');
    const paid = onChain.reduce((s, x) => s + x.value, 0n);

    // Ranges of 2 blocks: the payouts lie several blocks apart, so more than one range is read.
    const r = ReconciliationSchema.parse(await reconcileWithChain({ hub: clientOf(rigA), rpc: chain.rpcUrl, blockRange: 2 }));
    assert.equal(r.address, owner.address);
    assert.equal(r.treasury, chain.treasury, 'the treasury the hub publishes');
    assert.ok(r.fromBlock !== null && r.toBlock !== null && r.toBlock - r.fromBlock >= 2, `blocks ${r.fromBlock}–${r.toBlock}`);
    assert.deepEqual(
      { ledger: r.ledgerTotal, chain: r.chainTotal, matched: r.matched, payouts: r.payouts, differences: r.differences, others: r.otherSenders, agrees: r.agrees },
      { ledger: paid.toString(), chain: paid.toString(), matched: 2, payouts: { mine: 1, others: 1 }, differences: [], others: [], agrees: true },
    );
    // Rig B sees the same books from its side.
    const fromB = await reconcileWithChain({ hub: clientOf(rigB), rpc: chain.rpcUrl });
    assert.deepEqual([fromB.ledgerTotal, fromB.payouts, fromB.agrees], [paid.toString(), { mine: 1, others: 1 }, true]);
  });

  it("shows a rig only the payouts to its own payout address: another owner's rig sees none of them", async () => {
    const received = await clientOf(stranger).receivedPayouts();
    assert.equal(received.address, stranger.address);
    assert.equal(received.payouts.length, 1);
    assert.ok(received.payouts.every((p) => p.mine));
  });

  it('reports a transfer the treasury made outside the ledger, and lists a transfer from another sender apart', async () => {
    await transferToken(chain.rpcUrl, chain.treasuryKey, chain.token, owner.address, 5n);
    await transferToken(chain.rpcUrl, ANVIL_KEYS[0], chain.token, owner.address, 7n);
    const r = await reconcileWithChain({ hub: clientOf(rigA), rpc: chain.rpcUrl, blockRange: 3 });
    assert.equal(r.agrees, false);
    assert.equal(BigInt(r.chainTotal) - BigInt(r.ledgerTotal), 5n, 'the chain holds 5 base units more than the ledger');
    assert.equal(r.differences.length, 1);
    const [d] = r.differences;
    assert.deepEqual([d!.kind, d!.ledgerAmount, d!.chainAmount], ['unknown-transfer', null, '5']);
    assert.match(d!.explanation, /none of the hub's payouts names/);
    // The transaction named is the treasury's own, on chain.
    const provider = new JsonRpcProvider(chain.rpcUrl, 31337, { staticNetwork: true });
    try {
      assert.equal((await provider.getTransaction(d!.txHash!))?.from, chain.treasury);
    } finally {
      provider.destroy();
    }
    assert.equal(r.matched, 2, 'the real payouts still match');
    assert.deepEqual(
      r.otherSenders.map((o) => [o.from, o.amount]),
      [[new Wallet(ANVIL_KEYS[0]).address, '7']],
    );
    assert.equal(r.otherTotal, '7');
  });

  it('reports a payout whose transaction is not on chain', async () => {
    // The hub's record of rig B's payout names a transaction that never moved tokens.
    const fake = `0x${'ab'.repeat(32)}`;
    const { rows } = await t.hub.db.query<{ tx_hash: string }>('SELECT tx_hash FROM payouts WHERE worker = ?', [rigB.address]);
    const real = rows[0]!.tx_hash;
    await t.hub.db.query('UPDATE payouts SET tx_hash = ? WHERE worker = ?', [fake, rigB.address]);
    const r = await reconcileWithChain({ hub: clientOf(rigA), rpc: chain.rpcUrl });
    const kinds = r.differences.map((d) => [d.kind, d.txHash]).sort();
    assert.deepEqual(kinds, [
      ['missing-transfer', fake],
      ['unknown-transfer', real.toLowerCase()],
      ['unknown-transfer', r.differences.find((d) => d.chainAmount === '5')!.txHash],
    ].sort());
    assert.match(r.differences.find((d) => d.kind === 'missing-transfer')!.explanation, /confirmed in block \d+, but no transfer/);
    await t.hub.db.query('UPDATE payouts SET tx_hash = ? WHERE worker = ?', [real, rigB.address]);
  });

  it('idleforge earnings reconcile --json prints the same check (exit code 1: they differ)', { timeout: 120_000 }, async () => {
    const dir = tempDir('reconcile');
    try {
      const data = join(dir.path, 'worker');
      const imported = await runCli(['wallet', 'import', '--data', data, '--json'], {}, rigA.privateKey);
      assert.equal(imported.code, 0, imported.stderr);
      const run = await runCli(['earnings', 'reconcile', '--hub', t.hub.url, '--rpc', chain.rpcUrl, '--data', data, '--json']);
      assert.equal(run.code, 1, run.stderr);
      const r = ReconciliationSchema.parse(JSON.parse(run.stdout));
      assert.deepEqual(
        [r.address, r.matched, r.differences.map((d) => [d.kind, d.chainAmount]), r.otherTotal],
        [owner.address, 2, [['unknown-transfer', '5']], '7'],
      );
    } finally {
      dir.remove();
    }
  });
});
