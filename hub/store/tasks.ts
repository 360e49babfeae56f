/**
 * Tasks: row slices of a job, the lease queue and their verified results.
 *
 * Queue order is `seq`, the order tasks were created: the oldest waiting task is leased first,
 * and a task that comes back (lease expired, result rejected) keeps its place at the front.
 */
import { stmt, type HubDb } from './db.js';

export type TaskStatusValue = 'queued' | 'leased' | 'done';

export interface TaskRow {
  id: string;
  job_id: string;
  kind: string;
  row0: number;
  rows: number;
  status: TaskStatusValue;
  lease_worker: string | null;
  lease_expires_at: string | null;
  leases: number;
  reward: string;
  done_by: string | null;
}

const TASK_COLUMNS = 'id, job_id, kind, row0, rows, status, lease_worker, lease_expires_at, leases, reward, done_by';

export function insertTask(db: HubDb, t: { id: string; jobId: string; kind: string; row0: number; rows: number; reward: string; createdAt: string }): void {
  stmt<[string, string, string, number, number, string, string]>(
    db,
    `INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)`,
  ).run(t.id, t.jobId, t.kind, t.row0, t.rows, t.reward, t.createdAt);
}

export function getTask(db: HubDb, id: string): TaskRow | undefined {
  return stmt<[string], TaskRow>(db, `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`).get(id);
}

/**
 * Puts every task whose lease ran out by `now` back in the queue and counts the lapse against
 * the worker that held it. Returns how many came back.
 */
export function requeueExpiredLeases(db: HubDb, now: string): number {
  stmt<[{ now: string }]>(
    db,
    `UPDATE workers SET leases_expired = leases_expired + (
       SELECT count(*) FROM tasks
       WHERE tasks.status = 'leased' AND tasks.lease_worker = workers.address AND tasks.lease_expires_at <= @now)
     WHERE address IN (SELECT lease_worker FROM tasks WHERE status = 'leased' AND lease_expires_at <= @now)`,
  ).run({ now });
  return stmt<[string]>(
    db,
    `UPDATE tasks SET status = 'queued', lease_worker = NULL, lease_expires_at = NULL
     WHERE status = 'leased' AND lease_expires_at <= ?`,
  ).run(now).changes;
}

/** The oldest queued task of one of `kinds`. */
export function nextQueuedTask(db: HubDb, kinds: readonly string[]): TaskRow | undefined {
  return stmt<[string], TaskRow>(
    db,
    `SELECT ${TASK_COLUMNS} FROM tasks
     WHERE status = 'queued' AND kind IN (SELECT value FROM json_each(?))
     ORDER BY seq LIMIT 1`,
  ).get(JSON.stringify(kinds));
}

/** Leases a queued task; false when it was no longer queued. */
export function leaseTask(db: HubDb, id: string, worker: string, expiresAt: string): boolean {
  return (
    stmt<[string, string, string]>(
      db,
      `UPDATE tasks SET status = 'leased', lease_worker = ?, lease_expires_at = ?, leases = leases + 1
       WHERE id = ? AND status = 'queued'`,
    ).run(worker, expiresAt, id).changes === 1
  );
}

/** Stores a verified result; false unless the task was still leased to `worker`. */
export function completeTask(db: HubDb, id: string, worker: string, result: Buffer, now: string): boolean {
  return (
    stmt<[Buffer, string, string, string, string]>(
      db,
      `UPDATE tasks SET status = 'done', result = ?, done_by = ?, done_at = ?, lease_worker = NULL, lease_expires_at = NULL
       WHERE id = ? AND status = 'leased' AND lease_worker = ?`,
    ).run(result, worker, now, id, worker).changes === 1
  );
}

/** Returns a leased task to the queue (its result was rejected). */
export function releaseTask(db: HubDb, id: string, worker: string): boolean {
  return (
    stmt<[string, string]>(
      db,
      `UPDATE tasks SET status = 'queued', lease_worker = NULL, lease_expires_at = NULL
       WHERE id = ? AND status = 'leased' AND lease_worker = ?`,
    ).run(id, worker).changes === 1
  );
}

/** Results of a job's tasks in row order (only done tasks have one). */
export function jobResults(db: HubDb, jobId: string): { row0: number; rows: number; result: Buffer | null }[] {
  return stmt<[string], { row0: number; rows: number; result: Buffer | null }>(
    db,
    'SELECT row0, rows, result FROM tasks WHERE job_id = ? ORDER BY row0',
  ).all(jobId);
}

export function countTasksByStatus(db: HubDb, jobId: string): Record<TaskStatusValue, number> {
  const counts: Record<TaskStatusValue, number> = { queued: 0, leased: 0, done: 0 };
  for (const r of stmt<[string], { status: TaskStatusValue; c: number }>(db, 'SELECT status, count(*) AS c FROM tasks WHERE job_id = ? GROUP BY status').all(jobId)) {
    counts[r.status] = r.c;
  }
  return counts;
}
