/**
 * The local mirror of the hub's earnings ledger, one row per hub entry (idempotent upserts).
 * Written without an fsync per commit (lib/sqlite.ts `withoutFsync`): the hub's ledger is the
 * truth, and the engine reconciles with it on start, so a power cut costs nothing here.
 */
import { ResultCheckSchema, type EarningEntry, type EarningStatus, type HistoryRow, type HistoryStatus } from '../../protocol/index.js';
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
  check_json?: string | null;
  reason?: string | null;
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
  ...withReceipt(r),
});

/** An entry's receipt fields, where the hub gave them. */
function withReceipt(r: Row): Pick<EarningEntry, 'check' | 'reason'> {
  const check = checkFrom(r.check_json ?? null);
  return { ...(check ? { check } : {}), ...(r.reason ? { reason: r.reason } : {}) };
}

/**
 * The history: the hub's entries (src 1) and the runs of tasks here that earned no entry (src 0:
 * lapsed, given back, failed, refused), in one order: time (ms), then source, then row. These are
 * the columns of a history row from each.
 */
const ENTRY_COLUMNS = `e.created_ms AS at_ms, e.created_at AS at, 1 AS src, e.rowid AS rid, e.hub, e.entry_id AS id, e.task_id, e.kind, e.amount, e.status,
  e.check_json, e.reason, t.gpu_ms, t.units, t.unit`;
const RUN_COLUMNS = `a.at_ms, a.at, 0 AS src, a.id AS rid, a.hub, 'local-' || a.id AS id, a.task_id, a.kind, '0' AS amount, a.outcome AS status,
  NULL AS check_json, a.reason, a.gpu_ms, a.units, a.unit`;
/** The hub's statuses: a filter by one of them reads no runs, a filter by a run's outcome no entries. */
const HUB_STATUSES: ReadonlySet<string> = new Set(['pending', 'verified', 'paid', 'rejected']);

interface HistoryDbRow {
  at_ms: number;
  at: string;
  src: number;
  rid: number;
  hub: string;
  id: string;
  task_id: string;
  kind: string;
  amount: string;
  status: HistoryStatus;
  check_json: string | null;
  reason: string | null;
  gpu_ms: number | null;
  units: string | null;
  unit: string | null;
}

function checkFrom(json: string | null): HistoryRow['check'] {
  if (json === null) return null;
  try {
    return ResultCheckSchema.safeParse(JSON.parse(json)).data ?? null;
  } catch {
    return null;
  }
}

const toHistoryRow = (r: HistoryDbRow): HistoryRow => ({
  hub: r.hub,
  id: r.id,
  taskId: r.task_id,
  kind: r.kind,
  amount: r.amount,
  status: r.status,
  createdAt: r.at,
  gpuMs: r.gpu_ms,
  work: r.units !== null && r.unit !== null ? { units: r.units, unit: r.unit } : null,
  check: checkFrom(r.check_json),
  reason: r.reason,
});

/** A page's cursor: where its last row stands in the history's order, as base64url JSON. */
const cursorOf = (r: Pick<HistoryDbRow, 'at_ms' | 'src' | 'rid'>): string => Buffer.from(JSON.stringify([r.at_ms, r.src, r.rid])).toString('base64url');

