/**
 * Sums of the earnings ledger by UTC hour and UTC day and by status (`earnings_hourly`,
 * `earnings_daily`, migration 0008), so that the totals, the week's and the day's earnings and
 * the chart's buckets read a few hundred rows however long the history, never the entries.
 *
 * Amounts are decimal TEXT added and taken away as bigint here, exactly: SQL never sums an amount
 * (SQLite's SUM over 18-decimal amounts overflows 64-bit integers or turns to a double). Every
 * write of an entry goes through `RollupChanges` in the same transaction: its old row (if any)
 * taken away, its new one added, so a status change moves its amount from one status to another.
 */
import type { EarningStatus } from '../../protocol/index.js';
import type { Db } from '../../lib/sqlite.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** The latest instant a Date holds: "until the end of time". */
export const END_OF_TIME_MS = 8.64e15;

export type StatusSums = Record<EarningStatus, { amount: bigint; entries: number }>;

export const emptySums = (): StatusSums => ({
  pending: { amount: 0n, entries: 0 },
  verified: { amount: 0n, entries: 0 },
  paid: { amount: 0n, entries: 0 },
  rejected: { amount: 0n, entries: 0 },
});

const TABLES = { hour: { table: 'earnings_hourly', key: 'hour', size: HOUR_MS }, day: { table: 'earnings_daily', key: 'day', size: DAY_MS } } as const;
type Period = keyof typeof TABLES;

/** The changes one transaction makes to the sums, gathered by (period, start, status), then written once each. */
export class RollupChanges {
  private readonly deltas = new Map<string, { period: Period; start: number; status: EarningStatus; amount: bigint; entries: number }>();

  /** Counts an entry in (sign 1) or out (sign -1) of its hour and day. */
  add(createdMs: number, status: EarningStatus, amount: bigint, sign: 1 | -1): void {
    for (const period of ['hour', 'day'] as const) {
      const start = Math.floor(createdMs / TABLES[period].size);
      const key = `${period} ${start} ${status}`;
      let d = this.deltas.get(key);
      if (!d) {
        d = { period, start, status, amount: 0n, entries: 0 };
        this.deltas.set(key, d);
      }
      d.amount += amount * BigInt(sign);
      d.entries += sign;
    }
  }

  get size(): number {
    return this.deltas.size;
  }

  /** Writes the gathered changes (inside the caller's transaction). */
  apply(rollups: Rollups): void {
    for (const d of this.deltas.values()) if (d.amount !== 0n || d.entries !== 0) rollups.change(d.period, d.start, d.status, d.amount, d.entries);
    this.deltas.clear();
  }
}

export class Rollups {
  private readonly get;
  private readonly put;
  private readonly drop;
  private readonly range;
  private readonly edge;

  constructor(db: Db) {
    const stmts = <T>(make: (t: (typeof TABLES)[Period]) => T): Record<Period, T> => ({ hour: make(TABLES.hour), day: make(TABLES.day) });
    this.get = stmts((t) => db.prepare<[number, string], { amount: string; entries: number }>(`SELECT amount, entries FROM ${t.table} WHERE ${t.key} = ? AND status = ?`));
    this.put = stmts((t) => db.prepare<[number, string, string, number]>(`INSERT OR REPLACE INTO ${t.table} (${t.key}, status, amount, entries) VALUES (?, ?, ?, ?)`));
    this.drop = stmts((t) => db.prepare<[number, string]>(`DELETE FROM ${t.table} WHERE ${t.key} = ? AND status = ?`));
    this.range = stmts((t) =>
      db.prepare<[number, number], { status: EarningStatus; amount: string; entries: number }>(`SELECT status, amount, entries FROM ${t.table} WHERE ${t.key} >= ? AND ${t.key} < ?`),
    );
    this.edge = db.prepare<[number, number], { status: EarningStatus; amount: string }>('SELECT status, amount FROM earnings WHERE created_ms >= ? AND created_ms < ?');
  }

  /** Adds `amount` and `entries` (either may be negative) to one row. */
  change(period: Period, start: number, status: EarningStatus, amount: bigint, entries: number): void {
    const row = this.get[period].get(start, status);
    const total = (row ? BigInt(row.amount) : 0n) + amount;
    const count = (row?.entries ?? 0) + entries;
    if (total < 0n || count < 0) throw new Error(`the earnings sums of ${period} ${start} (${status}) would go below zero: the ledger and its sums disagree`);
    if (count === 0 && total === 0n) this.drop[period].run(start, status);
    else this.put[period].run(start, status, total.toString(), count);
  }

  /**
   * Sums by status of the entries created in [fromMs, toMs): whole UTC days from the daily rows,
   * whole hours around them from the hourly rows, and the minutes at either end (a viewer's
   * midnight or hour need not be UTC's: India is 5:30 ahead) from the entries themselves, on
   * their time's index.
   */
  between(fromMs: number, toMs: number): StatusSums {
    const sums = emptySums();
    const addRows = (rows: Iterable<{ status: EarningStatus; amount: string; entries: number }>): void => {
      for (const r of rows) {
        sums[r.status].amount += BigInt(r.amount);
        sums[r.status].entries += r.entries;
      }
    };
    const addEntries = (from: number, to: number): void => {
      if (from >= to) return;
      for (const r of this.edge.iterate(from, to)) {
        sums[r.status].amount += BigInt(r.amount);
        sums[r.status].entries += 1;
      }
    };
    const h0 = Math.ceil(fromMs / HOUR_MS);
    const h1 = Math.floor(toMs / HOUR_MS);
    if (h0 >= h1) {
      addEntries(fromMs, toMs);
      return sums;
    }
    addEntries(fromMs, h0 * HOUR_MS);
    addEntries(h1 * HOUR_MS, toMs);
    const d0 = Math.ceil(h0 / 24);
    const d1 = Math.floor(h1 / 24);
    if (d0 < d1) {
      addRows(this.range.day.all(d0, d1));
      addRows(this.range.hour.all(h0, d0 * 24));
      addRows(this.range.hour.all(d1 * 24, h1));
    } else {
      addRows(this.range.hour.all(h0, h1));
    }
    return sums;
  }
}

/** Computes both tables again from the entries (migration 0008; a bench's seeded year). */
export function rebuildRollups(db: Db): void {
  const changes = new RollupChanges();
  for (const r of db.prepare<[], { created_ms: number; status: EarningStatus; amount: string }>('SELECT created_ms, status, amount FROM earnings').iterate()) {
    changes.add(r.created_ms, r.status, BigInt(r.amount), 1);
  }
  db.exec('DELETE FROM earnings_hourly; DELETE FROM earnings_daily;');
  changes.apply(new Rollups(db));
}
