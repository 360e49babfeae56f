/**
 * The local mirror of the hub's earnings ledger, one row per hub entry (idempotent upserts).
 * Written without an fsync per commit (lib/sqlite.ts `withoutFsync`): the hub's ledger is the
 * truth, and the engine reconciles with it on start, so a power cut costs nothing here.
 */
import type { EarningEntry, EarningStatus } from '../../protocol/index.js';
import { withoutFsync, type Db } from '../../lib/sqlite.js';

export interface LocalEarning extends EarningEntry {
  hub: string;
}

/** An entry with the GPU time this machine spent on its task (null when not measured here). */
export interface EarningRow extends LocalEarning {
  gpuMs: number | null;
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

const toRow = (r: Row & { gpu_ms: number | null }): EarningRow => ({ ...toEntry(r), gpuMs: r.gpu_ms });

/** Entries joined with the GPU time of their task. */
const WITH_TIMES = 'SELECT e.rowid AS rowid, e.*, t.gpu_ms FROM earnings e LEFT JOIN task_times t ON t.hub = e.hub AND t.task_id = e.task_id';

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
    const upsert = db.transaction((hub: string, entries: readonly EarningEntry[]) => {
      let changed = 0;
      const now = new Date().toISOString();
      for (const e of entries) changed += this.upsertStmt.run({ hub, now, ...e }).changes;
      return changed;
    });
    this.upsertMany = (hub, entries) => withoutFsync(db, () => upsert(hub, entries));
  }

  /** Records entries as the hub reports them; returns how many rows were new or changed. */
  readonly upsertMany: (hub: string, entries: readonly EarningEntry[]) => number;

  record(hub: string, entry: EarningEntry): void {
    this.upsertMany(hub, [entry]);
  }

  /** Newest first, `limit` entries after `cursor` (exclusive), optionally filtered. */
  page(q: { cursor?: string; limit: number; status?: EarningStatus; kind?: string }): { entries: EarningRow[]; nextCursor: string | null } {
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.cursor !== undefined) {
      where.push('e.rowid < ?');
      args.push(Number(q.cursor));
    }
    if (q.status !== undefined) {
      where.push('e.status = ?');
      args.push(q.status);
    }
    if (q.kind !== undefined) {
      where.push('e.kind = ?');
      args.push(q.kind);
    }
    const rows = this.db
      .prepare<Array<string | number>, Row & { rowid: number; gpu_ms: number | null }>(
        `${WITH_TIMES} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.rowid DESC LIMIT ?`,
      )
      .all(...args, q.limit + 1);
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    return { entries: page.map(toRow), nextCursor: more ? String(page[page.length - 1]!.rowid) : null };
  }

  /** Every entry, oldest first, with GPU times (the CSV export). */
  rows(): EarningRow[] {
    return this.db.prepare<[], Row & { gpu_ms: number | null }>(`${WITH_TIMES} ORDER BY e.created_at, e.hub, e.entry_id`).all().map(toRow);
  }

  /** The kinds of task in the ledger (the history's filter). */
  kinds(): string[] {
    return this.db.prepare<[], { kind: string }>('SELECT DISTINCT kind FROM earnings ORDER BY kind').all().map((r) => r.kind);
  }

  /** Entries worth something (not rejected) created at or after `sinceIso`: the earnings chart. */
  amountsSince(sinceIso: string): Array<{ createdAt: string; amount: string }> {
    return this.db
      .prepare<[string], { createdAt: string; amount: string }>(
        "SELECT created_at AS createdAt, amount FROM earnings WHERE created_at >= ? AND status != 'rejected' ORDER BY created_at",
      )
      .all(sinceIso);
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
