import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import {
  CustomerAddressChallengeResponseSchema,
  CustomerAddressSchema,
  CustomerBalanceSchema,
  InsufficientBalanceErrorSchema,
  JobCreatedSchema,
  JobStatusSchema,
  LeaseResponseSchema,
  QuotaErrorSchema,
  ResultResponseSchema,
  f32ToBase64,
  toF32,
  type CustomerBalance,
} from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { creditCustomer, settleJob } from './billing.js';
import { creditStore, jobsStore, tasksStore } from './store/index.js';
import { main, type CliIo } from './cli.js';
import { devnetCustomerCredit, startDevnet } from './devnet.js';
import { feederSpendBound } from './feeder.js';
import { DEFAULT_REWARD_PER_GFLOP } from './jobs.js';
import { startHub } from './server.js';
import { billingStore } from './store/index.js';
import { call, errorOf, matmulJobBody, signIn, startTestHub, type Reply, type TestHub } from './testkit.js';
import { testDatabaseUrl } from './postgres/testing.js';

const TOKEN = 10n ** 18n;
/** The price of an m×n×k matmul job at the default rate (2·m·n·k FLOP, 1 token per GFLOP), as one task. */
const priceOf = (m: number, n: number, k: number): bigint => (2n * BigInt(m * n * k) * DEFAULT_REWARD_PER_GFLOP) / 1_000_000_000n;

async function balanceOf(url: string, key: string): Promise<CustomerBalance> {
  const r = await call(`${url}/v1/customers/balance`, { token: key });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return CustomerBalanceSchema.parse(r.body);
}

async function submitJob(url: string, key: string, m: number, n: number, k: number, seed = 1): Promise<Reply> {
  return call(`${url}/v1/jobs`, { token: key, body: matmulJobBody(m, n, k, seed).body });
}

async function ledger(t: TestHub, customerId: string): Promise<billingStore.LedgerRow[]> {
  return (await billingStore.ledgerOf(t.hub.db, customerId, 1000)).reverse();
}

