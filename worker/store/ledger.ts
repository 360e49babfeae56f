/**
 * The local mirror of the hub's earnings ledger, one row per hub entry (idempotent upserts).
 * Written without an fsync per commit (lib/sqlite.ts `withoutFsync`): the hub's ledger is the
 * truth, and the engine reconciles with it on start, so a power cut costs nothing here.
 */
import { ResultCheckSchema, type EarningEntry, type EarningStatus, type HistoryRow, type HistoryStatus } from '../../protocol/index.js';
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
 * lapsed, given back, failed, refused), in one order: time, then source, then row.
 */
/** The columns of a history row from the hub's entries (src 1) and from the runs here (src 0). */
const ENTRY_COLUMNS = `e.created_at AS at, 1 AS src, e.rowid AS rid, e.hub, e.entry_id AS id, e.task_id, e.kind, e.amount, e.status,
  e.check_json, e.reason, t.gpu_ms, t.units, t.unit`;
const RUN_COLUMNS = `a.at, 0 AS src, a.id AS rid, a.hub, 'local-' || a.id AS id, a.task_id, a.kind, '0' AS amount, a.outcome AS status,
  NULL AS check_json, a.reason, a.gpu_ms, a.units, a.unit`;
/** The hub's statuses: a filter by one of them reads no runs, a filter by a run's outcome no entries. */
const HUB_STATUSES: ReadonlySet<string> = new Set(['pending', 'verified', 'paid', 'rejected']);

interface HistoryDbRow {
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
const cursorOf = (r: Pick<HistoryDbRow, 'at' | 'src' | 'rid'>): string => Buffer.from(JSON.stringify([r.at, r.src, r.rid])).toString('base64url');

function parseCursor(cursor: string): { at: string; src: number; rid: number } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') return { at: v[0], src: v[1], rid: v[2] };
  } catch {
    // falls through
  }
  throw new RangeError('that is not a cursor this history gave');
}

export class LedgerStore {
  private readonly upsertStmt;
  private readonly listStmt;
  private readonly listAllStmt;

  constructor(private readonly db: Db) {
    this.upsertStmt = db.prepare(`
      INSERT INTO earnings (hub, entry_id, task_id, kind, amount, status, created_at, updated_at, check_json, reason)
      VALUES (@hub, @id, @taskId, @kind, @amount, @status, @createdAt, @now, @checkJson, @reason)
      ON CONFLICT (hub, entry_id) DO UPDATE SET
        task_id = excluded.task_id, kind = excluded.kind, amount = excluded.amount, status = excluded.status,
        created_at = excluded.created_at, updated_at = excluded.updated_at,
        check_json = coalesce(excluded.check_json, earnings.check_json), reason = coalesce(excluded.reason, earnings.reason)
      WHERE earnings.amount IS NOT excluded.amount OR earnings.status IS NOT excluded.status
        OR earnings.created_at IS NOT excluded.created_at OR earnings.task_id IS NOT excluded.task_id
        OR (excluded.check_json IS NOT NULL AND earnings.check_json IS NOT excluded.check_json)
        OR (excluded.reason IS NOT NULL AND earnings.reason IS NOT excluded.reason)`);
    this.listStmt = db.prepare<[string], Row>(
      'SELECT * FROM earnings WHERE hub = ? ORDER BY CAST(entry_id AS INTEGER), entry_id',
    );
    this.listAllStmt = db.prepare<[], Row>('SELECT * FROM earnings ORDER BY created_at, hub, entry_id');
    const upsert = db.transaction((hub: string, entries: readonly EarningEntry[]) => {
      let changed = 0;
      const now = new Date().toISOString();
      for (const e of entries) {
        // A hub that did not say how it checked an entry leaves what the worker heard at submission.
        const { check, reason, ...rest } = e;
        changed += this.upsertStmt.run({ hub, now, ...rest, checkJson: check ? JSON.stringify(check) : null, reason: reason ?? null }).changes;
      }
      return changed;
    });
    this.upsertMany = (hub, entries) => withoutFsync(db, () => upsert(hub, entries));
  }

  /** Records entries as the hub reports them; returns how many rows were new or changed. */
  readonly upsertMany: (hub: string, entries: readonly EarningEntry[]) => number;

  record(hub: string, entry: EarningEntry): void {
    this.upsertMany(hub, [entry]);
  }

  /**
   * The history, newest first: every entry of the hub's ledger, and every run of a task here that
   * earned no entry (lapsed, given back, failed, refused: task_attempts), each with its receipt. `limit` rows after `cursor` (an opaque `nextCursor`), optionally filtered.
   */
  page(q: { cursor?: string; limit: number; status?: HistoryStatus; kind?: string }): { entries: HistoryRow[]; nextCursor: string | null } {
    // Each source is read newest first along its time index (earnings_created, task_attempts_at)
    // for at most a page past the cursor, and the two are merged: a page costs the same on the
    // first day and after a year of history.
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
        ...(c ? ['(e.created_at < @at OR (e.created_at = @at AND e.rowid < @entryRid))'] : []),
        ...(q.status !== undefined ? ['e.status = @status'] : []),
        ...(q.kind !== undefined ? ['e.kind = @kind'] : []),
      ];
      parts.push(`SELECT * FROM (SELECT ${ENTRY_COLUMNS} FROM earnings e LEFT JOIN task_times t ON t.hub = e.hub AND t.task_id = e.task_id
        ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.created_at DESC, e.rowid DESC LIMIT @n)`);
    }
    if (q.status === undefined || !HUB_STATUSES.has(q.status)) {
      const where = [
        ...(c ? ['(a.at < @at OR (a.at = @at AND a.id < @runRid))'] : []),
        ...(q.status !== undefined ? ['a.outcome = @status'] : []),
        ...(q.kind !== undefined ? ['a.kind = @kind'] : []),
      ];
      parts.push(`SELECT * FROM (SELECT ${RUN_COLUMNS} FROM task_attempts a ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.at DESC, a.id DESC LIMIT @n)`);
    }
    const rows = this.db.prepare<[Record<string, string | number>], HistoryDbRow>(`${parts.join(' UNION ALL ')} ORDER BY at DESC, src DESC, rid DESC LIMIT @n`).all(args);
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

  /** Every entry, oldest first, with GPU times (the CSV export). */
  rows(): EarningRow[] {
    return this.db.prepare<[], Row & { gpu_ms: number | null }>(`${WITH_TIMES} ORDER BY e.created_at, e.hub, e.entry_id`).all().map(toRow);
  }

  /** The kinds of task in the history (the history's filter). */
  kinds(): string[] {
    return this.db
      .prepare<[], { kind: string }>('SELECT kind FROM earnings UNION SELECT kind FROM task_attempts ORDER BY kind')
      .all()
      .map((r) => r.kind);
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
