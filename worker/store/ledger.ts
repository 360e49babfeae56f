/**
 * The local mirror of the hub's earnings ledger, one row per hub entry (idempotent upserts).
 * Written without an fsync per commit (lib/sqlite.ts `withoutFsync`): the hub's ledger is the
 * truth, and the engine reconciles with it on start, so a power cut costs nothing here.
 */
import type { EarningEntry, EarningStatus } from '../../protocol/index.js';
import { withoutFsync, type Db } from '../../lib/sqlite.js';
import { END_OF_TIME_MS, RollupChanges, Rollups, type StatusSums } from './rollups.js';

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

/** How many rows each of the CSV's reads takes: the export yields to the event loop between them. */
export const ROWS_PAGE = 2000;

export class LedgerStore {
  private readonly upsertStmt;
  private readonly oldStmt;
  private readonly listStmt;
  private readonly listAllStmt;
  private readonly rowsPageStmt;
  private readonly kindsStmt;
  private readonly cursorStmt;
  private readonly setCursorStmt;
  readonly rollups: Rollups;

  constructor(private readonly db: Db) {
    this.rollups = new Rollups(db);
    this.upsertStmt = db.prepare(`
      INSERT INTO earnings (hub, entry_id, task_id, kind, amount, status, created_at, created_ms, updated_at)
      VALUES (@hub, @id, @taskId, @kind, @amount, @status, @createdAt, @createdMs, @now)
      ON CONFLICT (hub, entry_id) DO UPDATE SET
        task_id = excluded.task_id, kind = excluded.kind, amount = excluded.amount, status = excluded.status,
        created_at = excluded.created_at, created_ms = excluded.created_ms, updated_at = excluded.updated_at
      WHERE earnings.amount IS NOT excluded.amount OR earnings.status IS NOT excluded.status
        OR earnings.created_at IS NOT excluded.created_at OR earnings.task_id IS NOT excluded.task_id`);
    this.oldStmt = db.prepare<[string, string], { amount: string; status: EarningStatus; created_ms: number }>(
      'SELECT amount, status, created_ms FROM earnings WHERE hub = ? AND entry_id = ?',
    );
    this.listStmt = db.prepare<[string], Row>(
      'SELECT * FROM earnings WHERE hub = ? ORDER BY CAST(entry_id AS INTEGER), entry_id',
    );
    this.listAllStmt = db.prepare<[], Row>('SELECT * FROM earnings ORDER BY created_ms, rowid');
    this.rowsPageStmt = db.prepare<[number, number, number], Row & { rowid: number; created_ms: number; gpu_ms: number | null }>(
      `${WITH_TIMES} WHERE (e.created_ms, e.rowid) > (?, ?) ORDER BY e.created_ms, e.rowid LIMIT ?`,
    );
    // The distinct kinds by skipping through the index on kind: a few lookups, not a scan of the ledger.
    this.kindsStmt = db.prepare<[], { kind: string }>(`
      WITH RECURSIVE k(kind) AS (
        SELECT min(kind) FROM earnings
        UNION ALL
        SELECT (SELECT min(kind) FROM earnings WHERE kind > k.kind) FROM k WHERE k.kind IS NOT NULL
      )
      SELECT kind FROM k WHERE kind IS NOT NULL`);
    this.cursorStmt = db.prepare<[string], { ledger_seq: string }>('SELECT ledger_seq FROM mirror_cursors WHERE hub = ?');
    this.setCursorStmt = db.prepare<[string, string]>('INSERT INTO mirror_cursors (hub, ledger_seq) VALUES (?, ?) ON CONFLICT (hub) DO UPDATE SET ledger_seq = excluded.ledger_seq');
    const upsert = db.transaction((hub: string, entries: readonly EarningEntry[], changeCursor?: string) => {
      let changed = 0;
      const now = new Date().toISOString();
      const sums = new RollupChanges();
      for (const e of entries) {
        const old = this.oldStmt.get(hub, e.id);
        const createdMs = Date.parse(e.createdAt);
        if (this.upsertStmt.run({ hub, now, ...e, createdMs }).changes === 0) continue;
        changed++;
        if (old) sums.add(old.created_ms, old.status, BigInt(old.amount), -1);
        sums.add(createdMs, e.status, BigInt(e.amount), 1);
      }
      sums.apply(this.rollups);
      if (changeCursor !== undefined) this.setCursorStmt.run(hub, changeCursor);
      return changed;
    });
    this.upsertMany = (hub, entries, changeCursor) => withoutFsync(db, () => upsert(hub, entries, changeCursor));
  }

