/**
 * Issue 6 against a real anvil: a worker creates its wallet, earns on the devnet, gets paid, and
 * its token balance (read by `idleforge wallet balance`) rises by exactly what the hub paid it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CliEvent } from '../protocol/index.js';
import { HubClient } from '../worker/hub-client.js';
import { headlessVault } from '../worker/wallet/index.js';
import { runCli, startCli, tempDir } from './helpers.js';

describe('wallet and payouts on chain', () => {
  it('create, earn, get paid: the balance rises by exactly the payouts', { timeout: 240_000 }, async () => {
    const dir = tempDir('payout');
    const devnet = startCli(['devnet', '--json', '--data', join(dir.path, 'devnet')]);
    try {
      const ready = await devnet.waitFor((e): e is Extract<CliEvent, { event: 'ready' }> => e.event === 'ready', 120_000);
      assert.ok(ready.rpc && ready.token, 'the devnet runs a chain');
      const data = join(dir.path, 'worker');
      const created = await runCli(['wallet', 'create', '--data', data, '--json']);
      assert.equal(created.code, 0, created.stderr);
      const { address } = JSON.parse(created.stdout) as { address: string };
      const before = await runCli(['wallet', 'balance', '--data', data, '--rpc', ready.rpc, '--token', ready.token, '--json']);
      assert.equal(before.code, 0, before.stderr);
      assert.deepEqual(JSON.parse(before.stdout), { address, native: '0', token: '0', symbol: 'IDLE', decimals: 18 });

      const worker = await runCli(['worker', '--hub', ready.hub, '--rpc', ready.rpc, '--data', data, '--once', '12', '--json', '--idle-minutes', '0']);
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
          const after = await runCli(['wallet', 'balance', '--data', data, '--rpc', ready.rpc, '--token', ready.token, '--json']);
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
    } finally {
      devnet.child.kill('SIGINT');
      await devnet.exit;
      dir.remove();
    }
  });
});
