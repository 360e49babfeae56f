/**
 * The GPU's electricity by hour (migration 8): energy added up exactly (millijoules), apart by
 * source and by the price that applied; a bucket's cost is Σ energy × price, one rounding.
 */
import type { Db } from '../../lib/sqlite.js';

export type EnergySource = 'measured' | 'estimated';

export interface EnergyAdd {
  /** The hour's start, UTC, ISO (2026-12-07T19:00:00.000Z). */
  hour: string;
  source: EnergySource;
  currency: string;
  /** Micro-units per kWh; null while no price is set. */
  pricePerKwh: number | null;
  mj: number;
  workMs: number;
}

export interface EnergyRow {
  hour: string;
  source: EnergySource;
  currency: string;
  pricePerKwh: number | null;
  mj: number;
  workMs: number;
}

/** The recent tasks the estimate's calibration looks at, at most. */
export const WORKED_TASKS = 200;

/** Millijoules in a kWh. */
export const MJ_PER_KWH = 3_600_000_000n;

/** The hour `at` falls in, as its UTC start. */
export const hourOf = (at: Date): string => {
  const d = new Date(at.getTime());
  d.setUTCMinutes(0, 0, 0);
  return d.toISOString();
};

export class EnergyStore {
  private readonly addStmt;
  private readonly sinceStmt;
  private readonly workedStmt;

  constructor(db: Db) {
    this.addStmt = db.prepare(
      `INSERT INTO energy_hours (hour, source, currency, price_per_kwh, mj, work_ms) VALUES (@hour, @source, @currency, @price, @mj, @workMs)
       ON CONFLICT (hour, source, currency, price_per_kwh) DO UPDATE SET mj = mj + excluded.mj, work_ms = work_ms + excluded.work_ms`,
    );
    this.sinceStmt = db.prepare<[string], { hour: string; source: EnergySource; currency: string; price: number; mj: number; workMs: number }>(
      'SELECT hour, source, currency, price_per_kwh AS price, mj, work_ms AS workMs FROM energy_hours WHERE hour >= ? ORDER BY hour',
    );
    this.workedStmt = db.prepare<[number, number], { kind: string; amount: string; gpuMs: number }>(
      `SELECT e.kind, e.amount, t.gpu_ms AS gpuMs FROM earnings e JOIN task_times t ON t.hub = e.hub AND t.task_id = e.task_id
       WHERE e.created_ms >= ? AND e.status != 'rejected' AND t.gpu_ms > 0 ORDER BY e.created_ms DESC LIMIT ?`,
    );
  }

  /**
   * What the last WORKED_TASKS tasks credited since `sinceIso` earned per kind, with the GPU time
   * this machine spent on them (only tasks it timed): the estimate's calibration by real work.
   * The newest first, from the ledger's index of its time (created_ms): a few hundred rows, however long the day.
   */
  worked(sinceIso: string): Array<{ kind: string; amount: bigint; gpuMs: number; tasks: number }> {
    const byKind = new Map<string, { kind: string; amount: bigint; gpuMs: number; tasks: number }>();
    for (const r of this.workedStmt.all(Date.parse(sinceIso), WORKED_TASKS)) {
      const k = byKind.get(r.kind) ?? { kind: r.kind, amount: 0n, gpuMs: 0, tasks: 0 };
      k.amount += BigInt(r.amount);
      k.gpuMs += r.gpuMs;
      k.tasks += 1;
      byKind.set(r.kind, k);
    }
    return [...byKind.values()];
  }

  add(e: EnergyAdd): void {
    if (!Number.isSafeInteger(e.mj) || e.mj < 0 || !Number.isSafeInteger(e.workMs) || e.workMs < 0) throw new RangeError('energy is a whole, non-negative number of millijoules');
    this.addStmt.run({ hour: e.hour, source: e.source, currency: e.currency, price: e.pricePerKwh ?? -1, mj: e.mj, workMs: e.workMs });
  }

  /** Every row from the hour `sinceIso` falls in on, oldest first. */
  since(sinceIso: string): EnergyRow[] {
    return this.sinceStmt.all(hourOf(new Date(sinceIso))).map((r) => ({ hour: r.hour, source: r.source, currency: r.currency, pricePerKwh: r.price < 0 ? null : r.price, mj: r.mj, workMs: r.workMs }));
  }
}

/** What rows add up to: kWh as millijoules, the cost in micro-units of `currency` (null: none priced), and whether any energy was estimated or unpriced. */
export function sumEnergy(rows: readonly EnergyRow[], currency: string): { mj: bigint; cost: bigint | null; estimated: boolean; unpriced: boolean } {
  let mj = 0n;
  let priced = 0n;
  let anyPriced = false;
  let estimated = false;
  let unpriced = false;
  for (const r of rows) {
    mj += BigInt(r.mj);
    if (r.source === 'estimated') estimated = true;
    if (r.pricePerKwh === null || r.currency !== currency) {
      unpriced = true;
      continue;
    }
    anyPriced = true;
    priced += BigInt(r.mj) * BigInt(r.pricePerKwh);
  }
  return { mj, cost: anyPriced ? (priced + MJ_PER_KWH / 2n) / MJ_PER_KWH : null, estimated, unpriced };
}
