/**
 * A job's count of tasks done kept in shards (migration 15, store/jobs.ts): the credits of one job
 * on different connections do not wait on one row, and the job is still closed once, by the
 * check that runs after the last credit's commit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { JobCreatedSchema, JobStatusSchema, LeaseResponseSchema, toF32 } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { freshDatabase } from './postgres/testing.js';
import { creditStore, jobsStore, openHubDb, tasksStore, trustStore, type HubDb, type Sql } from './store/index.js';
import { call, matmulJobBody, signIn, startTestHub } from './testkit.js';

/** Opens connections of one each until two sit in different shards (their backend pids modulo JOB_COUNT_SHARDS differ). */
async function twoShards(url: string, after: (fn: () => Promise<void>) => void): Promise<[HubDb, HubDb]> {
  const open: { db: HubDb; shard: number }[] = [];
  after(async () => {
    for (const o of open) await o.db.close();
  });
  for (;;) {
    const db = await openHubDb(url, { max: 1, targetVersion: false });
    const shard = (await db.query<{ s: number }>(`SELECT pg_backend_pid() % ${jobsStore.JOB_COUNT_SHARDS} AS s`)).rows[0]!.s;
    open.push({ db, shard });
    const other = open.find((o) => o.shard !== shard);
    if (other) return [other.db, db];
  }
}

describe("a job's count of tasks done, in shards", () => {
  it('two credits of one job on two connections: the second does not wait for the first to commit, and the later commit closes the job once', async (t) => {
    const fresh = await freshDatabase(t);
    // Two tasks of 8 rows; the leader's rounds far apart, so only the credits close the job.
    const h = await startTestHub({ db: fresh.url, matmulTaskMacs: 8 * 8 * 8, maintenanceMs: 3_600_000 });
    t.after(() => h.close());
    const { apiKey } = await h.hub.createCustomerAccount('acme');
    const created = JobCreatedSchema.parse((await call(`${h.hub.url}/v1/jobs`, { token: apiKey, body: matmulJobBody(16, 8, 8).body })).body);
    assert.equal(created.tasks, 2);
    // Two workers, a task each: the credits share no worker's row, only the job.
    const credits: ((db: Sql) => ReturnType<typeof creditStore.creditVerified>)[] = [];
    for (let i = 0; i < 2; i++) {
      const worker = Wallet.createRandom();
      const token = await signIn(h.hub.url, worker);
      const task = LeaseResponseSchema.parse((await call(`${h.hub.url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } })).body).task;
      if (task.kind !== 'matmul') throw new Error('expected matmul');
      const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
      const row = (await tasksStore.getTask(h.hub.db, task.id))!;
      credits.push((db) =>
        creditStore.creditVerified(db, {
          taskId: task.id, jobId: created.id, worker: worker.address, kind: 'matmul', reward: row.reward, result: Buffer.from(c.buffer, c.byteOffset, c.byteLength),
          units: 8 * 8 * 8, forgiveEvery: 20, now: new Date(h.clock.now()).toISOString(),
        }),
      );
    }
    const [first, second] = await twoShards(fresh.url, (fn) => t.after(fn));
    const now = new Date(h.clock.now()).toISOString();
    const progress = async (): Promise<unknown> => {
      const s = JobStatusSchema.parse((await call(`${h.hub.url}/v1/jobs/${created.id}`, { token: apiKey })).body);
      return { status: s.status, done: s.progress.done };
    };

    // The first credit, committed only when told: its shard's row stays locked until then.
    let commit = (): void => undefined;
    let credited = (): void => undefined;
    const held = new Promise<void>((r) => (commit = r));
    const creditedFirst = new Promise<void>((r) => (credited = r));
    const firstTx = first.tx(
      async (q) => {
        const r = await credits[0]!(q);
        credited();
        await held;
        return r;
      },
      { isolation: 'read committed' },
    );
    await creditedFirst;
    // The second, meanwhile, on its own: it would wait for the first's commit if both counted in
    // one row (the job's, before migration 15); a second of waiting is an error here.
    await second.query("SET lock_timeout = '1s'");
    const secondCredit = await credits[1]!(second);
    assert.equal(secondCredit?.mayBeDone, true);
    // The first is not committed: the second's check sees 1 of 2 tasks, and leaves the job open.
    assert.equal(await jobsStore.closeIfDone(second, created.id, now), false);
    assert.deepEqual(await progress(), { status: 'running', done: 1 });

    commit();
    assert.equal((await firstTx)?.mayBeDone, true);
    // The first's check, after its commit, sees both: it closes the job, and only it.
    assert.equal(await jobsStore.closeIfDone(first, created.id, now), true);
    assert.equal(await jobsStore.closeIfDone(second, created.id, now), false);
    assert.deepEqual(await progress(), { status: 'done', done: 2 });
    assert.deepEqual(await jobsStore.closeDoneJobs(h.hub.db, now), [], "the leader's round finds nothing left to close");
  });

  it('a job whose every task is counted but that no check closed is closed by the leader’s round, and a task taken back opens it again', async (t) => {
    const h = await startTestHub({ matmulTaskMacs: 8 * 8 * 8, maintenanceMs: 3_600_000 });
    t.after(() => h.close());
    const { apiKey } = await h.hub.createCustomerAccount('acme');
    const created = JobCreatedSchema.parse((await call(`${h.hub.url}/v1/jobs`, { token: apiKey, body: matmulJobBody(8, 8, 8).body })).body);
    const worker = Wallet.createRandom();
    const token = await signIn(h.hub.url, worker);
    const task = LeaseResponseSchema.parse((await call(`${h.hub.url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } })).body).task;
    if (task.kind !== 'matmul') throw new Error('expected matmul');
    const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
    const now = new Date(h.clock.now()).toISOString();
    const r = await creditStore.creditVerified(h.hub.db, {
      taskId: task.id, jobId: created.id, worker: worker.address, kind: 'matmul', reward: task.reward, result: Buffer.from(c.buffer, c.byteOffset, c.byteLength),
      units: 8 * 8 * 8, forgiveEvery: 20, now,
    });
    assert.equal(r?.mayBeDone, true);
    assert.equal((await jobsStore.getJob(h.hub.db, created.id))?.status, 'running');
    assert.deepEqual(await jobsStore.closeDoneJobs(h.hub.db, now), [created.id]);
    assert.deepEqual(await jobsStore.closeDoneJobs(h.hub.db, now), []);
    const job = await jobsStore.getJob(h.hub.db, created.id);
    assert.deepEqual([job?.status, job?.tasks_done], ['done', 1]);
    // Taken back (its credit was wrong after all): running again, 0 of 1.
    await trustStore.uncountTaskDone(h.hub.db, created.id);
    const reopened = await jobsStore.getJob(h.hub.db, created.id);
    assert.deepEqual([reopened?.status, reopened?.tasks_done], ['running', 0]);
  });
});
