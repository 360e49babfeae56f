/**
 * Hashsearch results, one per task and worker, kept while a task waits for its replicas to agree.
 * `pending`: valid on its own, waiting for a second worker (or the hub's own check);
 * `agreed`: credited; `rejected`: refused on its own or proven wrong by another result.
 */
import { stmt, type HubDb } from './db.js';

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

export function insertReplica(
  db: HubDb,
  r: { taskId: string; worker: string; output: string; status: ReplicaStatus; earningId: number | null; createdAt: string },
): number {
  const settled = r.status === 'pending' ? null : r.createdAt;
  return Number(
    stmt<[string, string, string, string, number | null, string, string | null]>(
      db,
      'INSERT INTO replicas (task_id, worker, output, status, earning_id, created_at, settled_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(r.taskId, r.worker, r.output, r.status, r.earningId, r.createdAt, settled).lastInsertRowid,
  );
}

/** The pending results of a task (at most one at a time, by construction). */
export function pendingOf(db: HubDb, taskId: string): ReplicaRow[] {
  return stmt<[string], ReplicaRow>(db, `SELECT ${COLUMNS} FROM replicas WHERE task_id = ? AND status = 'pending' ORDER BY id`).all(taskId);
}

export function hasReplica(db: HubDb, taskId: string, worker: string): boolean {
  return stmt<[string, string], { x: number }>(db, 'SELECT 1 AS x FROM replicas WHERE task_id = ? AND worker = ?').get(taskId, worker) !== undefined;
}

/** Settles a pending result; false when it was no longer pending. */
export function settle(db: HubDb, id: number, status: 'agreed' | 'rejected', now: string): boolean {
  return stmt<[string, string, number]>(db, "UPDATE replicas SET status = ?, settled_at = ? WHERE id = ? AND status = 'pending'").run(status, now, id).changes === 1;
}

/**
 * Pending results older than `before` whose task nobody is working on (queued), oldest first:
 * the ones the hub may check itself because no second worker came.
 */
export function overdue(db: HubDb, before: string, limit: number): ReplicaRow[] {
  return stmt<[string, number], ReplicaRow>(
    db,
    `SELECT r.id, r.task_id, r.worker, r.output, r.status, r.earning_id, r.created_at
     FROM replicas r JOIN tasks t ON t.id = r.task_id
     WHERE r.status = 'pending' AND r.created_at < ? AND t.status = 'queued'
     ORDER BY r.created_at LIMIT ?`,
  ).all(before, limit);
}
