/**
 * Trust under attack, against a real hub on 127.0.0.1: each test is an attack that must earn
 * nothing, or a rule that keeps honest workers whole.
 * Workers appear to come from different networks through X-Forwarded-For, which this hub
 * believes from 127.0.0.1 (its trusted proxy).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { EarningsResponseSchema, JobStatusSchema, LeaseResponseSchema, ResultResponseSchema, f32ToBase64, type HashsearchOutput, type Task } from '../protocol/index.js';
import { hashsearch } from '../kernels/index.js';
import { originOf, sameOperator, DEFAULT_REPLICA_POLICY } from './replica-assign.js';
import { call, errorOf, matmulJobBody, signIn, solveHashsearch, startTestHub, type TestHub } from './testkit.js';
import type { HubOptions } from './server.js';

const HEADER = 'a11ce0b0b0a11ce0b0b0a11ce0b0b0a11ce0b0b0';
/** 9 leading zero bits: about 8 matches in 4096 nonces. */
const TARGET = `007${'f'.repeat(61)}`;
const TASK = 4096;

type HsTask = Extract<Task, { kind: 'hashsearch' }>;

const solve = solveHashsearch;
/** A result made up with one hash instead of a search: no nonces, best = the first nonce. */
function madeUp(task: HsTask): HashsearchOutput {
  const first = BigInt(task.params.start);
  const r = hashsearch.hashsearchReference({ ...task.params, start: first, count: 1 });
  return { nonces: [], best: { nonce: String(first), hash: r.best.hash } };
}
/** An answer that leaves out one match (not best): it passes every check on its own. */
function partial(task: HsTask, outside?: { from: bigint; to: bigint }): HashsearchOutput {
  const truth = solve(task);
  const dropped = truth.nonces.find((n) => n !== truth.best.nonce && (!outside || BigInt(n) < outside.from || BigInt(n) >= outside.to));
  assert.ok(dropped !== undefined, 'the range has a match to leave out');
  return { ...truth, nonces: truth.nonces.filter((n) => n !== dropped) };
}

interface Actor {
  wallet: ReturnType<typeof Wallet.createRandom>;
  token: string;
  ip: string;
}

