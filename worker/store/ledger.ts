/** The local mirror of the hub's earnings ledger, one row per hub entry (idempotent upserts). */
import type { EarningEntry, EarningStatus } from '../../protocol/index.js';
import type { Db } from '../../lib/sqlite.js';

export interface LocalEarning extends EarningEntry {
  hub: string;
}

interface Row {
  hub: string;
  entry_id: string;
  task_id: string;
  kind: string;
  amount: string;
  status: EarningStatus;
  created_at: string;
}

const toEntry = (r: Row): LocalEarning => ({
  hub: r.hub,
  id: r.entry_id,
  taskId: r.task_id,
  kind: r.kind,
  amount: r.amount,
  status: r.status,
  createdAt: r.created_at,
});

export class LedgerStore {
  private readonly upsertStmt;
  private readonly listStmt;
  private readonly listAllStmt;

  constructor(private readonly db: Db) {
    this.upsertStmt = db.prepare(`
      INSERT INTO earnings (hub, entry_id, task_id, kind, amount, status, created_at, updated_at)
      VALUES (@hub, @id, @taskId, @kind, @amount, @status, @createdAt, @now)
      ON CONFLICT (hub, entry_id) DO UPDATE SET
        task_id = excluded.task_id, kind = excluded.kind, amount = excluded.amount, status = excluded.status,
        created_at = excluded.created_at, updated_at = excluded.updated_at
      WHERE earnings.amount IS NOT excluded.amount OR earnings.status IS NOT excluded.status
        OR earnings.created_at IS NOT excluded.created_at OR earnings.task_id IS NOT excluded.task_id`);
    this.listStmt = db.prepare<[string], Row>(
      'SELECT * FROM earnings WHERE hub = ? ORDER BY CAST(entry_id AS INTEGER), entry_id',
    );
    this.listAllStmt = db.prepare<[], Row>('SELECT * FROM earnings ORDER BY created_at, hub, entry_id');
    this.upsertMany = db.transaction((hub: string, entries: readonly EarningEntry[]) => {
      let changed = 0;
      const now = new Date().toISOString();
      for (const e of entries) changed += this.upsertStmt.run({ hub, now, ...e }).changes;
      return changed;
    });
  }

  /** Records entries as the hub reports them; returns how many rows were new or changed. */
  readonly upsertMany: (hub: string, entries: readonly EarningEntry[]) => number;

  record(hub: string, entry: EarningEntry): void {
    this.upsertMany(hub, [entry]);
  }

  /** Newest first, `limit` entries after `cursor` (exclusive), optionally filtered. */
  page(q: { cursor?: string; limit: number; status?: EarningStatus; kind?: string }): { entries: LocalEarning[]; nextCursor: string | null } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.cursor !== undefined) {
      where.push('rowid < ?');
      args.push(Number(q.cursor));
    }
    if (q.status !== undefined) {
      where.push('status = ?');
      args.push(q.status);
    }
    if (q.kind !== undefined) {
      where.push('kind = ?');
      args.push(q.kind);
    }
    const rows = this.db
      .prepare<Array<string | number>, Row & { rowid: number }>(
        `SELECT rowid, * FROM earnings ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid DESC LIMIT ?`,
      )
      .all(...args, q.limit + 1);
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    return { entries: page.map(toEntry), nextCursor: more ? String(page[page.length - 1]!.rowid) : null };
  }

  /** Sums by status (rejected entries are worth nothing), exactly, as bigint. */
  totals(sinceIso?: string): Record<'pending' | 'verified' | 'paid', bigint> {
    const rows = this.db
      .prepare<[string], { status: EarningStatus; amount: string }>('SELECT status, amount FROM earnings WHERE created_at >= ?')
      .all(sinceIso ?? '');
    const totals = { pending: 0n, verified: 0n, paid: 0n };
    for (const r of rows) if (r.status !== 'rejected') totals[r.status] += BigInt(r.amount);
    return totals;
  }

  list(hub?: string): LocalEarning[] {
    return (hub === undefined ? this.listAllStmt.all() : this.listStmt.all(hub)).map(toEntry);
  }
}
