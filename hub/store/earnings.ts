/**
 * The earnings ledger: one entry per judged result. A credited entry is unique per task and
 * worker (index `earnings_task_worker_once`) and a task has no more credited entries than its
 * quorum (trigger `earnings_quorum`); rejected entries record the attempt and earn 0.
 *
 * Life of a credited entry: `pending` (a replica must agree) → `verified` → `paid` once the
 * payout holding it (`payout_id`) is confirmed on chain. A pending entry proven wrong becomes
 * `rejected` with amount 0.
 */
import { stmt, type Sql } from './db.js';

export type EarningStatusValue = 'pending' | 'verified' | 'paid' | 'rejected';

export interface EarningRow {
  id: number;
  task_id: string;
  kind: string;
  amount: string;
  status: EarningStatusValue;
  created_at: string;
}

export async function insertEarning(
  db: Sql,
  e: { taskId: string; worker: string; kind: string; amount: string; status: EarningStatusValue; createdAt: string },
): Promise<number> {
  const r = await stmt<[string, string, string, string, string, string], { id: number }>(
    db,
    'INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
  ).run(e.taskId, e.worker, e.kind, e.amount, e.status, e.createdAt);
  return r.rows[0]!.id;
}

/** pending → verified; false when the entry was not pending. */
export async function verifyPending(db: Sql, id: number): Promise<boolean> {
  return (await stmt<[number]>(db, "UPDATE earnings SET status = 'verified' WHERE id = ? AND status = 'pending'").run(id)).changes === 1;
}

/** pending → rejected (amount 0); false when the entry was not pending. */
export async function rejectPending(db: Sql, id: number): Promise<boolean> {
  return (await stmt<[number]>(db, "UPDATE earnings SET status = 'rejected', amount = '0' WHERE id = ? AND status = 'pending'").run(id)).changes === 1;
}

/** Up to `limit` entries of `worker` with id > `after`, ascending. */
export async function listEarnings(db: Sql, worker: string, after: bigint, limit: number): Promise<EarningRow[]> {
  return stmt<[string, bigint, number], EarningRow>(
    db,
    'SELECT id, task_id, kind, amount, status, created_at FROM earnings WHERE worker = ? AND id > ? ORDER BY id LIMIT ?',
  ).all(worker, after, limit);
}

/**
 * Up to `limit` entries of `worker` changed (created, or their status or amount changed) after
 * its change number `changedAfter`, in the order of their changes, each with its number
 * (migration 7: a range of the index `earnings_changes`, however long the worker's ledger).
 */
export async function listChanges(db: Sql, worker: string, changedAfter: bigint, limit: number): Promise<Array<EarningRow & { change_seq: number }>> {
  return stmt<[string, bigint, number], EarningRow & { change_seq: number }>(
    db,
    'SELECT id, task_id, kind, amount, status, created_at, change_seq FROM earnings WHERE worker = ? AND change_seq > ? ORDER BY change_seq LIMIT ?',
  ).all(worker, changedAfter, limit);
}

/**
 * The worker's balance by status and its latest change number, from its row of `ledger_heads`
 * (kept by the trigger `earnings_change` on every write of an entry, NUMERIC summed exactly: no
 * scan of its entries); zeros for a worker with no entry yet.
 */
export async function balanceOf(db: Sql, worker: string): Promise<{ pending: bigint; verified: bigint; paid: bigint; seq: bigint }> {
  const r = await stmt<[string], { pending: string; verified: string; paid: string; seq: number }>(
    db,
    'SELECT pending, verified, paid, seq FROM ledger_heads WHERE worker = ?',
  ).get(worker);
  return r ? { pending: BigInt(r.pending), verified: BigInt(r.verified), paid: BigInt(r.paid), seq: BigInt(r.seq) } : { pending: 0n, verified: 0n, paid: 0n, seq: 0n };
}

/**
 * Verified entries of `worker` that no payout holds yet and that may be paid at `now`: a credit
 * nobody else checked is held until its `held_until` (it may still be taken back).
 */
export async function unpaidOf(db: Sql, worker: string, now: string): Promise<{ id: number; amount: string }[]> {
  return stmt<[string, string], { id: number; amount: string }>(
    db,
    "SELECT id, amount FROM earnings WHERE worker = ? AND status = 'verified' AND payout_id IS NULL AND (held_until IS NULL OR held_until <= ?) ORDER BY id",
  ).all(worker, now);
}

/** Workers with verified entries that no payout holds yet. */
export async function workersWithUnpaid(db: Sql): Promise<string[]> {
  return (await stmt<[], { worker: string }>(db, "SELECT DISTINCT worker FROM earnings WHERE status = 'verified' AND payout_id IS NULL").all()).map((r) => r.worker);
}

/** Puts entries in a payout; returns how many it took (only unpaid, unheld verified ones). */
export async function attachToPayout(db: Sql, ids: readonly number[], payoutId: string): Promise<number> {
  if (ids.length === 0) return 0;
  // One statement for them all (one round trip to the server, not one per entry).
  return (
    await stmt<[string, number[]]>(db, "UPDATE earnings SET payout_id = ? WHERE id = ANY(?::bigint[]) AND status = 'verified' AND payout_id IS NULL").run(payoutId, [...ids])
  ).changes;
}

/** The payout is confirmed: its entries become `paid`. */
export async function markPaid(db: Sql, payoutId: string): Promise<number> {
  return (await stmt<[string]>(db, "UPDATE earnings SET status = 'paid' WHERE payout_id = ? AND status = 'verified'").run(payoutId)).changes;
}

/** The payout failed: its entries are free to go into a later one. */
export async function releaseFromPayout(db: Sql, payoutId: string): Promise<number> {
  return (await stmt<[string]>(db, "UPDATE earnings SET payout_id = NULL WHERE payout_id = ? AND status = 'verified'").run(payoutId)).changes;
}
