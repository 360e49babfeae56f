/**
 * Payouts to workers. A row is written `pending` with the treasury nonce reserved for it before
 * anything is signed; the signed transaction (raw bytes and hash) is stored before it is ever
 * broadcast; `sent` once broadcast; `confirmed` or `failed` from its receipt. One row, one
 * nonce, one signed transaction: the chain accepts a nonce once, so a payout cannot be sent twice.
 */
import { stmt, type Sql } from './db.js';

export type PayoutStatusValue = 'pending' | 'sent' | 'confirmed' | 'failed';

export interface PayoutRow {
  id: string;
  worker: string;
  to_address: string;
  amount: string;
  status: PayoutStatusValue;
  chain_id: number;
  token: string;
  treasury: string;
  tx_nonce: number;
  raw_tx: string | null;
  tx_hash: string | null;
  block_number: number | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS = 'id, worker, to_address, amount, status, chain_id, token, treasury, tx_nonce, raw_tx, tx_hash, block_number, error, created_at, updated_at';

export async function insertPayout(
  db: Sql,
  p: { id: string; worker: string; to: string; amount: string; chainId: number; token: string; treasury: string; nonce: number; createdAt: string },
): Promise<void> {
  await stmt<[string, string, string, string, number, string, string, number, string, string]>(
    db,
    `INSERT INTO payouts (id, worker, to_address, amount, status, chain_id, token, treasury, tx_nonce, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
  ).run(p.id, p.worker, p.to, p.amount, p.chainId, p.token, p.treasury, p.nonce, p.createdAt, p.createdAt);
}

export async function getPayout(db: Sql, id: string): Promise<PayoutRow | undefined> {
  return stmt<[string], PayoutRow>(db, `SELECT ${COLUMNS} FROM payouts WHERE id = ?`).get(id);
}

/** Payouts not yet settled (pending or sent), in nonce order. */
export async function openPayouts(db: Sql): Promise<PayoutRow[]> {
  return stmt<[], PayoutRow>(db, `SELECT ${COLUMNS} FROM payouts WHERE status IN ('pending', 'sent') ORDER BY tx_nonce`).all();
}

/** The highest treasury nonce any payout reserved on this chain, or -1. */
export async function highestNonce(db: Sql, chainId: number, treasury: string): Promise<number> {
  return (await stmt<[number, string], { n: number | null }>(db, 'SELECT max(tx_nonce) AS n FROM payouts WHERE chain_id = ? AND treasury = ?').get(chainId, treasury))?.n ?? -1;
}

/** Stores the signed transaction of a pending payout that has none yet. */
export async function storeSigned(db: Sql, id: string, raw: string, hash: string, now: string): Promise<boolean> {
  return (
    (
      await stmt<[string, string, string, string]>(
        db,
        "UPDATE payouts SET raw_tx = ?, tx_hash = ?, updated_at = ? WHERE id = ? AND status = 'pending' AND raw_tx IS NULL",
      ).run(raw, hash, now, id)
    ).changes === 1
  );
}

export async function markSent(db: Sql, id: string, now: string): Promise<boolean> {
  return (await stmt<[string, string]>(db, "UPDATE payouts SET status = 'sent', updated_at = ? WHERE id = ? AND status = 'pending' AND tx_hash IS NOT NULL").run(now, id)).changes === 1;
}

export async function markConfirmed(db: Sql, id: string, blockNumber: number, now: string): Promise<boolean> {
  return (
    (await stmt<[number, string, string]>(db, "UPDATE payouts SET status = 'confirmed', block_number = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'sent')").run(blockNumber, now, id))
      .changes === 1
  );
}

export async function markFailed(db: Sql, id: string, error: string, now: string): Promise<boolean> {
  return (
    (await stmt<[string, string, string]>(db, "UPDATE payouts SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'sent')").run(error, now, id)).changes ===
    1
  );
}

export async function listPayouts(db: Sql, worker: string): Promise<PayoutRow[]> {
  return stmt<[string], PayoutRow>(db, `SELECT ${COLUMNS} FROM payouts WHERE worker = ? ORDER BY created_at, id`).all(worker);
}

/** Every payout to `address` (whichever worker earned it), oldest first (index payouts_to, migration 8). */
export async function listPayoutsTo(db: Sql, address: string): Promise<PayoutRow[]> {
  return stmt<[string], PayoutRow>(db, `SELECT ${COLUMNS} FROM payouts WHERE to_address = ? ORDER BY created_at, id`).all(address);
}

/**
 * Up to `limit` payouts of `worker`, newest first, after the payout `before` (in the same order);
 * a range of the index on (worker, created_at).
 */
export async function pagePayouts(db: Sql, worker: string, before: string | null, limit: number): Promise<PayoutRow[]> {
  if (before === null) return stmt<[string, number], PayoutRow>(db, `SELECT ${COLUMNS} FROM payouts WHERE worker = ? ORDER BY created_at DESC, id DESC LIMIT ?`).all(worker, limit);
  return stmt<[string, string, string, number], PayoutRow>(
    db,
    `SELECT ${COLUMNS} FROM payouts WHERE worker = ? AND (created_at, id) < (SELECT created_at, id FROM payouts WHERE id = ? AND worker = ?) ORDER BY created_at DESC, id DESC LIMIT ?`,
  ).all(worker, before, worker, limit);
}

/** How many payouts are in each state, for the hub's metrics (a scan of a table of one row per payout). */
export async function countPayoutsByStatus(db: Sql): Promise<Record<PayoutStatusValue, number>> {
  const counts: Record<PayoutStatusValue, number> = { pending: 0, sent: 0, confirmed: 0, failed: 0 };
  for (const r of await stmt<[], { status: PayoutStatusValue; n: number }>(db, 'SELECT status, count(*) AS n FROM payouts GROUP BY status').all()) counts[r.status] = r.n;
  return counts;
}

/** When the oldest payout not yet settled (pending or sent) was recorded, or null when none is open. */
export async function oldestOpenPayoutAt(db: Sql): Promise<string | null> {
  return (await stmt<[], { t: string | null }>(db, "SELECT min(created_at) AS t FROM payouts WHERE status IN ('pending', 'sent')").get())?.t ?? null;
}
