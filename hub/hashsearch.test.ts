import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import {
  EarningsResponseSchema,
  JobCreatedSchema,
  JobStatusSchema,
  LeaseResponseSchema,
  ResultResponseSchema,
  type EarningEntry,
  type HashsearchOutput,
  type Task,
} from '../protocol/index.js';
import { hashsearch } from '../kernels/index.js';
import { DEFAULT_REWARD_PER_MHASH } from './jobs.js';
import { expectedMatches, planHashsearchTasks, targetTooEasy } from './kinds/hashsearch.js';
import { provablyWrong, searchRange } from './replication.js';
import { call, errorOf, signIn, solveHashsearch, startTestHub } from './testkit.js';

const HEADER = '49646c65666f726765206861736873656172636820746573742068656164657221';
/** 9 leading zero bits: about 8 matches in 4096 nonces. */
const TARGET = `007${'f'.repeat(61)}`;
const TASK = 4096;

type HsTask = Extract<Task, { kind: 'hashsearch' }>;

const solve = solveHashsearch;

describe('hashsearch planning', () => {
  it('cuts ranges, prices them per hash and refuses targets too easy to report', () => {
    const plan = planHashsearchTasks(100n, 10_000, DEFAULT_REWARD_PER_MHASH, TASK);
    assert.deepEqual(
      plan.map((t) => [t.index, t.start, t.count]),
      [
        [0, 100n, 4096],
        [1, 4196n, 4096],
        [2, 8292n, 1808],
      ],
    );
    assert.equal(plan[0]!.reward, (4096n * DEFAULT_REWARD_PER_MHASH) / 1_000_000n);
    // A huge job gets bigger tasks rather than millions of them.
    assert.equal(planHashsearchTasks(0n, 2 ** 40, 1n, TASK).length, 4096);
    assert.ok(Math.abs(expectedMatches(TARGET, 4096) - 8) < 1e-9);
    assert.equal(targetTooEasy('f'.repeat(64), 65536), false, 'a task of 65536 nonces can never list more');
    assert.equal(targetTooEasy('f'.repeat(64), 65537), true);
    assert.equal(targetTooEasy(`00${'f'.repeat(62)}`, 2 ** 20), false, 'about 4096 expected matches');
    assert.equal(targetTooEasy(`1${'f'.repeat(63)}`, 2 ** 20), true);
  });

  it('proves which of two disagreeing answers is wrong', async () => {
    const spec = { header: HEADER, target: TARGET, start: 0n, count: TASK };
    const truth = hashsearch.hashsearchReference(spec);
    assert.deepEqual(await searchRange(spec), truth, "the hub's own search (node:crypto) matches the reference");
    assert.ok(truth.nonces.length >= 3);
    const partial = { ...truth, nonces: truth.nonces.filter((n) => n !== truth.nonces.find((x) => x !== truth.best.nonce)) };
    assert.equal(hashsearch.verifyHashsearch(spec, partial).ok, true, 'a partial answer passes the rehash');
    const wrong = provablyWrong(truth, partial);
    assert.equal(wrong.x, null);
    assert.match(wrong.y ?? '', /leaves it out/);
    assert.deepEqual(provablyWrong(truth, truth), { x: null, y: null });
  });
});

