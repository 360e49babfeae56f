/**
 * The earnings ledger: one entry per judged result. Credited entries are unique per task (see
 * the partial index `earnings_task_once`); rejected entries record the attempt and earn 0.
 */
import { stmt, type HubDb } from './db.js';

export type EarningStatusValue = 'pending' | 'verified' | 'paid' | 'rejected';

export interface EarningRow {
  id: number;
  task_id: string;
  kind: string;
  amount: string;
  status: EarningStatusValue;
  created_at: string;
}

export function insertEarning(
  db: HubDb,
  e: { taskId: string; worker: string; kind: string; amount: string; status: EarningStatusValue; createdAt: string },
): number {
  const r = stmt<[string, string, string, string, string, string]>(
    db,
    'INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(e.taskId, e.worker, e.kind, e.amount, e.status, e.createdAt);
  return Number(r.lastInsertRowid);
}

/** Up to `limit` entries of `worker` with id > `after`, ascending. */
export function listEarnings(db: HubDb, worker: string, after: bigint, limit: number): EarningRow[] {
  return stmt<[string, bigint, number], EarningRow>(
    db,
    'SELECT id, task_id, kind, amount, status, created_at FROM earnings WHERE worker = ? AND id > ? ORDER BY id LIMIT ?',
  ).all(worker, after, limit);
}

/**
 * Sums of the worker's entries by status, as exact bigints. (SQLite's SUM would go through
 * 64-bit integers or doubles; amounts of an 18-decimal token overflow both.)
 */
export function balanceOf(db: HubDb, worker: string): { pending: bigint; verified: bigint; paid: bigint } {
  const sums = { pending: 0n, verified: 0n, paid: 0n };
  const rows = stmt<[string], { status: EarningStatusValue; amount: string }>(
    db,
    "SELECT status, amount FROM earnings WHERE worker = ? AND status IN ('pending', 'verified', 'paid')",
  ).iterate(worker);
  for (const r of rows) {
    if (r.status !== 'rejected') sums[r.status] += BigInt(r.amount);
  }
  return sums;
}
