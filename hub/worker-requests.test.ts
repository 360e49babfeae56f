import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import {
  EarningsResponseSchema,
  JobCreatedSchema,
  JobStatusSchema,
  LeaseResponseSchema,
  PayoutsResponseSchema,
  ResultResponseSchema,
  f32ToBase64, toF32,
  type Task,
} from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { DEFAULT_REWARD_PER_GFLOP, MAX_TASK_MACS } from './jobs.js';
import { planMatmulTasks } from './kinds/matmul.js';
import { FEEDER_MAX_SIDE } from '../jobs/matmul.js';
import { call, errorOf, matmulJobBody, signIn, startTestHub, type TestHub } from './testkit.js';

/** The task cap these tests were written for: small jobs cut into several tasks. */
const OLD_CAP = 2 ** 22;

const reward = (rows: number, n: number, k: number): bigint => (2n * BigInt(rows * n * k) * DEFAULT_REWARD_PER_GFLOP) / 1_000_000_000n;

describe('planMatmulTasks', () => {
  it('cuts row slices of at most the cap of multiply-adds, at least one row each', () => {
    const plan = planMatmulTasks({ m: 70, n: 256, k: 512 }, DEFAULT_REWARD_PER_GFLOP, OLD_CAP);
    assert.deepEqual(
      plan.map((t) => [t.row0, t.rows]),
      [
        [0, 32],
        [32, 32],
        [64, 6],
      ],
    );
    assert.deepEqual(
      plan.map((t) => t.reward),
      [reward(32, 256, 512), reward(32, 256, 512), reward(6, 256, 512)],
    );
    const wide = planMatmulTasks({ m: 3, n: 4096, k: 4096 }, 1n, OLD_CAP);
    assert.deepEqual(
      wide.map((t) => t.rows),
      [1, 1, 1],
    );
    const small = planMatmulTasks({ m: FEEDER_MAX_SIDE, n: FEEDER_MAX_SIDE, k: FEEDER_MAX_SIDE }, DEFAULT_REWARD_PER_GFLOP);
    assert.equal(small.length, 1, 'a demo-sized job is one task');
    for (const t of planMatmulTasks({ m: 1000, n: 300, k: 77 }, 7n)) assert.ok(t.rows * 300 * 77 <= MAX_TASK_MACS);
    // Rounds down in base units, never through floats.
    assert.equal(planMatmulTasks({ m: 1, n: 1, k: 1 }, 1_000_000_000n)[0]?.reward, 2n);
    assert.equal(planMatmulTasks({ m: 1, n: 1, k: 1 }, 499_999_999n)[0]?.reward, 0n);
  });
});

