import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JsonRpcProvider, Wallet } from 'ethers';
import { CustomerAddressChallengeResponseSchema, CustomerBalanceSchema, type CustomerBalance } from '../protocol/index.js';
import { ANVIL_KEYS } from './anvil.js';
import { transferToken } from './chain.js';
import { billingStore } from './store/index.js';
import { call, matmulJobBody, startTestChain, startTestHub, type TestChain, type TestHub } from './testkit.js';

const TOKEN = 10n ** 18n;

/** A fresh account holding ETH for gas and `tokens` of the test token. */
async function fundedWallet(chain: TestChain, tokens: bigint): Promise<Wallet> {
  const w = Wallet.createRandom();
  const provider = new JsonRpcProvider(chain.rpcUrl, 31337, { staticNetwork: true });
  try {
    await (await new Wallet(ANVIL_KEYS[0], provider).sendTransaction({ to: w.address, value: 10n ** 18n })).wait();
  } finally {
    provider.destroy();
  }
  await transferToken(chain.rpcUrl, ANVIL_KEYS[0], chain.token, w.address, tokens);
  return new Wallet(w.privateKey);
}

async function mine(chain: TestChain, blocks: number): Promise<void> {
  const provider = new JsonRpcProvider(chain.rpcUrl, 31337, { staticNetwork: true });
  try {
    for (let i = 0; i < blocks; i++) await provider.send('evm_mine', []);
  } finally {
    provider.destroy();
  }
}

describe('deposits from registered addresses (anvil)', () => {
  let chain: TestChain;
  let t: TestHub;
  let treasury: { key: string; address: string };
  before(async () => {
    chain = await startTestChain();
    treasury = await chain.newTreasury();
    t = await startTestHub({
      customerStartingBalance: 0n,
      // Two confirmations; blocks read 3 at a time, so that the scan takes several ranges.
      chain: { rpcUrl: chain.rpcUrl, token: chain.token, treasuryKey: treasury.key, confirmations: 2, pollMs: 60_000, deposits: { pollMs: 60_000, blockRange: 3 } },
    });
  });
  after(async () => {
    await t?.close();
    await chain?.stop();
  });

  const balance = async (key: string): Promise<CustomerBalance> => CustomerBalanceSchema.parse((await call(`${t.hub.url}/v1/customers/balance`, { token: key })).body);

  it('credits a real ERC-20 transfer from the registered address once, even when the blocks are read again; other senders are kept aside', async () => {
    await t.hub.scanDeposits(); // the cursor starts after the newest block
    const first = (await t.hub.db.query<{ n: number }>('SELECT next_block AS n FROM deposit_cursors')).rows[0]!;
    const { id, apiKey } = await t.hub.createCustomerAccount('payer');
    const payer = await fundedWallet(chain, 100n * TOKEN);
    const stranger = await fundedWallet(chain, 100n * TOKEN);

    // Nothing to spend yet.
    assert.equal((await call(`${t.hub.url}/v1/jobs`, { token: apiKey, body: matmulJobBody(64, 64, 64).body })).status, 402);

    const challenge = await call(`${t.hub.url}/v1/customers/address/challenge`, { token: apiKey, body: { address: payer.address } });
    const message = CustomerAddressChallengeResponseSchema.parse(challenge.body).message;
    const reg = await call(`${t.hub.url}/v1/customers/address`, { token: apiKey, body: { message, signature: await payer.signMessage(message) } });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));

    await transferToken(chain.rpcUrl, stranger.privateKey, chain.token, treasury.address, 5n * TOKEN);
    // A transfer elsewhere is no deposit.
    await transferToken(chain.rpcUrl, payer.privateKey, chain.token, stranger.address, 1n * TOKEN);
    await transferToken(chain.rpcUrl, payer.privateKey, chain.token, treasury.address, 7n * TOKEN);

    // The payer's transfer, in the newest block, has 1 confirmation of the 2 needed: not read yet.
    await t.hub.scanDeposits();
    let b = await balance(apiKey);
    assert.deepEqual([b.available, b.deposits], ['0', []]);
    const aside = await billingStore.unmatchedDeposits(t.hub.db, 10);
    assert.deepEqual(
      aside.map((d) => [d.from_address, d.amount, d.customer_id]),
      [[stranger.address, (5n * TOKEN).toString(), null]],
    );

    await mine(chain, 1);
    await t.hub.scanDeposits();
    const transfers = (await chain.transfersTo(treasury.address)).filter((x) => x.from === payer.address);
    assert.equal(transfers.length, 1);
    b = await balance(apiKey);
    assert.equal(b.available, (7n * TOKEN).toString());
    assert.deepEqual(
      b.deposits.map((d) => [d.txHash, d.from, d.amount]),
      [[transfers[0]!.txHash, payer.address, (7n * TOKEN).toString()]],
    );
    assert.equal((await billingStore.unmatchedDeposits(t.hub.db, 10)).length, 1, 'kept aside, not credited to anyone');

    // Read every block again: nothing is credited twice.
    await t.hub.db.query('UPDATE deposit_cursors SET next_block = ?', [first.n]);
    await t.hub.scanDeposits();
    await t.hub.scanDeposits();
    b = await balance(apiKey);
    assert.equal(b.available, (7n * TOKEN).toString());
    assert.equal(b.deposits.length, 1);
    assert.deepEqual((await t.hub.db.query('SELECT count(*) AS n FROM deposits')).rows[0], { n: 2 });
    assert.deepEqual(
      (await billingStore.ledgerOf(t.hub.db, id, 10)).map((e) => [e.type, e.amount]),
      [['deposit', (7n * TOKEN).toString()]],
    );

    // The deposit pays for jobs.
    const job = await call(`${t.hub.url}/v1/jobs`, { token: apiKey, body: matmulJobBody(64, 64, 64).body });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    b = await balance(apiKey);
    assert.equal(BigInt(b.available) + BigInt(b.reserved), 7n * TOKEN);
    assert.ok(BigInt(b.reserved) > 0n);
  });
});
