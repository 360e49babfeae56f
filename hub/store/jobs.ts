/**
 * Customer jobs: sizes and inputs (f32 LE BYTEA) of matmul jobs, the JSON `spec` of other kinds
 * (hashsearch), price and progress counters.
 */
import { settleJob } from './billing.js';
import { stmt, type Sql } from './db.js';

export type JobStatusValue = 'queued' | 'running' | 'done' | 'failed';

export interface JobRow {
  id: string;
  customer_id: string;
  kind: string;
  m: number;
  n: number;
  k: number;
  status: JobStatusValue;
  price: string;
  tasks_total: number;
  tasks_done: number;
  created_at: string;
  done_at: string | null;
  /** JSON parameters of kinds without matrices (hashsearch); null for matmul. */
  spec: string | null;
}

export interface NewJob {
  id: string;
  customerId: string;
  kind: string;
  m: number;
  n: number;
  k: number;
  price: string;
  tasksTotal: number;
  createdAt: string;
  spec?: string;
}

/** Inserts a job (its inputs go to `insertInputs` and `tasksStore.insertTaskInput`). */
export async function insertJob(db: Sql, j: NewJob): Promise<void> {
  await stmt<[string, string, string, number, number, number, string, number, string, string | null]>(
    db,
    `INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at, spec)
     VALUES (?, ?, ?, ?, ?, ?, ''::bytea, ''::bytea, 'queued', ?, ?, ?, ?)`,
  ).run(j.id, j.customerId, j.kind, j.m, j.n, j.k, j.price, j.tasksTotal, j.createdAt, j.spec ?? null);
}

/** B of a matmul job (k×n f32 LE), kept apart from the job row so that counters stay cheap to update. */
export async function insertInputs(db: Sql, jobId: string, b: Buffer): Promise<void> {
  await stmt<[string, Buffer]>(db, 'INSERT INTO job_inputs (job_id, b) VALUES (?, ?)').run(jobId, b);
}

/** Forgets a finished job's B. */
export async function deleteInputs(db: Sql, jobId: string): Promise<void> {
  await stmt<[string]>(db, 'DELETE FROM job_inputs WHERE job_id = ?').run(jobId);
}

/** The job without its input bytes. */
export async function getJob(db: Sql, id: string): Promise<JobRow | undefined> {
  return await stmt<[string], JobRow>(
    db,
    `SELECT id, customer_id, kind, m, n, k, status, price, tasks_total, ${jobDoneCount('jobs')} AS tasks_done, created_at, done_at, spec FROM jobs WHERE id = ?`,
  ).get(id);
}

export async function readB(db: Sql, jobId: string): Promise<Buffer> {
  const b = (await stmt<[string], { b: Buffer }>(db, 'SELECT b FROM job_inputs WHERE job_id = ?').get(jobId))?.b;
  if (!b) throw new Error(`job ${jobId} has no B`);
  return b;
}

export async function markJobRunning(db: Sql, jobId: string): Promise<void> {
  await stmt<[string]>(db, "UPDATE jobs SET status = 'running' WHERE id = ? AND status = 'queued'").run(jobId);
}

/**
 * Shards of a job's count of tasks done (migration 15): a credit adds to the row of its
 * connection (backend pid modulo this), so credits of one job on different connections never wait
 * on one row, whose lock a credit holds until its commit's flush.
 */
export const JOB_COUNT_SHARDS = 16;
/**
 * A credit that saw its job's count (its own included) within this many tasks of the total
 * checks, after its commit, whether the job is done (`closeIfDone`): credits committing together
 * do not see each other, so the last of a job may see a count a few short. Past that many at once,
 * the leader's round closes the job (`closeDoneJobs`).
 */
export const JOB_CLOSE_MARGIN = 8;

/** The tasks done of the `jobs` row named `j` in a query: what it counted before migration 15 plus its shards. */
export const jobDoneCount = (j: string): string => `(${j}.tasks_done + coalesce((SELECT sum(c.done) FROM job_counts c WHERE c.job_id = ${j}.id), 0))::bigint`;

/**
 * A statement's part that counts `delta` (1, or -1 for a task taken back) in the shard of job
 * `@job`, for each row of `rows` (a query's name, or a subquery), unless the job failed.
 */
export const countInShard = (rows: string, delta: 1 | -1): string => `INSERT INTO job_counts (job_id, shard, done)
       SELECT @job::text, (pg_backend_pid() % ${JOB_COUNT_SHARDS})::smallint, ${delta} FROM ${rows} WHERE EXISTS (SELECT 1 FROM jobs WHERE id = @job AND status != 'failed')
       ON CONFLICT (job_id, shard) DO UPDATE SET done = job_counts.done + ${delta}`;

/** Whether job `@job`'s count, as this statement sees it plus `plus`, may be its last (within JOB_CLOSE_MARGIN): a scalar query. */
export const mayBeDone = (plus: number): string =>
  `(SELECT ${jobDoneCount('j')} + ${plus} >= j.tasks_total - ${JOB_CLOSE_MARGIN} FROM jobs j WHERE j.id = @job AND j.status IN ('queued', 'running'))`;

/** Marks the job done if every task of it is counted; returns whether this call did. */
export async function closeIfDone(db: Sql, jobId: string, now: string): Promise<boolean> {
  const row = await stmt<[{ job: string; now: string }], { id: string }>(
    db,
    `UPDATE jobs j SET status = 'done', done_at = @now::text WHERE j.id = @job AND j.status IN ('queued', 'running') AND ${jobDoneCount('j')} >= j.tasks_total RETURNING j.id`,
  ).get({ job: jobId, now });
  return row !== undefined;
}

/**
 * The leader's round: marks done every open job whose tasks are all counted but whose last
 * credits each saw a count short of the total (committed together past JOB_CLOSE_MARGIN, or
 * their hub stopped between a credit and its check). Returns their ids.
 */
export async function closeDoneJobs(db: Sql, now: string, limit = 64): Promise<string[]> {
  const rows = await stmt<[{ now: string; limit: number }], { id: string }>(
    db,
    `UPDATE jobs j SET status = 'done', done_at = @now::text
     WHERE j.id IN (SELECT o.id FROM jobs o WHERE o.status IN ('queued', 'running') AND ${jobDoneCount('o')} >= o.tasks_total LIMIT @limit)
       AND j.status IN ('queued', 'running')
     RETURNING j.id`,
  ).all({ now, limit });
  return rows.map((r) => r.id);
}

/**
 * Counts one more task done, in its shard; the job becomes `done` with its last and is settled in
 * the same transaction: its customer is charged for every done task not charged yet, and what it
 * still had reserved is released (store/billing.ts). Returns whether it became done.
 */
export async function countTaskDone(db: Sql, jobId: string, now: string): Promise<boolean> {
  await stmt<[{ job: string }]>(db, countInShard('(SELECT 1) AS one', 1)).run({ job: jobId });
  if (!(await closeIfDone(db, jobId, now))) return false;
  await settleJob(db, jobId, now);
  return true;
}
