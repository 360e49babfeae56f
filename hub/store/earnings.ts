/**
 * The earnings ledger: one entry per judged result. A credited entry is unique per task and
 * worker (index `earnings_task_worker_once`) and a task has no more credited entries than its
 * quorum (trigger `earnings_quorum`); rejected entries record the attempt and earn 0.
 *
 * Life of a credited entry: `pending` (a replica must agree) → `verified` → `paid` once the
 * payout holding it (`payout_id`) is confirmed on chain. A pending entry proven wrong becomes
 * `rejected` with amount 0.
 */
import type { CheckMethod, ResultCheck } from '../../protocol/index.js';
import { stmt, type Sql } from './db.js';

export type EarningStatusValue = 'pending' | 'verified' | 'paid' | 'rejected';

export interface EarningRow {
  id: number;
  task_id: string;
  kind: string;
  amount: string;
  status: EarningStatusValue;
  created_at: string;
  /** How the hub checked the result (migration 8); null for entries written before. */
  check_method: CheckMethod | null;
  /** Freivalds' rounds, or the nonces the hub hashed itself. */
  check_size: number | null;
  /** Why a rejected entry was rejected, in plain words. */
  reason: string | null;
}

/** How the hub checked a result, as a ledger entry keeps it. */
export interface EntryCheck {
  method: CheckMethod;
  /** Freivalds' rounds (freivalds), or the nonces the hub hashed itself (rehash, spot-check). */
  size?: number;
}

/** The receipt's `check` of an entry as the protocol says it, or undefined where none was recorded. */
export function checkOf(row: Pick<EarningRow, 'check_method' | 'check_size'>): ResultCheck | undefined {
  if (row.check_method === null) return undefined;
  if (row.check_size === null) return { method: row.check_method };
  return row.check_method === 'freivalds' ? { method: row.check_method, rounds: row.check_size } : { method: row.check_method, nonces: row.check_size };
}

/** The protocol's `check` for an EntryCheck. */
export function wireCheck(c: EntryCheck): ResultCheck {
  return checkOf({ check_method: c.method, check_size: c.size ?? null })!;
}

export async function insertEarning(
  db: Sql,
  e: { taskId: string; worker: string; kind: string; amount: string; status: EarningStatusValue; createdAt: string; check?: EntryCheck; reason?: string },
): Promise<number> {
  const r = await stmt<[string, string, string, string, string, string, string | null, number | null, string | null], { id: number }>(
    db,
    'INSERT INTO earnings (task_id, worker, kind, amount, status, created_at, check_method, check_size, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
  ).run(e.taskId, e.worker, e.kind, e.amount, e.status, e.createdAt, e.check?.method ?? null, e.check?.size ?? null, e.reason ?? null);
  return r.rows[0]!.id;
}

/** pending → verified, checked by `check`; false when the entry was not pending. */
export async function verifyPending(db: Sql, id: number, check: EntryCheck): Promise<boolean> {
  return (
    (await stmt<[string, number | null, number]>(db, "UPDATE earnings SET status = 'verified', check_method = ?, check_size = ? WHERE id = ? AND status = 'pending'").run(check.method, check.size ?? null, id))
      .changes === 1
  );
}

/** pending → rejected (amount 0) by `check`, for `reason`; false when the entry was not pending. */
export async function rejectPending(db: Sql, id: number, check: EntryCheck, reason: string): Promise<boolean> {
  return (
    (
      await stmt<[string, number | null, string, number]>(
        db,
        "UPDATE earnings SET status = 'rejected', amount = '0', check_method = ?, check_size = ?, reason = ? WHERE id = ? AND status = 'pending'",
      ).run(check.method, check.size ?? null, reason.slice(0, 2000), id)
    ).changes === 1
  );
}

/** Up to `limit` entries of `worker` with id > `after`, ascending. */
export async function listEarnings(db: Sql, worker: string, after: bigint, limit: number): Promise<EarningRow[]> {
  return stmt<[string, bigint, number], EarningRow>(
    db,
    'SELECT id, task_id, kind, amount, status, created_at, check_method, check_size, reason FROM earnings WHERE worker = ? AND id > ? ORDER BY id LIMIT ?',
  ).all(worker, after, limit);
}

/**
 * Up to `limit` entries of `worker` changed (created, or their status or amount changed) after
 * its change number `changedAfter`, in the order of their changes, each with its number
 * (migration 9: a range of the index `earnings_changes`, however long the worker's ledger).
 */
export async function listChanges(db: Sql, worker: string, changedAfter: bigint, limit: number): Promise<Array<EarningRow & { change_seq: number }>> {
  return stmt<[string, bigint, number], EarningRow & { change_seq: number }>(
    db,
    'SELECT id, task_id, kind, amount, status, created_at, check_method, check_size, reason, change_seq FROM earnings WHERE worker = ? AND change_seq > ? ORDER BY change_seq LIMIT ?',
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