function parseCursor(cursor: string): { at: number; src: number; rid: number } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'number' && typeof v[2] === 'number') return { at: v[0], src: v[1], rid: v[2] };
  } catch {
    // falls through
  }
  throw new RangeError('that is not a cursor this history gave');
}

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
      INSERT INTO earnings (hub, entry_id, task_id, kind, amount, status, created_at, created_ms, updated_at, check_json, reason)
      VALUES (@hub, @id, @taskId, @kind, @amount, @status, @createdAt, @createdMs, @now, @checkJson, @reason)
      ON CONFLICT (hub, entry_id) DO UPDATE SET
        task_id = excluded.task_id, kind = excluded.kind, amount = excluded.amount, status = excluded.status,
        created_at = excluded.created_at, created_ms = excluded.created_ms, updated_at = excluded.updated_at,
        check_json = coalesce(excluded.check_json, earnings.check_json), reason = coalesce(excluded.reason, earnings.reason)
      WHERE earnings.amount IS NOT excluded.amount OR earnings.status IS NOT excluded.status
        OR earnings.created_at IS NOT excluded.created_at OR earnings.task_id IS NOT excluded.task_id
        OR (excluded.check_json IS NOT NULL AND earnings.check_json IS NOT excluded.check_json)
        OR (excluded.reason IS NOT NULL AND earnings.reason IS NOT excluded.reason)`);
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
      SELECT kind FROM k WHERE kind IS NOT NULL
      UNION SELECT DISTINCT kind FROM task_attempts ORDER BY kind`);
    this.cursorStmt = db.prepare<[string], { ledger_seq: string }>('SELECT ledger_seq FROM mirror_cursors WHERE hub = ?');
    this.setCursorStmt = db.prepare<[string, string]>('INSERT INTO mirror_cursors (hub, ledger_seq) VALUES (?, ?) ON CONFLICT (hub) DO UPDATE SET ledger_seq = excluded.ledger_seq');
    const upsert = db.transaction((hub: string, entries: readonly EarningEntry[], changeCursor?: string) => {
      let changed = 0;
      const now = new Date().toISOString();
      const sums = new RollupChanges();
      for (const e of entries) {
        const old = this.oldStmt.get(hub, e.id);
        const createdMs = Date.parse(e.createdAt);
        // A hub that did not say how it checked an entry leaves what the worker heard at submission.
        const { check, reason, ...rest } = e;
        const receipt = { checkJson: check ? JSON.stringify(check) : null, reason: reason ?? null };
        if (this.upsertStmt.run({ hub, now, ...rest, ...receipt, createdMs }).changes === 0) continue;
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
   * The history, newest first: every entry of the hub's ledger, and every run of a task here that
   * earned no entry (lapsed, given back, failed, refused: task_attempts), each with its receipt. `limit` rows after `cursor` (an opaque `nextCursor`), optionally filtered.
   */
  page(q: { cursor?: string; limit: number; status?: HistoryStatus; kind?: string }): { entries: HistoryRow[]; nextCursor: string | null } {
    // Each source is read newest first along an index of its time (by itself, or after the
    // status, the kind or both: earnings_created_ms, earnings_status_ms, earnings_kind_ms,
    // earnings_kind_status_ms; task_attempts_at_ms) for at most a page past the cursor, and the
    // two are merged: a page costs the same on the first day and after a year of history.
    const c = q.cursor === undefined ? null : parseCursor(q.cursor);
    const n = q.limit + 1;
    const parts: string[] = [];
    const args: Record<string, string | number> = { n };
    if (q.kind !== undefined) args.kind = q.kind;
    if (q.status !== undefined) args.status = q.status;
    if (c) {
      // After the cursor's row in the order (time, source, row), all descending: an entry at the
      // same time comes before a run (source 1 before 0).
      args.at = c.at;
      args.entryRid = c.src === 1 ? c.rid : 0;
      args.runRid = c.src === 0 ? c.rid : Number.MAX_SAFE_INTEGER;
    }
    if (q.status === undefined || HUB_STATUSES.has(q.status)) {
      const where = [
        ...(c ? ['(e.created_ms, e.rowid) < (@at, @entryRid)'] : []),
        ...(q.status !== undefined ? ['e.status = @status'] : []),
        ...(q.kind !== undefined ? ['e.kind = @kind'] : []),
      ];
      parts.push(`SELECT * FROM (SELECT ${ENTRY_COLUMNS} FROM earnings e LEFT JOIN task_times t ON t.hub = e.hub AND t.task_id = e.task_id
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.created_ms DESC, e.rowid DESC LIMIT @n)`);
    }
    if (q.status === undefined || !HUB_STATUSES.has(q.status)) {
      const where = [
        ...(c ? ['(a.at_ms, a.id) < (@at, @runRid)'] : []),
        ...(q.status !== undefined ? ['a.outcome = @status'] : []),
        ...(q.kind !== undefined ? ['a.kind = @kind'] : []),
      ];
      parts.push(`SELECT * FROM (SELECT ${RUN_COLUMNS} FROM task_attempts a ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.at_ms DESC, a.id DESC LIMIT @n)`);
    }
    const rows = this.db.prepare<[Record<string, string | number>], HistoryDbRow>(`${parts.join(' UNION ALL ')} ORDER BY at_ms DESC, src DESC, rid DESC LIMIT @n`).all(args);
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { entries: page.map(toHistoryRow), nextCursor: more && last ? cursorOf(last) : null };
  }

  /** The whole history with its receipts, newest first (`idleforge earnings`). */
  history(): HistoryRow[] {
    const all: HistoryRow[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = this.page({ limit: 500, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...page.entries);
      if (page.nextCursor === null) return all;
      cursor = page.nextCursor;
    }
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

  /** The kinds of task in the history (the history's filter): the ledger's by skipping through its index, and the runs'. */
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
