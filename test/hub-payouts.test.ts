/**
 * Payouts on a real chain (anvil) survive crashes without paying twice: two hub processes share
 * one PostgreSQL database; the first leads the network (it pays) and SIGKILLs itself at a chosen
 * point of a payout (IDLEFORGE_HUB_CRASH_AT): after recording the payout, between recording and
 * sending it, or between sending it and recording its hash. The second takes the lead, reconciles
 * with the chain and pays what is owed: exactly one Transfer each time.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Wallet } from 'ethers';
import { EarningsResponseSchema, LeaseResponseSchema, PayoutsResponseSchema, ResultResponseSchema, f32ToBase64, toF32 } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { call, matmulJobBody, signIn, startTestChain, tempDir, type TestChain } from '../hub/testkit.js';
import { ROOT, until } from './helpers.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';

interface HubProcess {
  child: ChildProcess;
  url: string;
  customerKey: string | null;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: string[];
  stdout: string[];
}

function startHubProcess(db: string, chain: TestChain, treasuryKey: string, crashAt?: string, customer = true): Promise<HubProcess> {
  const args = ['--import', 'tsx', join(ROOT, 'hub/cli.ts'), 'hub', '--rpc', chain.rpcUrl, '--token', chain.token, '--payout-threshold', '1'];
  if (customer) args.push('--customer', 'acme', '--customer-credit', (10n ** 30n).toString());
  // The database's URL (its password) from the environment, as deploy/ passes it.
  const env: NodeJS.ProcessEnv = { ...process.env, IDLEFORGE_HUB_TREASURY_KEY: treasuryKey, IDLEFORGE_HUB_DB: db };
  if (crashAt) env.IDLEFORGE_HUB_CRASH_AT = crashAt;
  else delete env.IDLEFORGE_HUB_CRASH_AT;
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stderr: string[] = [];
  const stdout: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  return new Promise((resolve, reject) => {
    let url: string | null = null;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      stdout.push(line);
      url ??= /listening at (\S+)/.exec(line)?.[1] ?? null;
      const key = /^customer key for acme: (\S+)$/.exec(line)?.[1];
      if (url && key) resolve({ child, url, customerKey: key, exit, stderr, stdout });
      else if (url && !customer) resolve({ child, url, customerKey: null, exit, stderr, stdout });
    });
    void exit.then(({ code, signal }) => reject(new Error(`the hub exited (${code ?? signal}) before it was ready:\n${stderr.join('\n')}`)));
  });
}

/** One verified task for `wallet` on a fresh hub: credit that reaches the threshold at once. */
async function earnOnce(hub: HubProcess, wallet: Wallet): Promise<void> {
  const token = await signIn(hub.url, wallet);
  const job = await call(`${hub.url}/v1/jobs`, { token: hub.customerKey!, body: matmulJobBody(8, 8, 8, 5).body });
  assert.equal(job.status, 201);
  const leased = LeaseResponseSchema.parse((await call(`${hub.url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } })).body).task;
  assert.equal(leased.kind, 'matmul');
  if (leased.kind !== 'matmul') return;
  const c = matmul.matmulReference(leased.params, toF32(leased.inputs.a), toF32(leased.inputs.b));
  // The hub may kill itself right after crediting; the reply may or may not get out first.
  const r = await call(`${hub.url}/v1/tasks/${leased.id}/result`, { token, body: { output: { c: f32ToBase64(c) } } }).catch(() => null);
  if (r) assert.equal(ResultResponseSchema.parse(r.body).status, 'accepted');
}

const CRASH_POINTS = ['after-record', 'before-send', 'after-send'] as const;

// The three crashes run side by side, each hub with its own treasury (a treasury key belongs to one hub).
describe('payouts on chain, across crashes', { concurrency: true }, () => {
  let chain: TestChain;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const treasuries = new Map<string, { key: string; address: string }>();
  before(async () => {
    chain = await startTestChain();
    dir = await tempDir();
    for (const point of CRASH_POINTS) treasuries.set(point, await chain.newTreasury());
  });
  after(async () => {
    await chain?.stop();
    await dir?.remove();
  });

  for (const crashAt of CRASH_POINTS) {
    it(`crash ${crashAt}: the other hub process takes the lead and pays exactly once`, async () => {
      const db = await testDatabaseUrl();
      const wallet = Wallet.createRandom() as unknown as Wallet;
      const treasury = treasuries.get(crashAt)!;
      const doomed = await startHubProcess(db, chain, treasury.key, crashAt);
      let hub: HubProcess | null = null;
      try {
        // The first process leads once its loops have run; the second starts as a standby.
        await sleep(500);
        hub = await startHubProcess(db, chain, treasury.key, undefined, false);
        await earnOnce(doomed, wallet);
        const died = await doomed.exit;
        assert.equal(died.signal, 'SIGKILL', `the hub should have killed itself ${crashAt}: ${doomed.stderr.join('\n')}`);
        const sentBeforeCrash = (await chain.transfersTo(wallet.address)).length;
        assert.equal(sentBeforeCrash, crashAt === 'after-send' ? 1 : 0);

        assert.ok(hub, 'the standby runs');
        const token = await signIn(hub.url, wallet);
        const payout = await until('the payout to be confirmed', async () => {
          const p = PayoutsResponseSchema.parse((await call(`${hub!.url}/v1/payouts`, { token })).body).payouts;
          return p.length === 1 && p[0]!.status === 'confirmed' ? p[0]! : null;
        });
        // Time for the hub to (wrongly) pay again on its next rounds, had it a reason to.
        await sleep(2500);
        const transfers = await chain.transfersTo(wallet.address);
        assert.equal(transfers.length, 1, 'exactly one transfer');
        assert.equal(transfers[0]!.from, treasury.address);
        assert.equal(transfers[0]!.value, BigInt(payout.amount));
        assert.equal(transfers[0]!.txHash, payout.txHash);
        assert.equal(await chain.balanceOf(wallet.address), BigInt(payout.amount));
        const ledger = EarningsResponseSchema.parse((await call(`${hub.url}/v1/earnings`, { token })).body);
        assert.deepEqual(ledger.balance, { pending: '0', verified: '0', paid: payout.amount });
        assert.deepEqual(
          ledger.entries.map((e) => e.status),
          ['paid'],
        );
        assert.match(hub.stdout.join('\n'), /now leads the network/, 'the standby took the lead');
      } finally {
        doomed.child.kill('SIGKILL');
        if (hub) {
          hub.child.kill('SIGTERM');
          assert.equal((await hub.exit).code, 0, hub.stderr.join('\n'));
        }
      }
    });
  }
});