  /**
   * Records entries as the hub reports them (and their sums); returns how many rows were new or
   * changed. With `changeCursor`, the hub's change number they reach is kept in the same
   * transaction: the next read starts there, and never past an entry not written.
   */
  readonly upsertMany: (hub: string, entries: readonly EarningEntry[], changeCursor?: string) => number;

  /** Where the last read of the hub's changes ended (GET /v1/earnings changedAfter); null before the first. */
  changeCursor(hub: string): string | null {
    return this.cursorStmt.get(hub)?.ledger_seq ?? null;
  }

  record(hub: string, entry: EarningEntry): void {
    this.upsertMany(hub, [entry]);
  }

  /**
   * Newest first, `limit` entries after `cursor` (exclusive), optionally filtered: each filter
   * has its index (by status, by kind, by both), whose entries are in rowid order.
   */
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
    const index = q.status !== undefined && q.kind !== undefined ? 'earnings_kind_status' : q.status !== undefined ? 'earnings_status' : q.kind !== undefined ? 'earnings_kind' : null;
    const from = index === null ? WITH_TIMES : WITH_TIMES.replace('FROM earnings e', `FROM earnings e INDEXED BY ${index}`);
    const rows = this.db
      .prepare<Array<string | number>, Row & { rowid: number; gpu_ms: number | null }>(
        `${from} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.rowid DESC LIMIT ?`,
      )
      .all(...args, q.limit + 1);
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    return { entries: page.map(toRow), nextCursor: more ? String(page[page.length - 1]!.rowid) : null };
  }

  /**
   * Every entry, oldest first, with GPU times (the CSV export), read `ROWS_PAGE` at a time on
   * the index of their time: the caller may yield between pages (the connection is free then
   * for the engine's writes), and no more than a page is in memory.
   */
  *rowPages(pageSize = ROWS_PAGE): Generator<EarningRow[]> {
    let after: [number, number] = [-END_OF_TIME_MS, 0];
    for (;;) {
      const rows = this.rowsPageStmt.all(after[0], after[1], pageSize);
      if (rows.length === 0) return;
      const last = rows[rows.length - 1]!;
      after = [last.created_ms, last.rowid];
      yield rows.map(toRow);
      if (rows.length < pageSize) return;
    }
  }

  /** Every entry, oldest first, with GPU times. */
  rows(): EarningRow[] {
    return [...this.rowPages()].flat();
  }

  /** The kinds of task in the ledger (the history's filter). */
  kinds(): string[] {
    return this.kindsStmt.all().map((r) => r.kind);
  }

  /** Sums and counts by status of the entries created in [fromMs, toMs), from the hourly and daily sums. */
  sumsBetween(fromMs: number, toMs: number): StatusSums {
    return this.rollups.between(fromMs, toMs);
  }

  /** Sums by status (rejected entries are worth nothing), exactly, as bigint. */
  totals(sinceIso?: string): Record<'pending' | 'verified' | 'paid', bigint> {
    const s = this.rollups.between(sinceIso === undefined ? -END_OF_TIME_MS : Date.parse(sinceIso), END_OF_TIME_MS);
    return { pending: s.pending.amount, verified: s.verified.amount, paid: s.paid.amount };
  }

  list(hub?: string): LocalEarning[] {
    return (hub === undefined ? this.listAllStmt.all() : this.listStmt.all(hub)).map(toEntry);
  }
}
