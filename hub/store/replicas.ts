/**
 * Hashsearch results, one per task and worker, kept while a task waits for its replicas to agree.
 * `pending`: valid on its own, waiting for a second worker (or the hub's own check);
 * `agreed`: credited; `rejected`: refused on its own or proven wrong by another result.
 */
import { stmt, type Sql } from './db.js';

export type ReplicaStatus = 'pending' | 'agreed' | 'rejected';

export interface ReplicaRow {
  id: number;
  task_id: string;
  worker: string;
  output: string;
  status: ReplicaStatus;
  earning_id: number | null;
  created_at: string;
}

const COLUMNS = 'id, task_id, worker, output, status, earning_id, created_at';

export async function insertReplica(
  db: Sql,
  r: { taskId: string; worker: string; output: string; status: ReplicaStatus; earningId: number | null; createdAt: string },
): Promise<number> {
  const settled = r.status === 'pending' ? null : r.createdAt;
  const { rows } = await stmt<[string, string, string, string, number | null, string, string | null], { id: number }>(
    db,
    'INSERT INTO replicas (task_id, worker, output, status, earning_id, created_at, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
  ).run(r.taskId, r.worker, r.output, r.status, r.earningId, r.createdAt, settled);
  return rows[0]!.id;
}

/** The pending results of a task (at most one at a time, by construction). */
export async function pendingOf(db: Sql, taskId: string): Promise<ReplicaRow[]> {
  return await stmt<[string], ReplicaRow>(db, `SELECT ${COLUMNS} FROM replicas WHERE task_id = ? AND status = 'pending' ORDER BY id`).all(taskId);
}

export async function hasReplica(db: Sql, taskId: string, worker: string): Promise<boolean> {
  return (await stmt<[string, string], { x: number }>(db, 'SELECT 1 AS x FROM replicas WHERE task_id = ? AND worker = ?').get(taskId, worker)) !== undefined;
}

/** Settles a pending result; false when it was no longer pending. */
export async function settle(db: Sql, id: number, status: 'agreed' | 'rejected', now: string): Promise<boolean> {
  return (await stmt<[string, string, number]>(db, "UPDATE replicas SET status = ?, settled_at = ? WHERE id = ? AND status = 'pending'").run(status, now, id)).changes === 1;
}

/**
 * Pending results older than `before` whose task nobody is working on (queued), oldest first:
 * the ones the hub may check itself because no second worker came.
 */
export async function overdue(db: Sql, before: string, limit: number): Promise<ReplicaRow[]> {
  return await stmt<[string, number], ReplicaRow>(
    db,
    `SELECT r.id, r.task_id, r.worker, r.output, r.status, r.earning_id, r.created_at
     FROM replicas r JOIN tasks t ON t.id = r.task_id
     WHERE r.status = 'pending' AND r.created_at < ? AND t.status = 'queued'
     ORDER BY r.created_at LIMIT ?`,
  ).all(before, limit);
}