async function network(opts: Partial<HubOptions> = {}) {
  const t: TestHub = await startTestHub({
    hashsearchTaskCount: TASK,
    trustProxy: '127.0.0.1',
    customerStartingBalance: 10n ** 30n,
    ...opts,
    replicaPolicy: { loopbackDistinct: false, ...opts.replicaPolicy },
  });
  const url = t.hub.url;
  const customerKey = await t.hub.createCustomer('acme');
  const actor = async (ip: string, wallet = Wallet.createRandom()): Promise<Actor> => ({ wallet, ip, token: await signIn(url, wallet, { 'x-forwarded-for': ip }) });
  const as = (a: Actor) => ({ token: a.token, headers: { 'x-forwarded-for': a.ip } });
  const leaseReply = (a: Actor, kinds: string[] = ['hashsearch', 'matmul']) => call(`${url}/v1/tasks/lease`, { ...as(a), body: { kinds } });
  const lease = async (a: Actor, kinds?: string[]): Promise<Task | null> => {
    const r = await leaseReply(a, kinds);
    if (r.status === 204) return null;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return LeaseResponseSchema.parse(r.body).task;
  };
  const leaseHs = async (a: Actor): Promise<HsTask> => {
    const task = await lease(a, ['hashsearch']);
    assert.ok(task && task.kind === 'hashsearch', 'a hashsearch task');
    return task;
  };
  const verdict = async (a: Actor, id: string, output: unknown) => {
    const r = await call(`${url}/v1/tasks/${id}/result`, { ...as(a), body: { output } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return ResultResponseSchema.parse(r.body);
  };
  const ledger = async (a: Actor) => EarningsResponseSchema.parse((await call(`${url}/v1/earnings?limit=1000`, as(a))).body);
  const job = async (body: unknown) => {
    const r = await call(`${url}/v1/jobs`, { token: customerKey, body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string; tasks: number };
  };
  const hsJob = (start: number, count: number) => job({ kind: 'hashsearch', header: HEADER, target: TARGET, start: String(start), count });
  const jobStatus = async (id: string) => JobStatusSchema.parse((await call(`${url}/v1/jobs/${id}`, { token: customerKey })).body);
  const replicaFor = async (taskId: string): Promise<string | null> =>
    (await t.hub.db.query<{ replica_for: string | null }>('SELECT replica_for FROM tasks WHERE id = ?', [taskId])).rows[0]!.replica_for;
  const worker = async (a: Actor): Promise<Record<string, number | string | null>> =>
    (await t.hub.db.query<Record<string, number | string | null>>('SELECT strikes, tasks_rejected, suspended_at, lease_penalty FROM workers WHERE address = ?', [a.wallet.address])).rows[0]!;
  return { t, url, customerKey, actor, lease, leaseReply, leaseHs, verdict, ledger, job, hsJob, jobStatus, replicaFor, worker, close: () => t.close() };
}

describe('paid for work never done', () => {
  it('a made-up hashsearch result (one hash, not a search) from two keys is refused at once, and neither earns', async () => {
    const n = await network();
    try {
      const [a, b] = [await n.actor('203.0.113.10'), await n.actor('198.51.100.20')];
      await n.hsJob(0, TASK);
      const task = await n.leaseHs(a);
      const fake = madeUp(task);
      const r = await n.verdict(a, task.id, fake);
      assert.equal(r.status, 'rejected');
      assert.match(r.reason ?? '', /too high for a search of 4096 nonces/);
      // The second key cannot "agree": the task is never its replica, and its own fake fails the same way.
      assert.equal(await n.replicaFor(task.id), null);
      const again = await n.leaseHs(b);
      assert.equal((await n.verdict(b, again.id, madeUp(again))).status, 'rejected');
      for (const x of [a, b]) assert.deepEqual((await n.ledger(x)).balance, { pending: '0', verified: '0', paid: '0' });
      assert.equal((await n.worker(a)).strikes, 1, 'the hub is sure: a strike');
    } finally {
      await n.close();
    }
  });

  it('the best-hash bound: refuses a best an honest search meets but once in 10⁹, never an honest one', () => {
    const spec = { header: HEADER, target: TARGET, start: 0n, count: TASK };
    const truth = hashsearch.hashsearchReference(spec);
    assert.equal(hashsearch.verifyHashsearch(spec, truth).ok, true);
    assert.equal(hashsearch.bestBound(TASK), (21n << 256n) / 4096n);
    assert.equal(hashsearch.bestBound(10), (1n << 256n) - 1n, 'a tiny range has no bound');
    // 200 honest searches of other ranges all pass.
    for (let i = 1; i <= 200; i++) {
      const s = { ...spec, start: BigInt(i * 4096), count: 256 };
      assert.equal(hashsearch.verifyHashsearch(s, hashsearch.hashsearchReference(s)).ok, true);
    }
  });

  it('a replica goes to a worker the hub picks, never to a key of the same operator', async () => {
    // The partial answer must reach replication: the hub's own stretch check is tested below.
    const n = await network({ replication: { submitCheckNonces: 0 } });
    try {
      // One person's keys: the same /24, the same /64, the same payout address.
      const a = await n.actor('203.0.113.10');
      const sameNet = await n.actor('203.0.113.77');
      const payoutTwin = await n.actor('192.0.2.50');
      const reg = await call(`${n.url}/v1/workers/payout-address`, { token: payoutTwin.token, headers: { 'x-forwarded-for': payoutTwin.ip }, body: { address: a.wallet.address } });
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      const honest = await n.actor('198.51.100.20');
      await n.hsJob(0, TASK);
      const task = await n.leaseHs(a);
      assert.equal((await n.verdict(a, task.id, partial(task))).status, 'pending');
      assert.equal(await n.replicaFor(task.id), honest.wallet.address, 'the only worker of another operator');
      // The operator's other keys ask at once, and do not get it.
      assert.equal(await n.lease(sameNet, ['hashsearch']), null);
      assert.equal(await n.lease(payoutTwin, ['hashsearch']), null);
      const check = await n.leaseHs(honest);
      assert.equal(check.id, task.id);
      assert.equal((await n.verdict(honest, check.id, solve(check))).status, 'pending', 'it proves the first wrong and waits for its own check');
      assert.deepEqual((await n.ledger(a)).balance, { pending: '0', verified: '0', paid: '0' });
    } finally {
      await n.close();
    }
  });

  it('the operator rules: networks, payout addresses, keys first seen together', () => {
    assert.equal(originOf('203.0.113.77', false), '203.0.113.0/24');
    assert.equal(originOf('::ffff:203.0.113.77', false), '203.0.113.0/24');
    assert.equal(originOf('2001:db8:1:2:3:4:5:6', false), '2001:db8:1:2::/64');
    assert.equal(originOf('2001:db8::1', false), '2001:db8:0:0::/64');
    assert.equal(originOf('127.0.0.1', false), '127.0.0.0/24');
    assert.equal(originOf('127.0.0.1', true), null, 'loopback distinct: devnet and tests only');
    const w = (address: string, origin: string | null, firstOrigin: string | null, firstSeen: string, payout = address) => ({ address, origin, first_origin: firstOrigin, first_seen: firstSeen, payout });
    const p = DEFAULT_REPLICA_POLICY;
    const t0 = '2026-12-07T10:00:00.000Z';
    assert.equal(sameOperator(p, w('0xa', '1.2.3.0/24', '1.2.3.0/24', t0), w('0xb', '5.6.7.0/24', '5.6.7.0/24', t0)), false);
    assert.equal(sameOperator(p, w('0xa', '1.2.3.0/24', null, t0), w('0xb', '1.2.3.0/24', null, t0)), true);
    assert.equal(sameOperator(p, w('0xa', null, null, t0, '0xp'), w('0xb', null, null, t0, '0xP')), true);
    // Two keys first seen from one network within minutes, one of them moved since.
    assert.equal(sameOperator(p, w('0xa', '9.9.9.0/24', '1.2.3.0/24', t0), w('0xb', '5.6.7.0/24', '1.2.3.0/24', '2026-12-07T10:04:00.000Z')), true);
    assert.equal(sameOperator(p, w('0xa', '9.9.9.0/24', '1.2.3.0/24', t0), w('0xb', '5.6.7.0/24', '1.2.3.0/24', '2026-12-08T10:04:00.000Z')), false);
  });

  it('agreement does not buy trust: after ten agreements a key still needs a second worker; checked work over a day does', async () => {
    const n = await network({ standing: { trustUnits: 10 * TASK, spotCheckShare: 0 } });
    try {
      const [a, b] = [await n.actor('203.0.113.10'), await n.actor('198.51.100.20')];
      await n.hsJob(0, 12 * TASK);
      for (let i = 0; i < 10; i++) {
        const x = await n.leaseHs(a);
        assert.equal((await n.verdict(a, x.id, solve(x))).status, 'pending');
        const y = await n.leaseHs(b);
        assert.equal(y.id, x.id);
        assert.equal((await n.verdict(b, y.id, solve(y))).status, 'accepted');
      }
      const eleventh = await n.leaseHs(a);
      assert.equal((await n.verdict(a, eleventh.id, solve(eleventh))).status, 'pending', 'ten agreements in a minute are not trust');
      const y = await n.leaseHs(b);
      assert.equal((await n.verdict(b, y.id, solve(y))).status, 'accepted');
      n.t.clock.advance(24 * 3600_000 + 1);
      a.token = await signIn(n.url, a.wallet, { 'x-forwarded-for': a.ip });
      const later = await n.leaseHs(a);
      assert.equal((await n.verdict(a, later.id, solve(later))).status, 'accepted', 'a day after its first checked work: trusted');
    } finally {
      await n.close();
    }
  });

  it("credit accepted alone is held, and taken back before payout when a later check proves it wrong", async () => {
    const n = await network({ standing: { trustUnits: 2 * TASK, trustAgeMs: 0, spotCheckShare: 0 }, replication: { submitCheckNonces: 0, selfCheckNonces: TASK } });
    try {
      const [a, b] = [await n.actor('203.0.113.10'), await n.actor('198.51.100.20')];
      const created = await n.hsJob(0, 3 * TASK);
      for (let i = 0; i < 2; i++) {
        const x = await n.leaseHs(a);
        assert.equal((await n.verdict(a, x.id, solve(x))).status, 'pending');
        const y = await n.leaseHs(b);
        assert.equal((await n.verdict(b, y.id, solve(y))).status, 'accepted');
      }
      // Trusted now, it cheats alone: accepted, but held.
      const last = await n.leaseHs(a);
      const cheat = await n.verdict(a, last.id, partial(last));
      assert.equal(cheat.status, 'accepted');
      const held = (await n.t.hub.db.query<{ alone: number; held_until: string }>('SELECT alone, held_until FROM earnings WHERE id = ?', [Number(cheat.entryId)])).rows[0]!;
      assert.equal(held.alone, 1);
      assert.ok(Date.parse(held.held_until) > n.t.clock.now(), 'not payable yet');
      assert.equal((await n.jobStatus(created.id)).status, 'done');
      // The hub's later check (a whole search here: the range is small) finds it out.
      await n.t.hub.checkOverdueReplicas();
      const entry = (await n.ledger(a)).entries.find((e) => e.taskId === last.id);
      assert.deepEqual([entry?.status, entry?.amount], ['rejected', '0'], 'the credit is taken back');
      assert.match(entry?.reason ?? '', /^taken back: a later check proved this worker wrong/, 'the receipt says why');
      assert.equal(entry?.check?.method, 'rehash', 'the check it was first credited on');
      assert.equal((await n.worker(a)).strikes, 1);
      const status = await n.jobStatus(created.id);
      assert.equal(status.status, 'running', 'the task is done again');
      assert.deepEqual(status.progress, { done: 2, total: 3 });
      const redo = await n.leaseHs(b);
      assert.equal(redo.id, last.id);
    } finally {
      await n.close();
    }
  });

  it('the hub hashes a random stretch of every range itself: a result leaving out a match there is refused at once', async () => {
    // random() = 0: the stretch is the range's first 1024 nonces.
    const n = await network({ random: () => 0 });
    try {
      const a = await n.actor('203.0.113.10');
      await n.hsJob(0, TASK);
      const task = await n.leaseHs(a);
      const truth = solve(task);
      const inStretch = truth.nonces.find((x) => BigInt(x) < 1024n && x !== truth.best.nonce);
      assert.ok(inStretch, 'a match in the first 1024 nonces');
      const r = await n.verdict(a, task.id, { ...truth, nonces: truth.nonces.filter((x) => x !== inStretch) });
      assert.equal(r.status, 'rejected');
      assert.match(r.reason ?? '', /hub's own search found nonce/);
    } finally {
      await n.close();
    }
  });
});

describe('new keys and hoarders', () => {
  it('a fresh key holds three leases, three results waiting and a capped balance; a swarm of them gets little', async () => {
    // One hashsearch task of 4096 hashes pays 0.004096 token.
    const n = await network({ standing: { newKey: { pending: 3 } } });
    try {
      await n.hsJob(0, 80 * TASK);
      await n.job(matmulJobBody(8, 8, 8, 1).body);
      const a = await n.actor('203.0.113.10');
      const held = [await n.leaseHs(a), await n.leaseHs(a), await n.leaseHs(a)];
      const fourth204 = await n.leaseReply(a);
      assert.equal(fourth204.status, 204, 'a fourth lease: 204');
      assert.equal(fourth204.headers.get('idleforge-no-work'), 'this worker already holds 3 tasks, its limit for now', 'and why, for its owner');
      for (const t of held) assert.equal((await n.verdict(a, t.id, solve(t))).status, 'pending');
      // Three results wait for a second worker: no more of a kind that needs one; matmul, checked alone, still.
      assert.equal(await n.lease(a, ['hashsearch']), null, 'three results waiting');
      const m = await n.lease(a, ['hashsearch', 'matmul']);
      assert.equal(m?.kind, 'matmul');
      // Twenty fresh keys from twenty networks hold at most three leases each.
      let leases = 0;
      for (let i = 0; i < 20; i++) {
        const k = await n.actor(`10.${i}.0.1`);
        while ((await n.lease(k, ['hashsearch'])) !== null) leases++;
      }
      assert.equal(leases, 60);
    } finally {
      await n.close();
    }
    // A fresh key owed its limit (two results pending, 0.0082 token, over 0.005 here): no task at all.
    const small = await network({ standing: { newKey: { unpaid: 5n * 10n ** 15n } } });
    try {
      await small.hsJob(0, 8 * TASK);
      await small.job(matmulJobBody(8, 8, 8, 1).body);
      const b = await small.actor('198.51.100.20');
      for (let i = 0; i < 2; i++) {
        const t = await small.leaseHs(b);
        assert.equal((await small.verdict(b, t.id, solve(t))).status, 'pending');
      }
      assert.equal((await small.leaseReply(b)).status, 204);
    } finally {
      await small.close();
    }
  });

  it('one worker cannot hoard the queue: it holds at most its cap; a lapsed lease lowers the cap and is never a strike', async () => {
    const n = await network({ standing: { newKey: { checkedTasks: 0 } }, leaseSeconds: 60 });
    try {
      for (let i = 0; i < 40; i++) await n.job(matmulJobBody(4, 4, 4, i + 1).body);
      const hoarder = await n.actor('203.0.113.10');
      let held = 0;
      while ((await n.lease(hoarder, ['matmul'])) !== null) held++;
      assert.equal(held, 8, 'the cap, not 40');
      const other = await n.actor('198.51.100.20');
      assert.ok(await n.lease(other, ['matmul']), 'another worker still gets work');
      n.t.clock.advance(60_001);
      assert.ok(await n.lease(other, ['matmul']));
      const h = await n.worker(hoarder);
      assert.deepEqual({ strikes: h.strikes, penalty: h.lease_penalty }, { strikes: 0, penalty: 8 });
      held = 0;
      while ((await n.lease(hoarder, ['matmul'])) !== null) held++;
      assert.equal(held, 1, 'eight lapses: down to one lease');
    } finally {
      await n.close();
    }
  });

  it('holds a worker to its cap when it asks for 40 leases at once', async () => {
    // The worker's row, locked first by each lease, keeps two leases at once from both reading
    // its standing before the other's claim.
    const n = await network({ standing: { newKey: { checkedTasks: 0 } }, leaseSeconds: 60 });
    try {
      for (let i = 0; i < 40; i++) await n.job(matmulJobBody(4, 4, 4, i + 1).body);
      const hoarder = await n.actor('203.0.113.11');
      const got = await Promise.all(Array.from({ length: 40 }, () => n.lease(hoarder, ['matmul'])));
      assert.equal(got.filter((t) => t !== null).length, 8, 'the cap, not 40');
      assert.equal((await n.t.hub.db.query<{ n: number }>("SELECT count(*) AS n FROM tasks WHERE status = 'leased'")).rows[0]!.n, 8, 'no claim past the cap stayed');
      const other = await n.actor('198.51.100.21');
      assert.ok(await n.lease(other, ['matmul']), 'the claims undone went back to the queue');
    } finally {
      await n.close();
    }
  });
});

describe('honest workers cut off by a customer', () => {
  it('refuses matmul jobs whose products leave f32’s normal range (400), before any worker is wrongly struck', async () => {
    const n = await network();
    try {
      for (const v of [1e-30, 1e20]) {
        const body = { kind: 'matmul', m: 8, n: 8, k: 8, a: f32ToBase64(new Float32Array(64).fill(v)), b: f32ToBase64(new Float32Array(64).fill(v)) };
        const r = await call(`${n.url}/v1/jobs`, { token: n.customerKey, body });
        assert.equal(r.status, 400, `entries of ${v}`);
        assert.equal(errorOf(r).code, 'OUT_OF_F32_RANGE');
        assert.match(errorOf(r).message, /f32/);
      }
      assert.equal((await call(`${n.url}/v1/jobs`, { token: n.customerKey, body: matmulJobBody(8, 8, 8, 1).body })).status, 201, 'ordinary inputs are fine');
    } finally {
      await n.close();
    }
  });

  it('three fresh keys answering wrong cannot fail a customer’s job: it waits for an honest answer', async () => {
    const n = await network();
    try {
      const created = await n.job(matmulJobBody(4, 4, 4, 9).body);
      for (const ip of ['203.0.113.10', '198.51.100.20', '192.0.2.30']) {
        const w = await n.actor(ip);
        const t = await n.lease(w, ['matmul']);
        assert.ok(t);
        assert.equal((await n.verdict(w, t.id, { c: f32ToBase64(new Float32Array(16).fill(7)) })).status, 'rejected');
      }
      assert.equal((await n.jobStatus(created.id)).status, 'running');
      assert.ok(await n.lease(await n.actor('100.64.0.1'), ['matmul']), 'the task is still there for another worker');
    } finally {
      await n.close();
    }
  });

  it('a task no answer passes for three established workers fails the job, not the workers; it never goes back to a worker it rejected', async () => {
    const n = await network({ standing: { newKey: { checkedTasks: 0 } } });
    try {
      const created = await n.job(matmulJobBody(4, 4, 4, 9).body);
      const workers = [await n.actor('203.0.113.10'), await n.actor('198.51.100.20'), await n.actor('192.0.2.30')];
      let taskId: string | null = null;
      for (const w of workers) {
        const t = await n.lease(w, ['matmul']);
        assert.ok(t);
        taskId ??= t.id;
        assert.equal(t.id, taskId);
        assert.equal((await n.verdict(w, t.id, { c: f32ToBase64(new Float32Array(16).fill(7)) })).status, 'rejected');
        assert.equal(await n.lease(w, ['matmul']), null, 'never again for a worker it rejected');
      }
      assert.equal((await n.jobStatus(created.id)).status, 'failed');
      for (const w of workers) {
        const s = await n.worker(w);
        assert.deepEqual({ strikes: s.strikes, suspended: s.suspended_at }, { strikes: 0, suspended: null });
      }
      assert.equal(await n.lease(await n.actor('100.64.0.1'), ['matmul']), null, 'a failed job leases nothing');
    } finally {
      await n.close();
    }
  });
});