describe('jobs, leases, results and the ledger', () => {
  let t: TestHub;
  let url: string;
  let customerKey: string;
  let otherCustomerKey: string;
  const w1 = Wallet.createRandom();
  const w2 = Wallet.createRandom();
  let tok1: string;
  let tok2: string;
  // A cap of 2^22 multiply-adds: 2^22 / (64·64) = 1024 rows per task: slices of 1024, 1024 and 52 rows. (Small n and k keep
  // Freivalds' tolerance far below the +1.0 error the rejection test plants.)
  const M = 2100;
  const N = 64;
  const K = 64;
  const job = matmulJobBody(M, N, K, 7);
  let jobId: string;

  before(async () => {
    t = await startTestHub({ matmulTaskMacs: OLD_CAP });
    url = t.hub.url;
    customerKey = await t.hub.createCustomer('acme');
    otherCustomerKey = await t.hub.createCustomer('other');
    tok1 = await signIn(url, w1);
    tok2 = await signIn(url, w2);
  });
  after(() => t.close());

  async function lease(token: string): Promise<Task | null> {
    const r = await call(`${url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } });
    if (r.status === 204) return null;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return LeaseResponseSchema.parse(r.body).task;
  }
  const correct = (task: Task): Float32Array => {
    if (task.kind !== 'matmul') throw new Error(`expected a matmul task, got ${task.kind}`);
    return matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
  };
  const submit = (token: string, id: string, c: Float32Array) => call(`${url}/v1/tasks/${id}/result`, { token, body: { output: { c: f32ToBase64(c) } } });
  const earningsOf = async (token: string, query = '') => {
    const r = await call(`${url}/v1/earnings${query}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return EarningsResponseSchema.parse(r.body);
  };
  const status = async (id: string, key = customerKey) => {
    const r = await call(`${url}/v1/jobs/${id}`, { token: key });
    assert.equal(r.status, 200);
    return JobStatusSchema.parse(r.body);
  };

  it('has no work before a job arrives (204)', async () => {
    assert.equal(await lease(tok1), null);
  });

  it('creates a job split into priced row-slice tasks', async () => {
    const r = await call(`${url}/v1/jobs`, { token: customerKey, body: job.body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const created = JobCreatedSchema.parse(r.body);
    jobId = created.id;
    assert.match(jobId, /^job_[0-9a-f]{16}$/);
    assert.equal(created.tasks, 3);
    assert.equal(created.price, (2n * reward(1024, N, K) + reward(52, N, K)).toString());
    assert.deepEqual(await status(jobId), { id: jobId, kind: 'matmul', status: 'queued', progress: { done: 0, total: 3 } });
  });

  it('keeps jobs to their customer and says when the result is not ready', async () => {
    const other = await call(`${url}/v1/jobs/${jobId}`, { token: otherCustomerKey });
    assert.equal(other.status, 403);
    assert.equal(errorOf(other).code, 'NOT_YOUR_JOB');
    const unknown = await call(`${url}/v1/jobs/job_0000000000000000`, { token: customerKey });
    assert.equal(unknown.status, 404);
    const badKey = await call(`${url}/v1/jobs/${jobId}`, { token: 'idf_not_a_real_key_at_all' });
    assert.equal(badKey.status, 401);
    const early = await call(`${url}/v1/jobs/${jobId}/result`, { token: customerKey });
    assert.equal(early.status, 409);
    assert.equal(errorOf(early).code, 'JOB_NOT_DONE');
  });

  let t1: Task;
  let t2: Task;

  it('leases the oldest task first, each to one worker only, with the right slice', async () => {
    const a = await lease(tok1);
    const b = await lease(tok2);
    assert.ok(a && b);
    t1 = a;
    t2 = b;
    assert.notEqual(t1.id, t2.id);
    assert.deepEqual(t1.params, { m: 1024, n: N, k: K });
    assert.equal(t1.reward, reward(1024, N, K).toString());
    assert.equal(Date.parse(t1.leaseExpiresAt), t.clock.t + 120_000);
    assert.ok(t1.kind === 'matmul' && t2.kind === 'matmul');
    assert.deepEqual(toF32(t1.inputs.a), job.a.subarray(0, 1024 * K));
    assert.deepEqual(toF32(t2.inputs.a), job.a.subarray(1024 * K, 2048 * K));
    assert.deepEqual(toF32(t1.inputs.b), job.b);
    assert.equal((await status(jobId)).status, 'running');
  });

  it('accepts a correct result and credits it once; a second submit is a 409', async () => {
    const r = await submit(tok1, t1.id, correct(t1));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const res = ResultResponseSchema.parse(r.body);
    assert.equal(res.status, 'accepted');
    assert.equal(res.credited, t1.reward);
    assert.ok(res.entryId);
    assert.deepEqual(res.check, { method: 'freivalds', rounds: matmul.FREIVALDS_ROUNDS }, 'the receipt: Freivalds and its rounds');
    const again = await submit(tok1, t1.id, correct(t1));
    assert.equal(again.status, 409);
    assert.equal(errorOf(again).code, 'ALREADY_DONE');
    const e = await earningsOf(tok1);
    assert.deepEqual(
      e.entries.map((x) => [x.id, x.taskId, x.amount, x.status, x.check, x.reason]),
      [[res.entryId, t1.id, t1.reward, 'verified', { method: 'freivalds', rounds: matmul.FREIVALDS_ROUNDS }, undefined]],
    );
    assert.deepEqual(e.balance, { pending: '0', verified: t1.reward, paid: '0' });
    assert.deepEqual(await status(jobId), { id: jobId, kind: 'matmul', status: 'running', progress: { done: 1, total: 3 } });
  });

  it("refuses a result for another worker's lease (403) and an unknown task (404)", async () => {
    const r = await submit(tok1, t2.id, correct(t2));
    assert.equal(r.status, 403);
    assert.equal(errorOf(r).code, 'NOT_YOUR_LEASE');
    const unknown = await submit(tok1, 'task_0000000000000000', correct(t2));
    assert.equal(unknown.status, 404);
    assert.equal(errorOf(unknown).code, 'TASK_NOT_FOUND');
  });

  it('rejects a result with one element off by 1.0: nothing credited, the task goes back to the queue', async () => {
    const c = correct(t2);
    c[5 * N + 17]! += 1.0;
    const r = await submit(tok2, t2.id, c);
    assert.equal(r.status, 200);
    const res = ResultResponseSchema.parse(r.body);
    assert.equal(res.status, 'rejected');
    assert.equal(res.credited, '0');
    assert.ok(res.reason && res.entryId);
    assert.equal(res.check?.method, 'freivalds');
    const e = await earningsOf(tok2);
    assert.deepEqual(
      e.entries.map((x) => [x.taskId, x.amount, x.status, x.reason, x.check?.method]),
      [[t2.id, '0', 'rejected', res.reason, 'freivalds']],
    );
    assert.deepEqual(e.balance, { pending: '0', verified: '0', paid: '0' });
    // Not yet a strike: the hub is sure only once another worker's answer passes.
    const standing = async () =>
      (await t.hub.db.query<{ tasks_rejected: number; strikes: number }>('SELECT tasks_rejected, strikes FROM workers WHERE address = ?', [w2.address])).rows[0];
    assert.deepEqual({ ...(await standing()) }, { tasks_rejected: 0, strikes: 0 });
    // Back at the front of the queue (it is older than the third task), never for the worker it rejected.
    const other = await lease(tok2);
    assert.ok(other && other.id !== t2.id, 'the worker whose result it rejected gets another task');
    assert.equal((await call(`${url}/v1/tasks/${other.id}/release`, { token: tok2, body: {} })).status, 200);
    const again = await lease(tok1);
    assert.equal(again?.id, t2.id);
    t2 = again;
  });

  it('returns an expired lease to the queue; the late submit gets 409', async () => {
    t.clock.advance(120_001);
    const late = await submit(tok1, t2.id, correct(t2));
    assert.equal(late.status, 409);
    assert.equal(errorOf(late).code, 'LEASE_EXPIRED');
    const re = await lease(tok1);
    assert.equal(re?.id, t2.id, 'the expired task is leased again');
    t2 = re;
    const lapses = (await t.hub.db.query<Record<string, number>>('SELECT leases_expired, lease_penalty, strikes FROM workers WHERE address = ?', [w1.address])).rows[0];
    assert.deepEqual({ ...lapses }, { leases_expired: 1, lease_penalty: 1, strikes: 0 }, 'a lapse lowers the cap, and is never a strike');
    const r = await submit(tok1, t2.id, correct(t2));
    assert.equal(ResultResponseSchema.parse(r.body).status, 'accepted');
    // Another worker's answer passed: the rejected one was wrong, now a strike.
    const w2Standing = (await t.hub.db.query<Record<string, number>>('SELECT tasks_rejected, strikes FROM workers WHERE address = ?', [w2.address])).rows[0];
    assert.deepEqual({ ...w2Standing }, { tasks_rejected: 1, strikes: 1 });
  });

  it('finishes the job; the result is C = A·B as f32 bytes', async () => {
    const t3 = await lease(tok1);
    assert.ok(t3);
    assert.deepEqual(t3.params, { m: 52, n: N, k: K });
    assert.equal(ResultResponseSchema.parse((await submit(tok1, t3.id, correct(t3))).body).status, 'accepted');
    assert.equal(await lease(tok1), null);
    assert.deepEqual(await status(jobId), { id: jobId, kind: 'matmul', status: 'done', progress: { done: 3, total: 3 } });
    const r = await call(`${url}/v1/jobs/${jobId}/result`, { token: customerKey });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.ok(r.body instanceof Uint8Array);
    const expected = matmul.matmulReference({ m: M, n: N, k: K }, job.a, job.b);
    assert.deepEqual(r.body, new Uint8Array(expected.buffer));
    const other = await call(`${url}/v1/jobs/${jobId}/result`, { token: otherCustomerKey });
    assert.equal(other.status, 403);
  });

  it('pages earnings by cursor and sums the balance exactly', async () => {
    const all = await earningsOf(tok1);
    // Its first task, the one another worker got wrong, and the last.
    assert.equal(all.entries.length, 3);
    assert.equal(all.nextCursor, null);
    const expected = 2n * reward(1024, N, K) + reward(52, N, K);
    assert.deepEqual(all.balance, { pending: '0', verified: expected.toString(), paid: '0' });
    const p1 = await earningsOf(tok1, '?limit=2');
    assert.equal(p1.entries.length, 2);
    assert.equal(p1.nextCursor, p1.entries[1]?.id);
    const p2 = await earningsOf(tok1, `?limit=1&after=${p1.nextCursor}`);
    assert.equal(p2.entries.length, 1);
    assert.ok(Number(p2.entries[0]?.id) > Number(p1.entries[1]?.id));
    assert.equal(p2.nextCursor, null);
    const p3 = await earningsOf(tok1, `?after=${p2.entries[0]?.id}`);
    assert.deepEqual(p3.entries, []);
    assert.equal(p3.nextCursor, null);
    const bad = await call(`${url}/v1/earnings?limit=0`, { token: tok1 });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'INVALID_QUERY');
    const payouts = await call(`${url}/v1/payouts`, { token: tok1 });
    assert.deepEqual(PayoutsResponseSchema.parse(payouts.body), { payouts: [] });
  });

  it('reads only what changed since a change cursor, status changes included; the old cursor keeps working', async () => {
    const all = await earningsOf(tok1, '?changedAfter=0');
    assert.equal(all.entries.length, 3);
    assert.equal(all.nextCursor, null);
    const cursor = all.changeCursor;
    assert.ok(cursor !== undefined && BigInt(cursor) >= 3n);
    // Nothing new: nothing sent, the same cursor back, the same balance.
    const none = await earningsOf(tok1, `?changedAfter=${cursor}`);
    assert.deepEqual(none.entries, []);
    assert.equal(none.changeCursor, cursor);
    assert.deepEqual(none.balance, all.balance);
    // A page at a time: nextCursor is the changedAfter of the next page.
    const p1 = await earningsOf(tok1, '?changedAfter=0&limit=2');
    assert.equal(p1.entries.length, 2);
    assert.equal(p1.nextCursor, p1.changeCursor);
    const p2 = await earningsOf(tok1, `?changedAfter=${p1.nextCursor}&limit=2`);
    assert.deepEqual([...p1.entries, ...p2.entries], all.entries);
    assert.equal(p2.nextCursor, null);
    // An old entry changes status (a payout confirmed): it comes back, alone, with its new status.
    const oldest = all.entries.find((e) => e.status === 'verified')!;
    await t.hub.db.query("UPDATE earnings SET status = 'paid' WHERE id = ?", [Number(oldest.id)]);
    const changed = await earningsOf(tok1, `?changedAfter=${cursor}`);
    assert.deepEqual(changed.entries, [{ ...oldest, status: 'paid' }]);
    assert.equal(changed.balance.paid, oldest.amount);
    assert.equal(BigInt(changed.balance.verified), BigInt(all.balance.verified) - BigInt(oldest.amount));
    // The id cursor does not see it: the reason for the change cursor.
    assert.deepEqual((await earningsOf(tok1, `?after=${all.entries.at(-1)!.id}`)).entries, []);
    // A change of what the worker does not mirror (the payout holding an entry) is no change to it.
    await t.hub.db.query("UPDATE earnings SET held_until = '2020-01-01T00:00:00.000Z' WHERE id = ?", [Number(oldest.id)]);
    assert.deepEqual((await earningsOf(tok1, `?changedAfter=${changed.changeCursor}`)).entries, []);
    // A cursor this hub's ledger never reached (another database): the answer says so with a lower one.
    const ahead = await earningsOf(tok1, '?changedAfter=999999');
    assert.ok(BigInt(ahead.changeCursor!) < 999999n);
    await t.hub.db.query("UPDATE earnings SET status = 'verified' WHERE id = ?", [Number(oldest.id)]);
    const both = await call(`${url}/v1/earnings?after=1&changedAfter=1`, { token: tok1 });
    assert.equal(both.status, 400);
    assert.equal(errorOf(both).code, 'INVALID_QUERY');
  });

  it('pages the payouts newest first with limit; without it, all of them oldest first as before', async () => {
    const address = (await t.hub.db.query<{ address: string }>('SELECT address FROM workers WHERE lower(address) = lower(?)', [w1.address])).rows[0]!.address;
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      const at = new Date(t0 + Math.min(i, 3) * 1000).toISOString(); // the last two at the same instant
      await t.hub.db.query(
        "INSERT INTO payouts (id, worker, to_address, amount, status, chain_id, token, treasury, tx_nonce, created_at, updated_at) VALUES (?, ?, ?, ?, 'failed', 31337, ?, ?, ?, ?, ?)",
        [`pay_${i}`, address, address, String(i + 1), address, address, 1000 + i, at, at],
      );
    }
    const all = PayoutsResponseSchema.parse((await call(`${url}/v1/payouts`, { token: tok1 })).body);
    assert.deepEqual(all.payouts.map((p) => p.id), ['pay_0', 'pay_1', 'pay_2', 'pay_3', 'pay_4']);
    assert.equal(all.nextCursor, undefined);
    const seen: string[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const r = await call(`${url}/v1/payouts?limit=2${before ? `&before=${before}` : ''}`, { token: tok1 });
      const page = PayoutsResponseSchema.parse(r.body);
      seen.push(...page.payouts.map((p) => p.id));
      before = page.nextCursor ?? null;
      if (before === null) break;
    }
    assert.deepEqual(seen, ['pay_4', 'pay_3', 'pay_2', 'pay_1', 'pay_0']);
    // Another worker's payouts are not this one's, nor a cursor into them.
    assert.deepEqual(PayoutsResponseSchema.parse((await call(`${url}/v1/payouts?limit=10`, { token: tok2 })).body).payouts, []);
    assert.deepEqual(PayoutsResponseSchema.parse((await call(`${url}/v1/payouts?limit=10&before=pay_4`, { token: tok2 })).body).payouts, []);
    assert.equal((await call(`${url}/v1/payouts?limit=0`, { token: tok1 })).status, 400);
    await t.hub.db.query("DELETE FROM payouts WHERE id LIKE 'pay\\_%'");
  });

  it('credits concurrent duplicate submissions exactly once', async () => {
    const small = matmulJobBody(20, 24, 40, 99);
    const created = JobCreatedSchema.parse((await call(`${url}/v1/jobs`, { token: customerKey, body: small.body })).body);
    const task = await lease(tok1);
    assert.ok(task);
    const c = correct(task);
    const replies = await Promise.all(Array.from({ length: 8 }, () => submit(tok1, task.id, c)));
    const statuses = replies.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    const rows = (await t.hub.db.query<{ c: number }>("SELECT count(*) AS c FROM earnings WHERE task_id = ? AND status != 'rejected'", [task.id])).rows[0];
    assert.equal(rows?.c, 1);
    assert.equal((await status(created.id)).status, 'done');
  });

  it('refuses malformed results with 400 and keeps the lease', async () => {
    await call(`${url}/v1/jobs`, { token: customerKey, body: matmulJobBody(5, 8, 8, 3).body });
    const task = await lease(tok2);
    assert.ok(task);
    const cases: unknown[] = [{}, { output: {} }, { output: { c: 'not base64!' } }, { output: { c: f32ToBase64(new Float32Array(3)) } }];
    for (const body of cases) {
      const r = await call(`${url}/v1/tasks/${task.id}/result`, { token: tok2, body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(errorOf(r).code, 'INVALID_BODY');
    }
    assert.equal(ResultResponseSchema.parse((await submit(tok2, task.id, correct(task))).body).status, 'accepted');
  });

  it('refuses jobs with non-finite inputs or misfit sizes', async () => {
    const bad = matmulJobBody(4, 4, 4);
    const a = bad.a.slice();
    a[3] = Number.NaN;
    const nan = await call(`${url}/v1/jobs`, { token: customerKey, body: { ...bad.body, a: f32ToBase64(a) } });
    assert.equal(nan.status, 400);
    assert.equal(errorOf(nan).code, 'INVALID_BODY');
    assert.match(errorOf(nan).message, /a holds a value that is not a finite number/);
    const b = bad.b.slice();
    b[0] = Number.POSITIVE_INFINITY;
    const inf = await call(`${url}/v1/jobs`, { token: customerKey, body: { ...bad.body, b: f32ToBase64(b) } });
    assert.equal(inf.status, 400);
    const misfit = await call(`${url}/v1/jobs`, { token: customerKey, body: { ...bad.body, m: 5 } });
    assert.equal(misfit.status, 400);
    assert.match(errorOf(misfit).message, /m×k/);
    const noKey = await call(`${url}/v1/jobs`, { body: bad.body });
    assert.equal(noKey.status, 401);
  });
});

describe('a matmul result as raw f32 bytes (application/octet-stream)', () => {
  it('is judged like the JSON form: a misfit length is a 400 that keeps the lease, the right bytes are credited once', async () => {
    const t = await startTestHub();
    try {
      const url = t.hub.url;
      const key = await t.hub.createCustomer('bytes');
      const job = matmulJobBody(33, 20, 17, 5);
      assert.equal((await call(`${url}/v1/jobs`, { token: key, body: job.body })).status, 201);
      const token = await signIn(url, Wallet.createRandom());
      const leased = await call(`${url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } });
      const task = LeaseResponseSchema.parse(leased.body).task;
      if (task.kind !== 'matmul') throw new Error('expected a matmul task');
      const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
      const send = (bytes: Uint8Array) =>
        fetch(`${url}/v1/tasks/${task.id}/result`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: new Uint8Array(bytes) });
      const short = await send(new Uint8Array(c.buffer).subarray(0, c.byteLength - 4));
      assert.equal(short.status, 400);
      assert.match(((await short.json()) as { error: { message: string } }).error.message, /33×20|660 f32 values/);
      const ok = await send(new Uint8Array(c.buffer));
      assert.equal(ok.status, 200);
      const res = ResultResponseSchema.parse(await ok.json());
      assert.equal(res.status, 'accepted');
      assert.equal(res.credited, task.reward);
      assert.equal((await send(new Uint8Array(c.buffer))).status, 409, 'a second submission is refused');
    } finally {
      await t.close();
    }
  });
});

describe('giving a lease back (POST /v1/tasks/{id}/release)', () => {
  it('returns the task to the queue at once; only its holder may, and only while the lease lives', async () => {
    const t = await startTestHub();
    try {
      const url = t.hub.url;
      const key = await t.hub.createCustomer('release');
      assert.equal((await call(`${url}/v1/jobs`, { token: key, body: matmulJobBody(8, 8, 8, 3).body })).status, 201);
      const [one, two] = [await signIn(url, Wallet.createRandom()), await signIn(url, Wallet.createRandom())];
      const lease = async (token: string) => call(`${url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } });
      const task = LeaseResponseSchema.parse((await lease(one)).body).task;
      assert.equal((await lease(two)).status, 204, 'the only task is leased');
      const release = (token: string, id = task.id) => call(`${url}/v1/tasks/${id}/release`, { token, body: {} });
      const stolen = await release(two);
      assert.equal(stolen.status, 403);
      assert.equal(errorOf(stolen).code, 'NOT_YOUR_LEASE');
      assert.equal((await release(one, 'task_0000000000000000')).status, 404);
      const given = await release(one);
      assert.equal(given.status, 200, JSON.stringify(given.body));
      assert.deepEqual(given.body, { ok: true });
      const again = await lease(two);
      assert.equal(again.status, 200, 'the task is in the queue again');
      assert.equal(LeaseResponseSchema.parse(again.body).task.id, task.id);
      assert.equal((await release(one)).status, 403, 'no longer the holder');
      t.clock.advance(10 * 60_000);
      const late = await release(two);
      assert.equal(late.status, 409);
      assert.equal(errorOf(late).code, 'LEASE_EXPIRED');
      const e = await call(`${url}/v1/earnings`, { token: one });
      assert.deepEqual((e.body as { entries: unknown[] }).entries, [], 'nothing recorded for a release');
    } finally {
      await t.close();
    }
  });
});