/** One hub per scenario, so that each starts with an empty queue. */
async function scenario(workers: number, opts: { spotCheckShare?: number; draw?: () => number } = {}) {
  const t = await startTestHub({
    hashsearchTaskCount: TASK,
    // Trusted after three tasks' worth of checked work (no waiting time in these tests).
    standing: { trustUnits: 3 * TASK, trustAgeMs: 0, spotCheckShare: opts.spotCheckShare ?? 0.5, maxStrikes: 3 },
    // The hub's own stretch check is tested apart; here a partial answer passes on its own.
    replication: { replicaTimeoutMs: 60_000, submitCheckNonces: 0 },
    random: opts.draw ?? (() => 0.99),
  });
  const url = t.hub.url;
  const customerKey = await t.hub.createCustomer('acme');
  const wallets = Array.from({ length: workers }, () => Wallet.createRandom());
  const tokens: string[] = [];
  for (const w of wallets) tokens.push(await signIn(url, w));
  const lease = async (token: string): Promise<HsTask | null> => {
    const r = await call(`${url}/v1/tasks/lease`, { token, body: { kinds: ['hashsearch'] } });
    if (r.status === 204) return null;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const task = LeaseResponseSchema.parse(r.body).task;
    assert.equal(task.kind, 'hashsearch');
    return task as HsTask;
  };
  const submit = (token: string, id: string, output: unknown) => call(`${url}/v1/tasks/${id}/result`, { token, body: { output } });
  const verdict = async (token: string, id: string, output: unknown) => {
    const r = await submit(token, id, output);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return ResultResponseSchema.parse(r.body);
  };
  const ledger = async (token: string) => EarningsResponseSchema.parse((await call(`${url}/v1/earnings`, { token })).body);
  const createJob = async (start: number, count: number) => {
    const r = await call(`${url}/v1/jobs`, { token: customerKey, body: { kind: 'hashsearch', header: HEADER, target: TARGET, start: String(start), count } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return JobCreatedSchema.parse(r.body);
  };
  const standing = async (i: number) =>
    (
      await t.hub.db.query<{ consecutive_valid: number; strikes: number; suspended_at: string | null }>(
        'SELECT consecutive_valid, strikes, suspended_at FROM workers WHERE address = ?',
        [wallets[i]!.address],
      )
    ).rows[0]!;
  /** The token of the worker the hub picked to check `taskId`'s waiting result. */
  const designee = async (taskId: string): Promise<string> => {
    const row = (await t.hub.db.query<{ replica_for: string | null }>('SELECT replica_for FROM tasks WHERE id = ?', [taskId])).rows[0]!;
    const i = wallets.findIndex((w) => w.address === row.replica_for);
    assert.ok(i >= 0, `task ${taskId} waits for a worker the hub picked (${row.replica_for})`);
    return tokens[i]!;
  };
  const jobStatus = async (id: string) => JobStatusSchema.parse((await call(`${url}/v1/jobs/${id}`, { token: customerKey })).body);
  const jobResult = (id: string) => call(`${url}/v1/jobs/${id}/result`, { token: customerKey });
  return { t, url, tokens, wallets, lease, submit, verdict, ledger, createJob, standing, designee, jobStatus, jobResult, close: () => t.close() };
}

const partialOf = (truth: HashsearchOutput): HashsearchOutput => {
  const dropped = truth.nonces.find((x) => x !== truth.best.nonce);
  assert.ok(dropped !== undefined, 'the range has a match besides best');
  return { ...truth, nonces: truth.nonces.filter((n) => n !== dropped) };
};

describe('hashsearch jobs with replication', () => {
  it('a new worker’s answer waits for a second worker; when they agree both are credited', async () => {
    const s = await scenario(3);
    try {
      const created = await s.createJob(0, 3 * TASK);
      // One range, carved into tasks of a new key's size (TASK) as workers lease it.
      assert.equal(created.tasks, 1);
      assert.equal(created.price, ((3n * BigInt(TASK) * DEFAULT_REWARD_PER_MHASH) / 1_000_000n).toString());
      const [w0, w1, w2] = s.tokens as [string, string, string];
      const task = await s.lease(w0);
      assert.ok(task);
      assert.deepEqual(task.params, { header: HEADER, target: TARGET, start: '0', count: TASK });
      assert.deepEqual(task.inputs, {});
      const r = await s.verdict(w0, task.id, solve(task));
      assert.equal(r.status, 'pending');
      assert.equal(r.credited, '0');
      assert.deepEqual(r.check, { method: 'replica' }, 'the receipt: waiting for another worker');
      const l = await s.ledger(w0);
      assert.deepEqual(
        l.entries.map((e) => [e.taskId, e.status, e.amount]),
        [[task.id, 'pending', task.reward]],
      );
      assert.deepEqual(l.balance, { pending: task.reward, verified: '0', paid: '0' });
      // Its author never gets it again, and cannot submit it twice.
      const next = await s.lease(w0);
      assert.equal(next?.params.start, String(TASK));
      const again = await s.submit(w0, task.id, solve(task));
      assert.equal(again.status, 409);
      assert.equal(errorOf(again).code, 'ALREADY_SUBMITTED');
      // The worker the hub picked (not whoever asks next) gets the waiting task, agrees, and both are credited.
      const picked = await s.designee(task.id);
      assert.notEqual(picked, w0);
      const other = picked === w1 ? w2 : w1;
      const third = await s.lease(other);
      assert.ok(third);
      assert.notEqual(third.id, task.id, 'a worker the hub did not pick does not get it');
      const replica = await s.lease(picked);
      assert.equal(replica?.id, task.id);
      const agreed = await s.verdict(picked, task.id, solve(replica!));
      assert.equal(agreed.status, 'accepted');
      assert.equal(agreed.credited, task.reward);
      for (const token of [w0, picked]) {
        const entries: EarningEntry[] = (await s.ledger(token)).entries;
        const e: EarningEntry | undefined = entries.find((x) => x.taskId === task.id);
        assert.deepEqual([e?.status, e?.amount, e?.check], ['verified', task.reward, { method: 'replica' }], 'credited because another worker agreed');
      }
      const late = await s.submit(other, task.id, solve(task));
      assert.equal(late.status, 409);
      assert.equal(errorOf(late).code, 'ALREADY_DONE');
      // Finish the job: every task needs two agreeing workers while nobody is trusted yet.
      for (const [token, t] of [[w0, next!], [other, third]] as const) {
        assert.equal((await s.verdict(token, t.id, solve(t))).status, 'pending');
        const checker = await s.designee(t.id);
        const b = await s.lease(checker);
        assert.equal(b?.id, t.id);
        assert.equal((await s.verdict(checker, b!.id, solve(b!))).status, 'accepted');
      }
      assert.equal((await s.jobStatus(created.id)).status, 'done');
      const all = hashsearch.hashsearchReference({ header: HEADER, target: TARGET, start: 0n, count: 3 * TASK });
      const result = await s.jobResult(created.id);
      assert.equal(result.status, 200);
      assert.deepEqual(result.body, { nonces: all.nonces.map(String) }, 'every matching nonce, ascending');
    } finally {
      await s.close();
    }
  });

  it('rejects a failed rehash at once, and a partial answer as soon as a replica differs', async () => {
    const s = await scenario(4);
    try {
      const [cheater, h1, h2, h3] = s.tokens as [string, string, string, string];
      const job = await s.createJob(0, TASK);
      const task = await s.lease(cheater);
      assert.ok(task);
      const truth = solve(task);
      // Random output: a claimed nonce that does not hash under the target.
      const notAMatch = Array.from({ length: TASK }, (_, i) => i).find((i) => !truth.nonces.includes(String(i)))!;
      const r1 = await s.verdict(cheater, task.id, { ...truth, nonces: [...truth.nonces, String(notAMatch)].sort((a, b) => Number(a) - Number(b)) });
      assert.equal(r1.status, 'rejected');
      assert.match(r1.reason ?? '', /above the target/);
      assert.deepEqual(r1.check, { method: 'rehash', nonces: 0 });
      const rejectedEntry = (await s.ledger(cheater)).entries.find((e) => e.taskId === task.id);
      assert.deepEqual([rejectedEntry?.status, rejectedEntry?.reason, rejectedEntry?.check], ['rejected', r1.reason, { method: 'rehash', nonces: 0 }], 'the ledger keeps the reason');
      assert.equal(errorOf(await s.submit(cheater, task.id, truth)).code, 'ALREADY_SUBMITTED', 'no second try on the same task');

      // A partial answer passes the rehash, so it waits for a replica...
      await s.createJob(TASK, TASK);
      const t2 = await s.lease(h1);
      assert.equal(t2?.id, task.id, 'the rejected task comes back first');
      assert.equal((await s.verdict(h1, t2!.id, truth)).status, 'pending');
      assert.ok([h2, h3].includes(await s.designee(task.id)), 'never the cheater it rejected, nor its author');
      const t3 = await s.lease(cheater);
      assert.ok(t3);
      const truth3 = solve(t3);
      assert.equal((await s.verdict(cheater, t3.id, partialOf(truth3))).status, 'pending');
      // ...and an honest replica proves it wrong: the cheater's entry becomes rejected with 0.
      const c1 = await s.designee(task.id);
      assert.equal((await s.lease(c1))?.id, task.id);
      assert.equal((await s.verdict(c1, task.id, truth)).status, 'accepted');
      const c3 = await s.designee(t3.id);
      assert.equal((await s.lease(c3))?.id, t3.id);
      assert.equal((await s.verdict(c3, t3.id, truth3)).status, 'pending', 'the honest answer now waits for its own replica');
      const cheaterLedger = await s.ledger(cheater);
      assert.deepEqual(cheaterLedger.balance, { pending: '0', verified: '0', paid: '0' });
      assert.deepEqual(
        cheaterLedger.entries.map((e) => [e.status, e.amount, e.check?.method]),
        [
          ['rejected', '0', 'rehash'],
          ['rejected', '0', 'replica'],
        ],
      );
      assert.match(cheaterLedger.entries[1]!.reason ?? '', /another worker found nonce .* leaves it out/, 'a replica proved it wrong, in plain words');
      const c4 = await s.designee(t3.id);
      assert.notEqual(c4, c3);
      assert.notEqual(c4, cheater);
      assert.equal((await s.lease(c4))?.id, t3.id);
      assert.equal((await s.verdict(c4, t3.id, truth3)).status, 'accepted');
      assert.equal((await s.jobStatus(job.id)).status, 'done');
      assert.equal((await s.standing(0)).strikes, 2);

      // A third rejection cuts the cheater off.
      await s.createJob(2 * TASK, TASK);
      const t4 = await s.lease(cheater);
      assert.ok(t4);
      const r5 = await s.verdict(cheater, t4.id, { nonces: [], best: { nonce: t4.params.start, hash: '0'.repeat(64) } });
      assert.equal(r5.status, 'rejected');
      assert.ok((await s.standing(0)).suspended_at, 'three strikes');
      const refused = await call(`${s.url}/v1/tasks/lease`, { token: cheater, body: { kinds: ['hashsearch'] } });
      assert.equal(refused.status, 403);
      assert.equal(errorOf(refused).code, 'WORKER_SUSPENDED');
      assert.deepEqual((await s.ledger(cheater)).balance, { pending: '0', verified: '0', paid: '0' });
    } finally {
      await s.close();
    }
  });

  it('lets trusted workers stand alone, except for a random share of spot checks', async () => {
    let draw = 0.99;
    const s = await scenario(2, { spotCheckShare: 0.5, draw: () => draw });
    try {
      const [a, b] = s.tokens as [string, string];
      await s.createJob(0, 8 * TASK);
      // Three agreements in a row make both trusted (trustAfter 3).
      for (let i = 0; i < 3; i++) {
        const x = await s.lease(a);
        assert.equal((await s.verdict(a, x!.id, solve(x!))).status, 'pending');
        const y = await s.lease(b);
        assert.equal((await s.verdict(b, y!.id, solve(y!))).status, 'accepted');
      }
      assert.equal((await s.standing(0)).consecutive_valid, 3);
      const alone = await s.lease(a);
      const aloneVerdict = await s.verdict(a, alone!.id, solve(alone!));
      assert.equal(aloneVerdict.status, 'accepted', 'trusted and not drawn: accepted alone');
      assert.deepEqual(aloneVerdict.check, { method: 'rehash', nonces: 0 }, 'every nonce rehashed (this hub hashes no stretch of its own: submitCheckNonces 0)');
      draw = 0.1;
      const spot = await s.lease(a);
      assert.equal((await s.verdict(a, spot!.id, solve(spot!))).status, 'pending', 'drawn for a spot check');
      const check = await s.lease(b);
      assert.equal(check?.id, spot?.id);
      assert.equal((await s.verdict(b, check!.id, solve(check!))).status, 'accepted');
    } finally {
      await s.close();
    }
  });

  it('settles a lone worker’s result itself when no replica comes in time', async () => {
    const s = await scenario(1);
    try {
      const [lone] = s.tokens as [string];
      const job = await s.createJob(0, TASK);
      const task = await s.lease(lone);
      assert.ok(task);
      assert.equal((await s.verdict(lone, task.id, solve(task))).status, 'pending');
      assert.equal(await s.t.hub.checkOverdueReplicas(), 0, 'not yet overdue');
      s.t.clock.advance(60_001);
      assert.equal(await s.t.hub.checkOverdueReplicas(), 1);
      const spotChecked = (await s.ledger(lone)).entries.find((e) => e.taskId === task.id);
      assert.deepEqual([spotChecked?.status, spotChecked?.check?.method], ['verified', 'spot-check']);
      assert.equal((await s.jobStatus(job.id)).status, 'done');
      // A lone partial answer is caught the same way.
      await s.createJob(TASK, TASK);
      const t2 = await s.lease(lone);
      assert.equal((await s.verdict(lone, t2!.id, partialOf(solve(t2!)))).status, 'pending');
      s.t.clock.advance(60_001);
      assert.equal(await s.t.hub.checkOverdueReplicas(), 1);
      const entry = (await s.ledger(lone)).entries.find((e) => e.taskId === t2!.id);
      assert.deepEqual([entry?.status, entry?.amount, entry?.check?.method], ['rejected', '0', 'spot-check']);
      assert.match(entry?.reason ?? '', /the hub's own search found nonce/);
      assert.equal((await s.standing(0)).strikes, 1);
    } finally {
      await s.close();
    }
  });

  it('refuses a target so easy that a task could not list its matches (400)', async () => {
    const other = await startTestHub();
    try {
      const key = await other.hub.createCustomer('c');
      const r = await call(`${other.hub.url}/v1/jobs`, { token: key, body: { kind: 'hashsearch', header: HEADER, target: 'f'.repeat(64), start: '0', count: 2 ** 20 } });
      assert.equal(r.status, 400);
      assert.match(errorOf(r).message, /too easy/);
    } finally {
      await other.close();
    }
  });
});
