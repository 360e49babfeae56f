/**
 * Tasks sized to the card (hub/sizing.ts, migration 11), against a real hub on 127.0.0.1 and a
 * real PostgreSQL: workers that answer at different simulated rates (the hub's clock advanced by
 * each task's nonces over the worker's rate between its lease and its result) get tasks of
 * different sizes carved from one job's range; a key with no observed rate gets at most the
 * new-key size, whatever its benchmark claims; a replica goes only to a worker fast enough for
 * its range; and the job still completes with every nonce, each task credited once per quorum,
 * the customer charged exactly its price.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { JobCreatedSchema, JobStatusSchema, LeaseResponseSchema, ResultResponseSchema, type Task } from '../protocol/index.js';
import { hashsearch } from '../kernels/index.js';
import { MIN_CARVED_UNITS, REPLICA_SLACK, rateOf, sizeFor } from './sizing.js';
import { call, signIn, solveHashsearch, startTestHub, TEST_CUSTOMER_BALANCE } from './testkit.js';

const HEADER = 'a11ce0b0b0a11ce0b0b0a11ce0b0b0a11ce0b0b0';
/** 9 leading zero bits: about one match in 512 nonces. */
const TARGET = `007${'f'.repeat(61)}`;
/** Nonces in a task for a key with no observed rate (the hub's `hashsearchTaskCount`). */
const NEW_KEY = 8192;
const JOB = 2 ** 18;

type HsTask = Extract<Task, { kind: 'hashsearch' }>;

interface Sim {
  name: string;
  wallet: ReturnType<typeof Wallet.createRandom>;
  token: string;
  /** Nonces a second it "hashes": the hub's clock moves by a task's nonces over this. */
  rate: number;
  /** MH/s its heartbeat claims. */
  benchmark?: number;
}