describe('customers pay for what they order', () => {
  let t: TestHub;
  before(async () => {
    // No starting balance: as on a real network.
    t = await startTestHub({ customerStartingBalance: 0n });
  });
  after(() => t.close());

  it('is on by default: a hub started with no options refuses a job its customer cannot pay for', async () => {
    const hub = await startHub({ db: await testDatabaseUrl() });
    try {
      const key = await hub.createCustomer('nobody paid');
      const r = await submitJob(hub.url, key, 8, 8, 8);
      assert.equal(r.status, 402, JSON.stringify(r.body));
      assert.deepEqual(await balanceOf(hub.url, key), { available: '0', reserved: '0', addresses: [], deposits: [] });
    } finally {
      await hub.close();
    }
  });

  it('refuses a job beyond the available balance with 402 and the amounts, and writes nothing', async () => {
    const { id, apiKey } = await t.hub.createCustomerAccount('poor');
    const price = priceOf(64, 64, 64);
    await creditCustomer(t.hub.db, { customerId: id, amount: price - 1n, reason: 'test' });
    const r = await submitJob(t.hub.url, apiKey, 64, 64, 64);
    assert.equal(r.status, 402, JSON.stringify(r.body));
    const body = InsufficientBalanceErrorSchema.parse(r.body);
    assert.equal(body.error.needed, price.toString());
    assert.equal(body.error.available, (price - 1n).toString());
    assert.match(body.error.message, new RegExp(`costs ${price} base units`));
    assert.match(body.error.message, new RegExp(`available balance is ${price - 1n} base units`));
    assert.deepEqual((await t.hub.db.query('SELECT count(*) AS n FROM jobs WHERE customer_id = ?', [id])).rows[0], { n: 0 });
    assert.deepEqual(await balanceOf(t.hub.url, apiKey), { available: (price - 1n).toString(), reserved: '0', addresses: [], deposits: [] });
    // One base unit more and it fits, exactly.
    await creditCustomer(t.hub.db, { customerId: id, amount: 1n, reason: 'test' });
    const ok = await submitJob(t.hub.url, apiKey, 64, 64, 64);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(JobCreatedSchema.parse(ok.body).price, price.toString());
    const b = await balanceOf(t.hub.url, apiKey);
    assert.equal(b.available, '0');
    assert.equal(b.reserved, price.toString());
    assert.equal(errorOf(await submitJob(t.hub.url, apiKey, 8, 8, 8)).code, 'INSUFFICIENT_BALANCE');
  });

  it('reserves the price, charges each credited task once, and releases nothing more when the job is done', async (test) => {
    // A hub of its own: no other test's tasks in its queue.
    const t = await startTestHub({ customerStartingBalance: 0n });
    test.after(() => t.close());
    const { id, apiKey } = await t.hub.createCustomerAccount('acme');
    const start = 1000n * TOKEN;
    await creditCustomer(t.hub.db, { customerId: id, amount: start, reason: 'test' });
    // 3 tasks: the hub's cap is 2^27 multiply-adds, 2^27 / (512·512) = 512 rows each.
    const job = matmulJobBody(1100, 512, 512, 3);
    const created = await call(`${t.hub.url}/v1/jobs`, { token: apiKey, body: job.body });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id: jobId, tasks, price } = JobCreatedSchema.parse(created.body);
    assert.equal(tasks, 3);
    assert.deepEqual(await balanceOf(t.hub.url, apiKey), { available: (start - BigInt(price)).toString(), reserved: price, addresses: [], deposits: [] });

    const worker = await signIn(t.hub.url, Wallet.createRandom());
    const rewards: bigint[] = [];
    for (let i = 0; i < tasks; i++) {
      const r = await call(`${t.hub.url}/v1/tasks/lease`, { token: worker, body: { kinds: ['matmul'] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const task = LeaseResponseSchema.parse(r.body).task;
      if (task.kind !== 'matmul') throw new Error('expected matmul');
      const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
      const res = ResultResponseSchema.parse((await call(`${t.hub.url}/v1/tasks/${task.id}/result`, { token: worker, body: { output: { c: f32ToBase64(c) } } })).body);
      assert.equal(res.status, 'accepted');
      rewards.push(BigInt(task.reward));
      // Crediting the task charges it: the reserved balance shrinks by its reward at once.
      const b = await balanceOf(t.hub.url, apiKey);
      const charged = rewards.reduce((s, x) => s + x, 0n);
      assert.equal(b.reserved, (BigInt(price) - charged).toString());
      assert.equal(b.available, (start - BigInt(price)).toString());
    }
    assert.equal(JobStatusSchema.parse((await call(`${t.hub.url}/v1/jobs/${jobId}`, { token: apiKey })).body).status, 'done');
    assert.deepEqual(await balanceOf(t.hub.url, apiKey), { available: (start - BigInt(price)).toString(), reserved: '0', addresses: [], deposits: [] });
    const entries = await ledger(t, id);
    assert.deepEqual(
      entries.map((e) => [e.type, e.amount]),
      [['credit', start.toString()], ['reserve', price], ['charge', rewards.reduce((x, y) => x + y, 0n).toString()], ['release', '0']],
    );
  });

  /** A hub with a one-task job of a customer holding 10 tokens, and a worker's credited answer to the task as one statement (store/credit.ts) run by `credit`. */
  async function oneTaskJob(test: { after: (fn: () => Promise<void>) => void }): Promise<{
    t: TestHub;
    apiKey: string;
    customerId: string;
    jobId: string;
    price: string;
    reward: string;
    credit: (db: Parameters<typeof creditStore.creditVerified>[0]) => ReturnType<typeof creditStore.creditVerified>;
  }> {
    const t = await startTestHub({ customerStartingBalance: 0n, maintenanceMs: 100 });
    test.after(() => t.close());
    const { id, apiKey } = await t.hub.createCustomerAccount('acme');
    await creditCustomer(t.hub.db, { customerId: id, amount: 10n * TOKEN, reason: 'test' });
    const created = await submitJob(t.hub.url, apiKey, 8, 8, 8);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id: jobId, price } = JobCreatedSchema.parse(created.body);
    const worker = Wallet.createRandom();
    const token = await signIn(t.hub.url, worker);
    const lease = await call(`${t.hub.url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } });
    const task = LeaseResponseSchema.parse(lease.body).task;
    if (task.kind !== 'matmul') throw new Error('expected matmul');
    const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
    const row = (await tasksStore.getTask(t.hub.db, task.id))!;
    const credit = (db: Parameters<typeof creditStore.creditVerified>[0]): ReturnType<typeof creditStore.creditVerified> =>
      creditStore.creditVerified(db, {
        taskId: task.id, jobId, worker: worker.address, kind: 'matmul', reward: row.reward, result: Buffer.from(c.buffer, c.byteOffset, c.byteLength),
        units: 8 * 8 * 8, forgiveEvery: 20, now: new Date(t.clock.now()).toISOString(),
      });
    return { t, apiKey, customerId: id, jobId, price, reward: row.reward, credit };
  }

  /** Waits until the job is settled (its release in the ledger), then checks it: done, charged its task once, the rest released once. */
  async function settledOnce(j: Awaited<ReturnType<typeof oneTaskJob>>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await ledger(j.t, j.customerId)).some((e) => e.type === 'release') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await balanceOf(j.t.hub.url, j.apiKey), { available: (10n * TOKEN - BigInt(j.reward)).toString(), reserved: '0', addresses: [], deposits: [] });
    assert.equal(JobStatusSchema.parse((await call(`${j.t.hub.url}/v1/jobs/${j.jobId}`, { token: j.apiKey })).body).status, 'done');
    // Once: more rounds of the sweep change nothing.
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(
      (await ledger(j.t, j.customerId)).map((e) => [e.type, e.amount]),
      [['credit', (10n * TOKEN).toString()], ['reserve', j.price], ['charge', j.reward], ['release', (BigInt(j.price) - BigInt(j.reward)).toString()]],
    );
    assert.equal(await jobsStore.readB(j.t.hub.db, j.jobId).then(() => 'kept', () => 'deleted'), 'deleted');
  }

  it('closes and settles a job whose hub stopped between its last credit and the check that the job is done: the leader’s round, once', async (test) => {
    // The accepted result is one statement on its own (store/credit.ts); the check that its job is
    // done follows it. Here the statement commits and nothing follows, as when the hub process is
    // killed in between: the job's tasks are all counted, and the leader closes it.
    const j = await oneTaskJob(test);
    assert.equal((await j.credit(j.t.hub.db))?.mayBeDone, true);
    await settledOnce(j);
  });

  it('settles a job whose hub stopped between closing it and settling it: the leader’s sweep, ten seconds on, once', async (test) => {
    const j = await oneTaskJob(test);
    // The credit and the close at once, so the leader's round cannot close it between them.
    await j.t.hub.db.tx(async (q) => {
      assert.equal((await j.credit(q))?.mayBeDone, true);
      assert.equal(await jobsStore.closeIfDone(q, j.jobId, new Date(j.t.clock.now()).toISOString()), true);
    });
    // Done but not settled: neither its charge nor its release is in the ledger.
    const unsettled = [['credit', (10n * TOKEN).toString()], ['reserve', j.price]];
    assert.equal(JobStatusSchema.parse((await call(`${j.t.hub.url}/v1/jobs/${j.jobId}`, { token: j.apiKey })).body).status, 'done');
    assert.deepEqual((await ledger(j.t, j.customerId)).map((e) => [e.type, e.amount]), unsettled);
    // A job that ended a moment ago is left to the hub that closed it; ten seconds later the
    // leader's sweep settles it.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual((await ledger(j.t, j.customerId)).map((e) => [e.type, e.amount]), unsettled);
    j.t.clock.advance(10_001);
    await settledOnce(j);
  });

  it('charges a task once however often it is credited (replication is the hub’s cost), and settles a failed job’s rest', async () => {
    const { id, apiKey } = await t.hub.createCustomerAccount('replicated');
    await creditCustomer(t.hub.db, { customerId: id, amount: 100n * TOKEN, reason: 'test' });
    const created = JobCreatedSchema.parse((await call(`${t.hub.url}/v1/jobs`, { token: apiKey, body: matmulJobBody(1100, 512, 512, 4).body })).body);
    const price = BigInt(created.price);
    const taskRows = (await t.hub.db.query<{ id: string; reward: string }>('SELECT id, reward FROM tasks WHERE job_id = ? ORDER BY row0', [created.id])).rows;
    const ctx = { now: Date.now };
    // The first task is credited, then (as when two workers agree, or a task is done again after
    // its credit was taken back) completed once more: it is charged once.
    const nowIso = new Date().toISOString();
    await t.hub.db.query("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0x1111111111111111111111111111111111111111', ?, ?) ON CONFLICT DO NOTHING", [nowIso, nowIso]);
    const complete = async (): Promise<void> => {
      await t.hub.db.query("UPDATE tasks SET status = 'queued', result = NULL, done_by = NULL WHERE id = ?", [taskRows[0]!.id]);
      assert.ok(await tasksStore.completeQueuedTask(t.hub.db, taskRows[0]!.id, '0x1111111111111111111111111111111111111111', Buffer.from('x'), new Date().toISOString()));
    };
    const chargedAt = async (): Promise<{ charged_at: string } | undefined> =>
      (await t.hub.db.query<{ charged_at: string }>('SELECT charged_at FROM tasks WHERE id = ?', [taskRows[0]!.id])).rows[0];
    await complete();
    const firstCharge = await chargedAt();
    await complete();
    assert.deepEqual(await chargedAt(), firstCharge, 'charged once');
    assert.equal((await balanceOf(t.hub.url, apiKey)).reserved, (price - BigInt(taskRows[0]!.reward)).toString());
    await assert.rejects(t.hub.db.tx((q) => settleJob(q, ctx, created.id)), /only a job that ended/);
    // The job fails (the hub marks it so and settles it): the rest goes back.
    await t.hub.db.query("UPDATE jobs SET status = 'failed' WHERE id = ?", [created.id]);
    const released = await t.hub.db.tx((q) => settleJob(q, ctx, created.id));
    assert.equal(released, price - BigInt(taskRows[0]!.reward));
    assert.equal(await t.hub.db.tx((q) => settleJob(q, ctx, created.id)), 0n, 'settled once');
    assert.deepEqual(await balanceOf(t.hub.url, apiKey), { available: (100n * TOKEN - BigInt(taskRows[0]!.reward)).toString(), reserved: '0', addresses: [], deposits: [] });
    const charges = (await ledger(t, id)).filter((e) => e.type === 'charge' || e.type === 'release');
    assert.deepEqual(
      charges.map((e) => [e.type, e.amount]),
      [
        ['charge', taskRows[0]!.reward],
        ['release', (price - BigInt(taskRows[0]!.reward)).toString()],
      ],
    );
  });
});

describe('customer quotas', () => {
  let t: TestHub;
  before(async () => {
    // 8·8 multiply-adds per task: an m×8×8 job is m tasks.
    t = await startTestHub({ quotas: { openJobs: 2, openTasks: 5 }, matmulTaskMacs: 64 });
  });
  after(() => t.close());

  it('refuses open jobs and tasks beyond the quotas with clear codes, and admits again once work is done', async () => {
    const key = await t.hub.createCustomer('busy');
    const other = await t.hub.createCustomer('other');
    const tooBig = await submitJob(t.hub.url, key, 6, 8, 8);
    assert.equal(tooBig.status, 403, JSON.stringify(tooBig.body));
    assert.equal(errorOf(tooBig).code, 'JOB_TOO_LARGE');
    assert.equal((await submitJob(t.hub.url, key, 3, 8, 8)).status, 201);
    const tasks = await submitJob(t.hub.url, key, 3, 8, 8);
    assert.equal(tasks.status, 429, JSON.stringify(tasks.body));
    assert.equal(QuotaErrorSchema.parse(tasks.body).error.code, 'TOO_MANY_OPEN_TASKS');
    assert.ok(tasks.headers.get('retry-after'));
    assert.equal((await submitJob(t.hub.url, key, 2, 8, 8)).status, 201);
    const jobs = await submitJob(t.hub.url, key, 1, 8, 8);
    assert.equal(jobs.status, 429);
    const e = QuotaErrorSchema.parse(jobs.body).error;
    assert.deepEqual([e.code, e.limit, e.open], ['TOO_MANY_OPEN_JOBS', '2', '2']);
    // Quotas are per customer.
    assert.equal((await submitJob(t.hub.url, other, 2, 8, 8)).status, 201);
    // Done work no longer counts.
    const worker = await signIn(t.hub.url, Wallet.createRandom());
    for (let i = 0; i < 2; i++) {
      const task = LeaseResponseSchema.parse((await call(`${t.hub.url}/v1/tasks/lease`, { token: worker, body: { kinds: ['matmul'] } })).body).task;
      if (task.kind !== 'matmul') throw new Error('expected matmul');
      const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
      assert.equal((await call(`${t.hub.url}/v1/tasks/${task.id}/result`, { token: worker, body: { output: { c: f32ToBase64(c) } } })).status, 200);
    }
    assert.equal((await submitJob(t.hub.url, key, 1, 8, 8)).status, 429, 'still 2 open jobs');
    for (let i = 0; i < 1; i++) {
      const task = LeaseResponseSchema.parse((await call(`${t.hub.url}/v1/tasks/lease`, { token: worker, body: { kinds: ['matmul'] } })).body).task;
      if (task.kind !== 'matmul') throw new Error('expected matmul');
      const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
      assert.equal((await call(`${t.hub.url}/v1/tasks/${task.id}/result`, { token: worker, body: { output: { c: f32ToBase64(c) } } })).status, 200);
    }
    assert.equal((await submitJob(t.hub.url, key, 1, 8, 8)).status, 201, 'the first job is done');
  });
});

describe('payment addresses', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub();
  });
  after(() => t.close());

  async function challengeFor(key: string, address: string): Promise<string> {
    const r = await call(`${t.hub.url}/v1/customers/address/challenge`, { token: key, body: { address } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return CustomerAddressChallengeResponseSchema.parse(r.body).message;
  }
  const register = (key: string, message: string, signature: string) => call(`${t.hub.url}/v1/customers/address`, { token: key, body: { message, signature } });

  it('registers an address proved by its signature of a single-use challenge, for one customer only', async () => {
    const wallet = Wallet.createRandom();
    const a = await t.hub.createCustomerAccount('a');
    const b = await t.hub.createCustomer('b');
    const message = await challengeFor(a.apiKey, wallet.address.toLowerCase());
    assert.match(message, new RegExp(`Customer: ${a.id}\nAddress: ${wallet.address}\nChain ID: 31337`));
    const signature = await wallet.signMessage(message);

    // Someone else's signature, or the message handed to another customer: refused.
    const byOther = await register(a.apiKey, message, await Wallet.createRandom().signMessage(message));
    assert.deepEqual([byOther.status, errorOf(byOther).code], [403, 'BAD_SIGNATURE']);
    const stolen = await register(b, message, signature);
    assert.deepEqual([stolen.status, errorOf(stolen).code], [403, 'WRONG_CUSTOMER']);
    const edited = await register(a.apiKey, message.replace('Chain ID: 31337', 'Chain ID: 1'), signature);
    assert.deepEqual([edited.status, errorOf(edited).code], [403, 'WRONG_CHAIN']);
    const garbage = await register(a.apiKey, 'please register me', signature);
    assert.deepEqual([garbage.status, errorOf(garbage).code], [400, 'INVALID_MESSAGE']);

    const ok = await register(a.apiKey, message, signature);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(CustomerAddressSchema.parse(ok.body).address, wallet.address);
    const replay = await register(a.apiKey, message, signature);
    assert.deepEqual([replay.status, errorOf(replay).code], [403, 'NONCE_USED']);
    assert.deepEqual(
      (await balanceOf(t.hub.url, a.apiKey)).addresses.map((x) => x.address),
      [wallet.address],
    );

    // The same address for customer b: taken.
    const m2 = await challengeFor(b, wallet.address);
    const taken = await register(b, m2, await wallet.signMessage(m2));
    assert.deepEqual([taken.status, errorOf(taken).code], [409, 'ADDRESS_TAKEN']);
    assert.deepEqual((await balanceOf(t.hub.url, b)).addresses, []);

    // An expired challenge.
    const other = Wallet.createRandom();
    const m3 = await challengeFor(a.apiKey, other.address);
    t.clock.advance(6 * 60_000);
    const late = await register(a.apiKey, m3, await other.signMessage(m3));
    assert.deepEqual([late.status, errorOf(late).code], [403, 'NONCE_EXPIRED']);

    // Without an API key: 401.
    assert.equal((await call(`${t.hub.url}/v1/customers/balance`)).status, 401);
  });
});

describe('idleforge hub credit', () => {
  it('credits a customer of a running hub, once per --id, with its reason in the ledger', async () => {
    const t = await startTestHub({ customerStartingBalance: 0n });
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l) };
    try {
      // The hub's database, as `--db` names it: its postgres:// URL.
      const dbPath = t.hub.db.pool.options.connectionString!;
      const { id, apiKey } = await t.hub.createCustomerAccount('acme');
      assert.equal((await submitJob(t.hub.url, apiKey, 8, 8, 8)).status, 402);
      const args = ['hub', 'credit', '--db', dbPath, '--customer', id, '--amount', '5000000000000000000', '--reason', 'welcome offer', '--id', 'promo-1'];
      assert.equal(await main(args, io), 0, err.join('\n'));
      assert.equal(await main(args, io), 0, err.join('\n'));
      assert.match(out[0] ?? '', /^credited 5000000000000000000 base units/);
      assert.match(out[1] ?? '', /was made before/);
      assert.equal((await balanceOf(t.hub.url, apiKey)).available, (5n * TOKEN).toString());
      const entries = await ledger(t, id);
      assert.deepEqual(
        entries.map((e) => [e.type, e.amount, e.reason, e.ref]),
        [['credit', (5n * TOKEN).toString(), 'welcome offer', 'promo-1']],
      );
      // The same id for another amount is refused; no id: credited each time.
      assert.equal(await main([...args.slice(0, 7), '6', '--id', 'promo-1'], io), 1);
      assert.match(err.join('\n'), /promo-1 was already used/);
      assert.equal(await main(['hub', 'credit', '--db', dbPath, '--customer', id, '--amount', '1'], io), 0);
      assert.equal(await main(['hub', 'credit', '--db', dbPath, '--customer', id, '--amount', '1'], io), 0);
      assert.equal((await balanceOf(t.hub.url, apiKey)).available, (5n * TOKEN + 2n).toString());
      assert.equal((await submitJob(t.hub.url, apiKey, 8, 8, 8)).status, 201);
      // Refusals.
      assert.equal(await main(['hub', 'credit', '--db', dbPath, '--customer', 'cus_nobody', '--amount', '1'], io), 1);
      assert.match(err.join('\n'), /there is no customer cus_nobody/);
      assert.equal(await main(['hub', 'credit', '--db', dbPath, '--customer', id, '--amount', '-1'], io), 2);
      assert.equal(await main(['hub', 'credit', '--db', dbPath, '--customer', id, '--amount', '1.5'], io), 2);
      assert.equal(await main(['hub', 'credit', '--db', dbPath, '--amount', '1'], io), 2);
      assert.equal(await main(['hub', 'credit', '--db', join(tmpdir(), 'idleforge-no-such-folder', 'missing.db'), '--customer', id, '--amount', '1'], io), 2);
    } finally {
      await t.close();
    }
  });
});

describe('the devnet customer', () => {
  it('starts with at least a week of demo jobs', async () => {
    // The feeder submits at most 4 matmul jobs (≤ 2·512³ FLOP) and 1 hashsearch job (≤ 2¹⁹ nonces) a second.
    const perSecond = (4n * 2n * 512n ** 3n * TOKEN) / 1_000_000_000n + (2n ** 19n * TOKEN) / 1_000_000n;
    const week = 7n * 24n * 3600n;
    assert.ok(devnetCustomerCredit() >= week * perSecond);
    assert.ok(feederSpendBound({ intervalMs: 20, backlogs: { matmul: 1, hashsearch: 0 }, rewardPerGflop: TOKEN, rewardPerMhash: TOKEN }, 1000) >= 50n * priceOf(512, 512, 512));
    const net = await startDevnet({ chain: false, feeder: false });
    try {
      const b = await balanceOf(net.hubUrl, net.customerKey);
      assert.equal(b.available, devnetCustomerCredit().toString());
      assert.equal((await submitJob(net.hubUrl, net.customerKey, 64, 64, 64)).status, 201);
    } finally {
      await net.close();
    }
  });
});
