/**
 * Paid on a real anvil: a worker creates its wallet, earns on the devnet, gets paid, and
 * its token balance (read by `idleforge wallet balance`) rises by exactly what the hub paid it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import type { CliEvent } from '../protocol/index.js';
import { HubClient } from '../worker/hub-client.js';
import { headlessVault } from '../worker/wallet/index.js';
import { runCli, startCli, tempDir } from './helpers.js';

describe('wallet and payouts on chain', () => {
  const dir = tempDir('payout');
  let devnet: ReturnType<typeof startCli>;
  let ready: Extract<CliEvent, { event: 'ready' }>;
  before(async () => {
    devnet = startCli(['devnet', '--json', '--data', join(dir.path, 'devnet')]);
    ready = await devnet.waitFor((e): e is Extract<CliEvent, { event: 'ready' }> => e.event === 'ready', 120_000);
    assert.ok(ready.rpc && ready.token, 'the devnet runs a chain');
  });
  after(async () => {
    devnet.child.kill('SIGINT');
    await devnet.exit;
    dir.remove();
  });

  it('create, earn, get paid: the balance rises by exactly the payouts', { timeout: 240_000 }, async () => {
    {
      const data = join(dir.path, 'worker');
      const created = await runCli(['wallet', 'create', '--data', data, '--json']);
      assert.equal(created.code, 0, created.stderr);
      const { address } = JSON.parse(created.stdout) as { address: string };
      const start = await runCli(['wallet', 'balance', '--data', data, '--rpc', ready.rpc!, '--token', ready.token!, '--json']);
      assert.equal(start.code, 0, start.stderr);
      assert.deepEqual(JSON.parse(start.stdout), { address, native: '0', token: '0', symbol: 'IDLE', decimals: 18 });

      const worker = await runCli(['worker', '--hub', ready.hub, '--rpc', ready.rpc!, '--data', data, '--once', '12', '--json', '--idle-minutes', '0']);
      assert.equal(worker.code, 0, worker.stderr);

      // Payouts confirm on chain shortly after the threshold is crossed (and a lone worker's
      // hashsearch results may be credited after it stops): compare once the payouts hold still
      // across a balance reading.
      const client = new HubClient({ hubUrl: ready.hub, wallet: await headlessVault(data).unlock() });
      const settled = async (): Promise<string | null> => {
        const { payouts } = await client.payouts();
        if (payouts.length === 0 || payouts.some((p) => p.status === 'pending' || p.status === 'sent')) return null;
        return JSON.stringify(payouts);
      };
      let checked = false;
      for (let i = 0; i < 90 && !checked; i++) {
        const first = await settled();
        if (first) {
          const after = await runCli(['wallet', 'balance', '--data', data, '--rpc', ready.rpc!, '--token', ready.token!, '--json']);
          if (first === (await settled())) {
            const paid = (JSON.parse(first) as Array<{ status: string; amount: string }>)
              .filter((p) => p.status === 'confirmed')
              .reduce((sum, p) => sum + BigInt(p.amount), 0n);
            assert.ok(paid > 0n, 'the worker was paid within its first dozen tasks');
            assert.equal(BigInt((JSON.parse(after.stdout) as { token: string }).token), paid, 'the token balance equals the confirmed payouts');
            checked = true;
          }
        }
        if (!checked) await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(checked, 'the payouts settled');
    }
  });

  it('a watch-only payout address: the machine signs in with its own key, the payouts go to the address', { timeout: 240_000 }, async () => {
    const data = join(dir.path, 'watcher');
    const cold = Wallet.createRandom().address;
    const watch = await runCli(['wallet', 'watch', cold, '--data', data, '--json']);
    assert.equal(watch.code, 0, watch.stderr);
    const { address, payoutAddress } = JSON.parse(watch.stdout) as { address: string; payoutAddress: string };
    assert.equal(payoutAddress, cold);
    assert.notEqual(address, cold);
    const worker = await runCli(['worker', '--hub', ready.hub, '--rpc', ready.rpc!, '--data', data, '--once', '12', '--json', '--idle-minutes', '0']);
    assert.equal(worker.code, 0, worker.stderr);
    assert.match(worker.stdout, new RegExp(`"signed-in","address":"${address}"`));
    let balance = 0n;
    for (let i = 0; i < 60 && balance === 0n; i++) {
      const b = await runCli(['wallet', 'balance', '--data', data, '--rpc', ready.rpc!, '--token', ready.token!, '--json']);
      const parsed = JSON.parse(b.stdout) as { address: string; token: string };
      assert.equal(parsed.address, cold, 'the balance shown is the payout address’s');
      balance = BigInt(parsed.token);
      if (balance === 0n) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(balance > 0n, 'the watch-only address was paid');
  });
});
