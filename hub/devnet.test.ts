import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Wallet } from 'ethers';
import { EarningsResponseSchema, HealthSchema, LeaseResponseSchema, PayoutsResponseSchema, ResultResponseSchema, f32ToBase64, toF32 } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { DEVNET_INFO_FILE, DEVNET_PAYOUT_THRESHOLD, DEVNET_STATE_FILE, startDevnet } from './devnet.js';
import { FEEDER_MIN_SIDE } from '../jobs/matmul.js';
import { DEFAULT_REWARD_PER_GFLOP } from './jobs.js';
import { call, signIn, tempDir } from './testkit.js';

/** Leases a feeder task (waiting for the feeder if need be) and answers it correctly. */
async function doFeederTask(hubUrl: string, token: string): Promise<void> {
  const end = Date.now() + 20_000;
  for (;;) {
    const r = await call(`${hubUrl}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } });
    if (r.status === 204) {
      if (Date.now() > end) throw new Error('the feeder gave no work in 20 s');
      await sleep(25);
      continue;
    }
    const task = LeaseResponseSchema.parse(r.body).task;
    if (task.kind !== 'matmul') throw new Error('expected matmul');
    const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
    assert.equal(ResultResponseSchema.parse((await call(`${hubUrl}/v1/tasks/${task.id}/result`, { token, body: { output: { c: f32ToBase64(c) } } })).body).status, 'accepted');
    return;
  }
}

describe('devnet with a chain', () => {
  it('pays within the first dozen tasks by default', () => {
    const smallest = (2n * BigInt(FEEDER_MIN_SIDE) ** 3n * DEFAULT_REWARD_PER_GFLOP) / 1_000_000_000n;
    assert.ok(11n * smallest >= DEVNET_PAYOUT_THRESHOLD, 'any 11 feeder tasks reach the threshold');
  });

  it('deploys the token, pays a worker on chain, and keeps chain and ledger together across a restart', async () => {
    const dir = await tempDir();
    const dataDir = join(dir.path, 'devnet');
    const wallet = Wallet.createRandom();
    try {
      const first = await startDevnet({ dataDir, feeder: { backlogs: { matmul: 1, hashsearch: 0 }, intervalMs: 20 } });
      let token: string;
      let paid: string;
      try {
        assert.match(first.rpc ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.ok(first.token);
        token = first.token;
        const health = HealthSchema.parse((await call(`${first.hubUrl}/v1/health`)).body);
        assert.deepEqual(health.token, { address: token, symbol: 'IDLE', decimals: 18 });
        const session = await signIn(first.hubUrl, wallet);
        let tasks = 0;
        for (; tasks < 12; tasks++) {
          await doFeederTask(first.hubUrl, session);
          await first.hub.payNow();
          const p = PayoutsResponseSchema.parse((await call(`${first.hubUrl}/v1/payouts`, { token: session })).body).payouts;
          if (p.some((x) => x.status === 'confirmed')) break;
        }
        assert.ok(tasks < 12, 'a payout within the first dozen tasks');
        const ledger = EarningsResponseSchema.parse((await call(`${first.hubUrl}/v1/earnings`, { token: session })).body);
        paid = ledger.balance.paid;
        assert.ok(BigInt(paid) > 0n);
        assert.equal(await first.hub.chain!.tokenBalance(wallet.address), BigInt(paid));
      } finally {
        await first.close();
      }
      assert.ok(existsSync(join(dataDir, DEVNET_STATE_FILE)), 'anvil wrote its state on the way out');
      assert.ok(existsSync(join(dataDir, DEVNET_INFO_FILE)));

      const second = await startDevnet({ dataDir, feeder: false });
      try {
        assert.equal(second.token, token, 'the same token, found again on the restored chain');
        assert.equal(await second.hub.chain!.tokenBalance(wallet.address), BigInt(paid), 'the chain kept the payout');
        const session = await signIn(second.hubUrl, wallet);
        const ledger = EarningsResponseSchema.parse((await call(`${second.hubUrl}/v1/earnings`, { token: session })).body);
        assert.equal(ledger.balance.paid, paid, 'the hub kept its ledger');
        await second.hub.payNow();
        assert.equal((await second.hub.chain!.transfers(null, wallet.address)).reduce((s, t) => s + t.value, 0n), BigInt(paid), 'nothing paid twice');
      } finally {
        await second.close();
      }
    } finally {
      await dir.remove();
    }
  });
});
