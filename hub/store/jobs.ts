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
    'SELECT id, customer_id, kind, m, n, k, status, price, tasks_total, tasks_done, created_at, done_at, spec FROM jobs WHERE id = ?',
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
 * Counts one more task done; the job becomes `done` with its last task. Returns whether it did.
 * A job that becomes done is settled in the same transaction: its customer is charged for every
 * done task not charged yet, and what it still had reserved is released (store/billing.ts).
 */
/** One more of a job's tasks done at `@now` (the job done with its last); shared with store/credit.ts. */
export const TASK_COUNTED_SET = `tasks_done = tasks_done + 1,
       status = CASE WHEN tasks_done + 1 >= tasks_total THEN 'done' ELSE 'running' END,
       done_at = CASE WHEN tasks_done + 1 >= tasks_total THEN @now::text ELSE done_at END`;
/** A job that still counts tasks done. */
export const TASK_COUNTABLE = `tasks_done < tasks_total AND status != 'failed'`;

export async function countTaskDone(db: Sql, jobId: string, now: string): Promise<boolean> {
  const done = await stmt<[{ now: string; id: string }], { status: JobStatusValue }>(
    db,
    `UPDATE jobs SET ${TASK_COUNTED_SET} WHERE id = @id AND ${TASK_COUNTABLE} RETURNING status`,
  ).get({ now, id: jobId });
  if (done?.status !== 'done') return false;
  await settleJob(db, jobId, now);
  return true;
}