describe('tasks sized to the card', () => {
  it('carves each worker’s tasks from its observed rate, caps new keys, sends replicas only to comparable workers, and completes the job once', async () => {
    const t = await startTestHub({
      hashsearchTaskCount: NEW_KEY,
      // Trusted after two new-key tasks of checked work, never drawn for spot checks: the replica
      // rule is exercised while the workers are new, and the rest of the job runs alone.
      standing: { trustUnits: 2 * NEW_KEY, trustAgeMs: 0, spotCheckShare: 0 },
      replication: { replicaTimeoutMs: 3_600_000, submitCheckNonces: 0 },
    });
    try {
      const url = t.hub.url;
      const customer = await t.hub.createCustomer('acme');
      const sim = async (name: string, rate: number, benchmark?: number): Promise<Sim> => {
        const wallet = Wallet.createRandom();
        const token = await signIn(url, wallet);
        const body = { appVersion: '0.1.0', state: 'working', gpus: [], ...(benchmark === undefined ? {} : { benchmark: { mhs: benchmark } }) };
        assert.equal((await call(`${url}/v1/workers/heartbeat`, { token, body })).status, 200);
        return { name, wallet, token, rate, benchmark };
      };
      // Slow: a software GPU at 1,024 nonces a second that claims 6,000. Fast: 32,768 a second, one claiming 1 MH/s.
      const slow = await sim('slow', 1024, 0.006);
      const fast = await sim('fast', 32_768, 1);
      const fast2 = await sim('fast2', 32_768);
      const workers = [slow, fast, fast2];
      const byAddress = new Map(workers.map((w) => [w.wallet.address, w]));

      // Before any result: the size comes from the benchmark, at most the new-key size.
      assert.equal(await sizeFor(t.hub.db, slow.wallet.address, 'hashsearch', { newKeyUnits: NEW_KEY, maxUnits: 2 ** 32 }), 6000);
      assert.equal(await sizeFor(t.hub.db, fast.wallet.address, 'hashsearch', { newKeyUnits: NEW_KEY, maxUnits: 2 ** 32 }), NEW_KEY, 'a claimed 1 MH/s buys nothing yet');
      assert.equal(await sizeFor(t.hub.db, fast2.wallet.address, 'hashsearch', { newKeyUnits: NEW_KEY, maxUnits: 2 ** 32 }), NEW_KEY, 'no benchmark: the new-key size');

      const created = await call(`${url}/v1/jobs`, { token: customer, body: { kind: 'hashsearch', header: HEADER, target: TARGET, start: '0', count: JOB } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const job = JobCreatedSchema.parse(created.body);
      assert.equal(job.tasks, 1, 'one range at submit');

      const lease = async (w: Sim): Promise<HsTask | null> => {
        const r = await call(`${url}/v1/tasks/lease`, { token: w.token, body: { kinds: ['hashsearch'] } });
        if (r.status === 204) return null;
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return LeaseResponseSchema.parse(r.body).task as HsTask;
      };
      const answered = new Set<string>();
      const fresh = new Map<string, number[]>(workers.map((w) => [w.name, []]));
      /** Leases, "works" for count / rate seconds of the hub's clock, submits an honest answer. */
      const step = async (w: Sim): Promise<boolean> => {
        const task = await lease(w);
        if (!task) return false;
        if (!answered.has(task.id)) fresh.get(w.name)!.push(task.params.count);
        t.clock.advance(Math.ceil((task.params.count * 1000) / w.rate));
        const r = await call(`${url}/v1/tasks/${task.id}/result`, { token: w.token, body: { output: solveHashsearch(task) } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const verdict = ResultResponseSchema.parse(r.body);
        assert.notEqual(verdict.status, 'rejected');
        answered.add(task.id);
        if (verdict.status === 'pending') {
          // The replica rule: whoever the hub picked could search this range within REPLICA_SLACK seconds at its rate.
          const row = (await t.hub.db.query<{ replica_for: string | null }>('SELECT replica_for FROM tasks WHERE id = ?', [task.id])).rows[0]!;
          if (row.replica_for !== null) {
            const picked = byAddress.get(row.replica_for)!;
            const known = await rateOf(t.hub.db, picked.wallet.address, 'hashsearch');
            const rate = known?.rate ?? known?.benchmarkRate ?? NEW_KEY;
            assert.ok(rate * REPLICA_SLACK >= task.params.count, `${picked.name} (${rate}/s) picked for ${task.params.count} nonces`);
          }
        }
        return true;
      };

      // The slow worker first: its task is its benchmark's size; after it, it is known to be slow.
      assert.equal(await step(slow), true);
      assert.deepEqual(fresh.get('slow'), [6000]);
      assert.ok(Math.abs((await rateOf(t.hub.db, slow.wallet.address, 'hashsearch'))!.rate! - 1024) < 1);
      // A fast worker the hub did not pick to check the slow one's answer (so with no result yet)
      // gets the new-key size; its replica cannot go to the slow worker (8,192 nonces take it 8 s),
      // so it goes to the other fast one.
      const slowTask = [...answered][0]!;
      const checker = (await t.hub.db.query<{ replica_for: string | null }>('SELECT replica_for FROM tasks WHERE id = ?', [slowTask])).rows[0]!.replica_for;
      const [first, other] = checker === fast.wallet.address ? [fast2, fast] : [fast, fast2];
      assert.equal(await step(first), true);
      assert.deepEqual(fresh.get(first.name), [NEW_KEY]);
      const firstFast = [...answered].at(-1)!;
      const designee = (await t.hub.db.query<{ replica_for: string | null }>('SELECT replica_for FROM tasks WHERE id = ?', [firstFast])).rows[0]!.replica_for;
      assert.equal(designee, other.wallet.address);

      for (let round = 0; round < 200; round++) {
        let any = false;
        for (const w of workers) any = (await step(w)) || any;
        const status = JobStatusSchema.parse((await call(`${url}/v1/jobs/${job.id}`, { token: customer })).body);
        if (status.status === 'done') break;
        assert.ok(any || round < 199, 'someone had work while the job was open');
      }
      const status = JobStatusSchema.parse((await call(`${url}/v1/jobs/${job.id}`, { token: customer })).body);
      assert.equal(status.status, 'done');
      assert.equal(status.progress.done, status.progress.total, 'progress counts the tasks carved');

      // Sized apart: after its first task the slow worker got the smallest carve, the fast ones about a second of theirs.
      const slowSizes = fresh.get('slow')!.slice(1);
      assert.ok(slowSizes.length > 0 && slowSizes.every((n) => n <= MIN_CARVED_UNITS), `slow: ${slowSizes.join(', ')}`);
      const fastSizes = [...fresh.get('fast')!.slice(1), ...fresh.get('fast2')!.slice(1)];
      assert.ok(fastSizes.length > 0);
      assert.ok(fastSizes.some((n) => n > 4 * NEW_KEY * 0.9), `fast: ${fastSizes.join(', ')}`);
      assert.ok(fastSizes.every((n) => n <= 32_768), `no more than a second of work: ${fastSizes.join(', ')}`);

      // The carved ranges tile the job exactly, all done; each task credited once per quorum.
      const tasks = (
        await t.hub.db.query<{ id: string; start: string; count: number; status: string; quorum: number; reward: string }>(
          'SELECT id, start, count, status, quorum, reward FROM tasks WHERE job_id = ? ORDER BY start::numeric',
          [job.id],
        )
      ).rows;
      assert.equal(tasks.length, status.progress.total);
      let next = 0n;
      for (const task of tasks) {
        assert.equal(BigInt(task.start), next, 'no gap, no overlap');
        assert.equal(task.status, 'done');
        next += BigInt(task.count);
      }
      assert.equal(next, BigInt(JOB));
      const credits = (
        await t.hub.db.query<{ task_id: string; n: number }>(
          "SELECT e.task_id, count(*)::int AS n FROM earnings e JOIN tasks t ON t.id = e.task_id WHERE t.job_id = ? AND e.status <> 'rejected' GROUP BY e.task_id",
          [job.id],
        )
      ).rows;
      const quorum = new Map(tasks.map((x) => [x.id, x.quorum]));
      assert.equal(credits.length, tasks.length);
      for (const c of credits) assert.equal(c.n, quorum.get(c.task_id), `task ${c.task_id} credited ${c.n} times`);
      // The customer paid the job's price, exactly: the carved tasks' rewards add up to it.
      const balance = (await call(`${url}/v1/customers/balance`, { token: customer })).body as { available: string; reserved: string };
      assert.equal(balance.reserved, '0');
      assert.equal(BigInt(balance.available), TEST_CUSTOMER_BALANCE - BigInt(job.price));
      assert.equal(tasks.reduce((s, x) => s + BigInt(x.reward), 0n), BigInt(job.price));

      // Every nonce under the target, in order.
      const result = (await call(`${url}/v1/jobs/${job.id}/result`, { token: customer })).body as { nonces: string[] };
      const truth = hashsearch.hashsearchReference({ header: HEADER, target: TARGET, start: 0n, count: JOB });
      assert.deepEqual(result.nonces, truth.nonces.map(String));
    } finally {
      await t.close();
    }
  });

  it('never carves a range that was answered: whoever leases it again searches the same nonces', async () => {
    const t = await startTestHub({ hashsearchTaskCount: NEW_KEY, replication: { submitCheckNonces: 0 } });
    try {
      const url = t.hub.url;
      const customer = await t.hub.createCustomer('acme');
      const created = await call(`${url}/v1/jobs`, { token: customer, body: { kind: 'hashsearch', header: HEADER, target: TARGET, start: '0', count: 2 * NEW_KEY } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const a = await signIn(url, Wallet.createRandom());
      const b = await signIn(url, Wallet.createRandom());
      // b's benchmark makes its size 5,000 nonces.
      assert.equal((await call(`${url}/v1/workers/heartbeat`, { token: b, body: { appVersion: '0.1.0', state: 'working', gpus: [], benchmark: { mhs: 0.005 } } })).status, 200);
      const lease = async (token: string): Promise<HsTask> => {
        const r = await call(`${url}/v1/tasks/lease`, { token, body: { kinds: ['hashsearch'] } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return LeaseResponseSchema.parse(r.body).task as HsTask;
      };
      const first = await lease(a);
      assert.deepEqual([first.params.start, first.params.count], ['0', NEW_KEY]);
      // a answers wrong (a nonce that does not match): rejected, and the range goes back to the queue.
      const truth = solveHashsearch(first);
      const notAMatch = Array.from({ length: NEW_KEY }, (_, i) => String(i)).find((i) => !truth.nonces.includes(i))!;
      const wrong = { ...truth, nonces: [...truth.nonces, notAMatch].sort((x, y) => Number(x) - Number(y)) };
      const r = ResultResponseSchema.parse((await call(`${url}/v1/tasks/${first.id}/result`, { token: a, body: { output: wrong } })).body);
      assert.equal(r.status, 'rejected');
      // b gets its own size from the untouched rest, then what is left of it, then the answered range whole.
      const got: [string, number][] = [];
      for (let i = 0; i < 3; i++) {
        const task = await lease(b);
        got.push([task.params.start, task.params.count]);
      }
      assert.deepEqual(got, [
        [String(NEW_KEY), 5000],
        [String(NEW_KEY + 5000), NEW_KEY - 5000],
        ['0', NEW_KEY],
      ]);
    } finally {
      await t.close();
    }
  });

  it('times a task leased ahead from the result before it, not from its lease', async () => {
    const t = await startTestHub({ hashsearchTaskCount: NEW_KEY, replication: { submitCheckNonces: 0 } });
    try {
      const url = t.hub.url;
      const customer = await t.hub.createCustomer('acme');
      assert.equal((await call(`${url}/v1/jobs`, { token: customer, body: { kind: 'hashsearch', header: HEADER, target: TARGET, start: '0', count: 8 * NEW_KEY } })).status, 201);
      const wallet = Wallet.createRandom();
      const token = await signIn(url, wallet);
      const lease = async (): Promise<HsTask> => LeaseResponseSchema.parse((await call(`${url}/v1/tasks/lease`, { token, body: { kinds: ['hashsearch'] } })).body).task as HsTask;
      // Two tasks leased at once, as the worker's pipeline does; each takes 250 ms of its GPU.
      const [one, two] = [await lease(), await lease()];
      for (const task of [one, two]) {
        assert.equal(task.params.count, NEW_KEY);
        t.clock.advance(250);
        const r = await call(`${url}/v1/tasks/${task.id}/result`, { token, body: { output: solveHashsearch(task) } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      // Both observed at 8,192 nonces in 250 ms; timed from its lease, the second would have been half that.
      const rate = await rateOf(t.hub.db, wallet.address, 'hashsearch');
      assert.deepEqual(rate, { rate: 4 * NEW_KEY, benchmarkRate: null, results: 2 });
      // So its next task is a second of that.
      assert.equal((await lease()).params.count, 4 * NEW_KEY);
    } finally {
      await t.close();
    }
  });
});
