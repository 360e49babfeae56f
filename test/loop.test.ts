/**
 * The whole earning loop with real parts: a hub on 127.0.0.1 with its SQLite file, the real
 * `idleforge worker` on Dawn/SwiftShader, the real `idleforge earnings`, and a cheater.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { matmulReference } from '../kernels/matmul/index.js';
import {
  toF32,
  f32ToBase64,
  JobCreatedSchema,
  JobStatusSchema,
  type CliEvent,
  type EarningEntry,
} from '../protocol/index.js';
import { startHub, type Hub } from '../hub/server.js';
import { createDawnHost } from '../worker/compute/dawn.js';
import { HubClient } from '../worker/hub-client.js';
import { headlessVault } from '../worker/wallet/index.js';
import { randomMatrix, runCli, startCli, tempDir } from './helpers.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';

const M = 70;
const N = 45;
const K = 133;

describe('the earning loop', () => {
  const dir = tempDir('loop');
  let hub: Hub;
  let customerKey: string;

  before(async () => {
    hub = await startHub({ db: await testDatabaseUrl(), port: 0, customerStartingBalance: 10n ** 30n });
    customerKey = await hub.createCustomer('loop test');
  });
  after(async () => {
    await hub.close();
    dir.remove();
  });

  const customer = async (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${hub.url}${path}`, { ...init, headers: { authorization: `Bearer ${customerKey}`, 'content-type': 'application/json', ...init.headers } });

  it('a customer matmul job is computed by the worker, verified, credited, and equals the CPU reference', async () => {
    const a = randomMatrix(M, K, 1);
    const b = randomMatrix(K, N, 2);
    const created = JobCreatedSchema.parse(
      await (await customer('/v1/jobs', { method: 'POST', body: JSON.stringify({ kind: 'matmul', m: M, n: N, k: K, a: f32ToBase64(a), b: f32ToBase64(b) }) })).json(),
    );
    assert.ok(created.tasks >= 1);

    const workerData = join(dir.path, 'worker');
    const worker = startCli(['worker', '--hub', hub.url, '--data', workerData, '--once', String(created.tasks), '--json']);
    const code = await worker.exit;
    assert.equal(code, 0, worker.stderr.join('\n'));
    const credited = worker.events.filter((e): e is Extract<CliEvent, { event: 'credited' }> => e.event === 'credited');
    assert.equal(credited.length, created.tasks);
    assert.equal(credited.reduce((s, e) => s + BigInt(e.amount), 0n), BigInt(created.price), 'the worker earned exactly the job’s price');

    const status = JobStatusSchema.parse(await (await customer(`/v1/jobs/${created.id}`)).json());
    assert.equal(status.status, 'done');
    assert.deepEqual(status.progress, { done: created.tasks, total: created.tasks });

    const res = await customer(`/v1/jobs/${created.id}/result`);
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    const c = new Float32Array(await res.arrayBuffer());
    const expected = matmulReference({ m: M, n: N, k: K }, a, b);
    assert.equal(c.length, M * N);
    for (let i = 0; i < c.length; i++) {
      // f32 accumulation over k terms of magnitude ≤ 1: error well under k·2⁻²⁴·k.
      assert.ok(Math.abs(c[i]! - expected[i]!) <= K * K * 2 ** -24, `element ${i}: ${c[i]} vs ${expected[i]}`);
    }
  });

  it("the worker's local ledger equals the hub's for its address", async () => {
    const workerData = join(dir.path, 'worker');
    const local = await runCli(['earnings', '--data', workerData, '--json']);
    assert.equal(local.code, 0, local.stderr);
    const localEntries = (JSON.parse(local.stdout) as { entries: Array<EarningEntry & { hub: string }> }).entries;

    const client = new HubClient({ hubUrl: hub.url, wallet: await headlessVault(workerData).unlock() });
    const remote = await client.allEarnings();
    assert.ok(remote.entries.length > 0);
    // The hub's fields of each entry, its receipt (how it was checked, why rejected) included.
    const hubFields = ({ id, taskId, kind, amount, status, createdAt, check, reason }: EarningEntry): EarningEntry => ({
      id, taskId, kind, amount, status, createdAt, ...(check ? { check } : {}), ...(reason ? { reason } : {}),
    });
    assert.ok(remote.entries.every((e) => e.check !== undefined), 'the hub says how it checked each entry');
    assert.deepEqual(localEntries.map(hubFields), remote.entries.map(hubFields));
    const sum = remote.entries.reduce((s, e) => s + BigInt(e.amount), 0n);
    assert.equal(BigInt(remote.balance.verified), sum);
  });

  it('a result with one element changed is rejected and credits nothing', async () => {
    const a = randomMatrix(20, 30, 3);
    const b = randomMatrix(30, 25, 4);
    const created = JobCreatedSchema.parse(
      await (await customer('/v1/jobs', { method: 'POST', body: JSON.stringify({ kind: 'matmul', m: 20, n: 25, k: 30, a: f32ToBase64(a), b: f32ToBase64(b) }) })).json(),
    );
    const host = await createDawnHost();
    const cheater = new HubClient({ hubUrl: hub.url, wallet: Wallet.createRandom() });
    try {
      const task = await cheater.lease(['matmul']);
      assert.ok(task, 'the hub has the job’s task');
      assert.equal(task.kind, 'matmul');
      const output = await host.run(task);
      const c = toF32(output.c as Uint8Array).slice();
      c[7] = c[7]! + 1;
      const res = await cheater.submit(task.id, 'matmul', { c: f32ToBase64(c) });
      assert.equal(res.status, 'rejected');
      assert.equal(res.credited, '0');
      const ledger = await cheater.allEarnings();
      assert.equal(ledger.entries.reduce((s, e) => s + BigInt(e.amount), 0n), 0n);
      assert.deepEqual(ledger.balance, { pending: '0', verified: '0', paid: '0' });

      // The task went back to the queue, never to the worker it rejected: another worker's
      // honest run of it is accepted.
      assert.equal(await cheater.lease(['matmul']), null);
      const other = new HubClient({ hubUrl: hub.url, wallet: Wallet.createRandom() });
      const again = await other.lease(['matmul']);
      assert.equal(again?.id, task.id);
      const honest = await other.submit(task.id, 'matmul', await host.run(again!));
      assert.equal(honest.status, 'accepted');
      assert.equal(honest.credited, created.price, 'a one-task job pays its price to whoever does it right');
      assert.equal(created.tasks, 1);
    } finally {
      await host.close();
    }
  });
});

describe('the idleforge command', () => {
  it('devnet prints ready, and a worker earns on it and exits after --once N', async () => {
    const dir = tempDir('devnet');
    const devnet = startCli(['devnet', '--json', '--data', join(dir.path, 'devnet')]);
    try {
      const ready = await devnet.waitFor((e): e is Extract<CliEvent, { event: 'ready' }> => e.event === 'ready');
      assert.match(ready.hub, /^http:\/\/127\.0\.0\.1:\d+$/);
      // The devnet runs a chain (anvil) with the token, and pays workers on it.
      assert.match(ready.rpc ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(ready.token ?? '', /^0x[0-9a-fA-F]{40}$/);
      // As a user starts it: without the driver manifest the test run's own GPU check left in the
      // environment (VK_ICD_FILENAMES), so that it finds SwiftShader by itself.
      const worker = await runCli(['worker', '--hub', ready.hub, '--data', join(dir.path, 'worker'), '--once', '2', '--json'], { VK_ICD_FILENAMES: undefined });
      assert.equal(worker.code, 0, worker.stderr);
      // Finding the GPU (here SwiftShader, with no Vulkan driver installed) prints nothing alarming.
      assert.doesNotMatch(worker.stderr, /vkCreateInstance|VK_ERROR|Found no drivers|VulkanError/);
      const events = worker.stdout.trim().split('\n').map((l) => JSON.parse(l) as CliEvent);
      assert.equal(events.filter((e) => e.event === 'credited').length, 2);
      const earnings = await runCli(['earnings', '--data', join(dir.path, 'worker'), '--json']);
      const entries = (JSON.parse(earnings.stdout) as { entries: EarningEntry[] }).entries;
      // Verified, or already paid: the devnet pays within a worker's first tasks. (A demo hashsearch
      // result of this lone worker may also be credited, once the hub has checked it itself.)
      assert.equal(entries.filter((e) => e.kind === 'matmul' && (e.status === 'verified' || e.status === 'paid')).length, 2);
      for (const e of entries) assert.match(e.amount, /^[1-9][0-9]*$/);
    } finally {
      devnet.child.kill('SIGINT');
      assert.equal(await devnet.exit, 0, 'devnet stops cleanly on SIGINT');
      dir.remove();
    }
  });

  it('worker stops on SIGTERM mid-task and exits 0, and serves its dashboard URL with --dashboard', async () => {
    const dir = tempDir('sigterm');
    const devnet = startCli(['devnet', '--json', '--data', join(dir.path, 'devnet')]);
    try {
      const ready = await devnet.waitFor((e): e is Extract<CliEvent, { event: 'ready' }> => e.event === 'ready');
      const worker = startCli(['worker', '--hub', ready.hub, '--data', join(dir.path, 'worker'), '--json', '--dashboard', '--idle-minutes', '0']);
      const dash = await worker.waitFor((e): e is Extract<CliEvent, { event: 'dashboard' }> => e.event === 'dashboard');
      assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}$/);
      const page = await fetch(dash.url.replace(/#.*/, ''));
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Idleforge/);
      // With the dashboard, a first run waits for the wallet to be set up there.
      const created = await fetch(`${dash.url.replace(/\/#.*/, '')}/api/v1/createWallet`, {
        method: 'POST',
        headers: { authorization: `Bearer ${dash.url.replace(/.*token=/, '')}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(created.status, 200, await created.text());
      await worker.waitFor((e): e is Extract<CliEvent, { event: 'state' }> => e.event === 'state' && e.state === 'working');
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exit, 0, worker.stderr.join('\n'));
      const last = worker.events.filter((e) => e.event === 'state').at(-1);
      assert.deepEqual(last, { event: 'state', state: 'paused', reason: 'Stopped' });
    } finally {
      devnet.child.kill('SIGINT');
      await devnet.exit;
      dir.remove();
    }
  });

  it('gpus --json prints a JSON list, never an error', async () => {
    const res = await runCli(['gpus', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const list: unknown = JSON.parse(res.stdout);
    assert.ok(Array.isArray(list));
  });

  it('worker refuses bad flags in plain words, before touching anything', async () => {
    const dir = tempDir('flags');
    try {
      const intensity = await runCli(['worker', '--data', dir.path, '--intensity', '30']);
      assert.equal(intensity.code, 2);
      assert.match(intensity.stderr, /--intensity takes 25, 50, 75 or 100/);
      const hub = await runCli(['worker', '--data', dir.path, '--hub', 'ftp://example']);
      assert.equal(hub.code, 2);
      assert.match(hub.stderr, /--hub: the address must start with http/);
    } finally {
      dir.remove();
    }
  });
});
