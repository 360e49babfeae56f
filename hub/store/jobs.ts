/** Customer jobs: sizes, inputs (f32 LE BLOBs), price and progress counters. */
import { stmt, type HubDb } from './db.js';

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
}

export interface NewJob {
  id: string;
  customerId: string;
  kind: string;
  m: number;
  n: number;
  k: number;
  a: Buffer;
  b: Buffer;
  price: string;
  tasksTotal: number;
  createdAt: string;
}

export function insertJob(db: HubDb, j: NewJob): void {
  stmt<[string, string, string, number, number, number, Buffer, Buffer, string, number, string]>(
    db,
    `INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)`,
  ).run(j.id, j.customerId, j.kind, j.m, j.n, j.k, j.a, j.b, j.price, j.tasksTotal, j.createdAt);
}

/** The job without its input BLOBs. */
export function getJob(db: HubDb, id: string): JobRow | undefined {
  return stmt<[string], JobRow>(
    db,
    'SELECT id, customer_id, kind, m, n, k, status, price, tasks_total, tasks_done, created_at, done_at FROM jobs WHERE id = ?',
  ).get(id);
}

/** Rows [row0, row0+rows) of A (k f32 per row), read from the BLOB without loading all of A. */
export function readRowsOfA(db: HubDb, jobId: string, row0: number, rows: number, k: number): Buffer {
  const bytes = stmt<[number, number, string], { a: Buffer | null }>(db, 'SELECT substr(a, ?, ?) AS a FROM jobs WHERE id = ?').get(
    row0 * k * 4 + 1,
    rows * k * 4,
    jobId,
  )?.a;
  if (!bytes || bytes.byteLength !== rows * k * 4) throw new Error(`rows ${row0}..${row0 + rows} of job ${jobId} are missing`);
  return bytes;
}

export function readB(db: HubDb, jobId: string): Buffer {
  const b = stmt<[string], { b: Buffer }>(db, 'SELECT b FROM jobs WHERE id = ?').get(jobId)?.b;
  if (!b) throw new Error(`job ${jobId} has no B`);
  return b;
}

export function markJobRunning(db: HubDb, jobId: string): void {
  stmt<[string]>(db, "UPDATE jobs SET status = 'running' WHERE id = ? AND status = 'queued'").run(jobId);
}

/** Counts one more task done; the job becomes `done` with its last task. */
export function countTaskDone(db: HubDb, jobId: string, now: string): void {
  stmt<[string, string]>(
    db,
    `UPDATE jobs SET
       tasks_done = tasks_done + 1,
       status = CASE WHEN tasks_done + 1 >= tasks_total THEN 'done' ELSE 'running' END,
       done_at = CASE WHEN tasks_done + 1 >= tasks_total THEN ? ELSE done_at END
     WHERE id = ? AND tasks_done < tasks_total AND status != 'failed'`,
  ).run(now, jobId);
}
