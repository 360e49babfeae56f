/**
 * A payout whose receipt cannot be found, on a real chain (anvil, mining only when told): the hub
 * asks for its transaction by hash before it fails it or sends it again.
 * - mined, but the hub's RPC endpoint does not show it yet (a node behind a load balancer, whose
 *   neighbour already counts the treasury nonce as used): the payout waits, and is confirmed once
 *   the node catches up, with exactly one transfer. Failing it would have freed its entries for a
 *   second payout: the worker paid twice.
 * - dropped from the mempool and its nonce taken by another transaction: failed, but only once
 *   it has stayed unknown for ORPHAN_GRACE_MS, asked about again on every round.
 * The hub reaches anvil through a small JSON-RPC proxy that can play the lagging node: for the
 * hashes it is told, it answers eth_getTransactionByHash and eth_getTransactionReceipt with null.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { JsonRpcProvider, Wallet } from 'ethers';
import { LeaseResponseSchema, ResultResponseSchema, f32ToBase64, toF32 } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { ORPHAN_GRACE_MS } from '../hub/payouts.js';
import { payoutsStore } from '../hub/store/index.js';
import type { PayoutRow } from '../hub/store/payouts.js';
import { call, matmulJobBody, signIn, startTestChain, startTestHub, type TestChain, type TestHub } from '../hub/testkit.js';

interface LaggingRpc {
  url: string;
  /** Hashes the "node" has not seen yet. */
  hidden: Set<string>;
  close(): Promise<void>;
}

const HIDDEN_METHODS = new Set(['eth_getTransactionByHash', 'eth_getTransactionReceipt']);

/** A JSON-RPC proxy to `target` that knows nothing of the hashes in `hidden`. */
async function laggingRpc(target: string): Promise<LaggingRpc> {
  const hidden = new Set<string>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      void (async () => {
        const msg = JSON.parse(body) as { id: unknown; method: string; params: unknown[] };
        const hash = typeof msg.params?.[0] === 'string' ? msg.params[0].toLowerCase() : '';
        const reply = HIDDEN_METHODS.has(msg.method) && hidden.has(hash)
          ? JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: null })
          : await (await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).text();
        res.writeHead(200, { 'content-type': 'application/json' }).end(reply);
      })().catch((err: unknown) => res.writeHead(502).end(String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}`, hidden, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('a payout without a receipt is looked up by its hash', () => {
  let chain: TestChain;
  let rpc: LaggingRpc;
  let t: TestHub;
  let anvil: JsonRpcProvider;
  let customerKey: string;
  const rpcCall = (method: string, params: unknown[] = []): Promise<unknown> => anvil.send(method, params);

  before(async () => {
    chain = await startTestChain();
    rpc = await laggingRpc(chain.rpcUrl);
    anvil = new JsonRpcProvider(chain.rpcUrl, 31337, { staticNetwork: true });
    // Payout rounds only when the test asks (and on credit): a long poll.
    t = await startTestHub({ chain: { rpcUrl: rpc.url, token: chain.token, treasuryKey: chain.treasuryKey, payoutThreshold: 1n, pollMs: 3_600_000 } });
    customerKey = await t.hub.createCustomer('acme');
    // Transactions wait in the mempool until the test mines a block.
    await rpcCall('evm_setAutomine', [false]);
  });
  after(async () => {
    await t?.close();
    anvil?.destroy();
    await rpc?.close();
    await chain?.stop();
  });

  /** One verified matmul task for `wallet`: credit over the threshold, so a payout is made and sent. */
  const earnOnce = async (wallet: Wallet, seed: number): Promise<PayoutRow> => {
    const token = await signIn(t.hub.url, wallet);
    assert.equal((await call(`${t.hub.url}/v1/jobs`, { token: customerKey, body: matmulJobBody(8, 8, 8, seed).body })).status, 201);
    const leased = LeaseResponseSchema.parse((await call(`${t.hub.url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } })).body).task;
    assert.ok(leased.kind === 'matmul');
    const c = matmul.matmulReference(leased.params, toF32(leased.inputs.a), toF32(leased.inputs.b));
    const r = await call(`${t.hub.url}/v1/tasks/${leased.id}/result`, { token, body: { output: { c: f32ToBase64(c) } } });
    assert.equal(ResultResponseSchema.parse(r.body).status, 'accepted');
    await t.hub.payNow();
    const [payout, ...more] = await payoutsStore.listPayouts(t.hub.db, wallet.address);
    assert.equal(more.length, 0);
    assert.equal(payout?.status, 'sent', 'broadcast, waiting in the mempool');
    return payout!;
  };
  const statusOf = async (p: PayoutRow): Promise<string> => (await payoutsStore.getPayout(t.hub.db, p.id))!.status;
  /** A payout round, past the 250 ms for which ethers answers a question it was just asked from its cache. */
  const round = async (): Promise<void> => {
    await sleep(300);
    await t.hub.payNow();
  };

  it('waits for a mined transaction the node does not show yet, and pays once', async () => {
    const wallet = Wallet.createRandom() as unknown as Wallet;
    const payout = await earnOnce(wallet, 1);
    // Still in the mempool, no receipt: known by its hash, so neither failed nor sent again.
    await round();
    assert.equal(await statusOf(payout), 'sent');

    // Mined, and the nonce counted as used, but the hub's node has not seen the block yet.
    rpc.hidden.add(payout.tx_hash!.toLowerCase());
    await rpcCall('evm_mine');
    await round();
    await round();
    assert.equal(await statusOf(payout), 'sent', 'not failed while the node may just be behind');

    rpc.hidden.clear();
    await round();
    assert.equal(await statusOf(payout), 'confirmed');
    await round();
    await rpcCall('evm_mine');
    const transfers = await chain.transfersTo(wallet.address);
    assert.deepEqual(transfers.map((x) => [x.txHash, x.value]), [[payout.tx_hash, BigInt(payout.amount)]], 'exactly one transfer');
    assert.equal((await payoutsStore.listPayouts(t.hub.db, wallet.address)).length, 1, 'no second payout');
  });

  it('fails a dropped transaction whose nonce another took, once it stayed unknown past the grace', async () => {
    const wallet = Wallet.createRandom() as unknown as Wallet;
    const payout = await earnOnce(wallet, 2);
    await rpcCall('anvil_dropTransaction', [payout.tx_hash]);
    // Another transaction of the treasury takes the payout's nonce.
    const treasury = new Wallet(chain.treasuryKey, anvil);
    await treasury.sendTransaction({ to: treasury.address, value: 0n, nonce: payout.tx_nonce });
    await rpcCall('evm_mine');
    assert.equal(await anvil.getTransactionCount(chain.treasury, 'latest'), payout.tx_nonce + 1);

    await round();
    assert.equal(await statusOf(payout), 'sent', 'asked again on later rounds before it is given up');
    t.clock.advance(ORPHAN_GRACE_MS - 1000);
    await round();
    assert.equal(await statusOf(payout), 'sent');
    t.clock.advance(2000);
    await round();
    const failed = (await payoutsStore.getPayout(t.hub.db, payout.id))!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /nonce \d+ was used by another transaction/);
    assert.deepEqual(await chain.transfersTo(wallet.address), [], 'nothing was paid');
    // Its entries are free for a later payout.
    const unpaid = (await t.hub.db.query<{ n: number }>("SELECT count(*) AS n FROM earnings WHERE worker = ? AND status = 'verified' AND payout_id IS NULL", [wallet.address])).rows[0]!;
    assert.equal(unpaid.n, 1);
  });
});
