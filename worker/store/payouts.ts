/** The hub's payouts to this worker, mirrored from GET /v1/payouts (idempotent upserts). */
import type { Db } from '../../lib/sqlite.js';

export type PayoutStatus = 'pending' | 'sent' | 'confirmed' | 'failed';

export interface LocalPayout {
  hub: string;
  id: string;
  amount: string;
  status: PayoutStatus;
  txHash: string | null;
  createdAt: string;
}

interface Row {
  hub: string;
  payout_id: string;
  amount: string;
  status: PayoutStatus;
  tx_hash: string | null;
  created_at: string;
}

const toPayout = (r: Row): LocalPayout => ({
  hub: r.hub,
  id: r.payout_id,
  amount: r.amount,
  status: r.status,
  txHash: r.tx_hash,
  createdAt: r.created_at,
});

export class PayoutStore {
  private readonly upsertStmt;
  private readonly listStmt;
  private readonly pageStmt;

  constructor(private readonly db: Db) {
    this.upsertStmt = db.prepare(`
      INSERT INTO payouts (hub, payout_id, amount, status, tx_hash, created_at, updated_at)
      VALUES (@hub, @id, @amount, @status, @txHash, @createdAt, @now)
      ON CONFLICT (hub, payout_id) DO UPDATE SET
        amount = excluded.amount, status = excluded.status, tx_hash = excluded.tx_hash, updated_at = excluded.updated_at
      WHERE payouts.amount IS NOT excluded.amount OR payouts.status IS NOT excluded.status OR payouts.tx_hash IS NOT excluded.tx_hash`);
    this.listStmt = db.prepare<[number], Row>('SELECT * FROM payouts ORDER BY created_at DESC, payout_id DESC LIMIT ?');
    // After the row the cursor names, in the same order (a range of the index payouts_created).
    this.pageStmt = db.prepare<[number, number], Row & { rowid: number }>(`
      SELECT rowid, * FROM payouts
      WHERE (created_at, payout_id) < (SELECT created_at, payout_id FROM payouts WHERE rowid = ?)
      ORDER BY created_at DESC, payout_id DESC LIMIT ?`);
    this.upsertMany = db.transaction((hub: string, payouts: readonly Omit<LocalPayout, 'hub'>[]) => {
      let changed = 0;
      const now = new Date().toISOString();
      for (const p of payouts) changed += this.upsertStmt.run({ hub, now, ...p }).changes;
      return changed;
    });
  }

  /** Records payouts as the hub reports them; returns how many rows were new or changed. */
  readonly upsertMany: (hub: string, payouts: readonly Omit<LocalPayout, 'hub'>[]) => number;

  /** When the oldest payout of `hub` not yet settled (pending or sent) was made; null when none is open. */
  oldestOpenAt(hub: string): string | null {
    return (
      this.db.prepare<[string], { t: string | null }>("SELECT min(created_at) AS t FROM payouts WHERE hub = ? AND status IN ('pending', 'sent')").get(hub)?.t ?? null
    );
  }

  /** Newest first. */
  list(limit = 200): LocalPayout[] {
    return this.listStmt.all(limit).map(toPayout);
  }

  /** Newest first, `limit` payouts after the one `cursor` names (a previous page's `nextCursor`). */
  page(q: { cursor?: string; limit: number }): { payouts: LocalPayout[]; nextCursor: string | null } {
    const rows =
      q.cursor === undefined
        ? this.db.prepare<[number], Row & { rowid: number }>('SELECT rowid, * FROM payouts ORDER BY created_at DESC, payout_id DESC LIMIT ?').all(q.limit + 1)
        : this.pageStmt.all(Number(q.cursor), q.limit + 1);
    const page = rows.slice(0, q.limit);
    return { payouts: page.map(toPayout), nextCursor: rows.length > q.limit ? String(page[page.length - 1]!.rowid) : null };
  }
}
