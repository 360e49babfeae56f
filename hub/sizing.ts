/**
 * Tasks sized to the card (docs/DESIGN.md, "Tasks sized to the card"): a kind whose tasks are
 * carved at lease time (hashsearch, render) gets, from the head of its queue, a task of about
 * `taskSeconds` of this worker's work. The lease does the carving (`hub_lease`, migrations 11 and
 * 13); this module holds its numbers, the worker's rates (`worker_rates`) and the replica rule.
 *
 * Sizes and rates are in work units (what a kind is paid by: nonces, floating-point operations);
 * a task's `count` is in its own units (nonces; samples of each pixel of a render tile), and its
 * `weight` (migration 13) is work units per unit of count: the carve takes the worker's units over
 * the head task's weight (at least 1).
 *
 * - A result that passes the hub's checks (credited, or waiting for a second worker) is an
 *   observation: its units over the time from its lease (or from the worker's previous result,
 *   when later: a worker leasing ahead starts a task when the one before ends) to its arrival,
 *   smoothed (`RATE_SMOOTHING` of the new one). Rejected results teach nothing.
 * - Before the first observation, the heartbeat's benchmark in the kind's unit (the spec's
 *   `speedScore`: MH/s for hashsearch, `renderGflops` for render) is the starting rate, and a key
 *   with no observed rate gets at most `newKeyUnits` (hashsearch: hub option
 *   `hashsearchTaskCount`, 2²⁰ nonces by default; render: 2³⁰ operations, the pass the hub used to
 *   cut), its benchmark's size when that is smaller: a claimed speed buys nothing until results
 *   show it.
 * - A replica (the same range), and any task that was answered (it keeps its range), goes only to
 *   a worker that would do it in `replicaSlack` times the target or less at its own rate (its
 *   benchmark's, else `newKeyUnits` a target): a second of an H200's work is hours on a software
 *   GPU.
 */
import { JOB_KINDS, type HeartbeatRequest, type JobKind, type RateUnit } from '../protocol/index.js';
import { JOB_SPECS, RATE_MEASURES } from '../jobs/index.js';
import { stmt, type Sql } from './store/db.js';

/** What a lease aims for: seconds of the worker's work a task. */
export const TASK_SECONDS = 1;
/** The smallest task carved (units): below it the round trips outweigh the work. */
export const MIN_CARVED_UNITS = 4096;
/** Share of a new observation in the smoothed rate. */
export const RATE_SMOOTHING = 0.5;
/** A replica goes to a worker that would take at most this many times the target on it. */
export const REPLICA_SLACK = 4;

/** Work units one rate unit stands for. */
export const UNIT_SCALE = { GFLOP: 1e9, MH: 1e6 } as const satisfies { readonly [U in RateUnit]: number };

/** A kind's sizing, in work units: how many a task for a key with no observed rate holds at most, and any task. */
export interface KindSizing {
  readonly newKeyUnits: number;
  readonly maxUnits: number;
}

/** The fewest work units a carve aims for: MIN_CARVED_UNITS, or the new-key size when smaller (a task's count is still at least 1). */
export const minUnitsOf = (sizing: KindSizing): number => Math.min(MIN_CARVED_UNITS, sizing.newKeyUnits);

/**
 * The benchmark of a heartbeat as work units a second per kind (only kinds whose score it
 * carries): the starting rates.
 */
export function benchmarkRates(hb: Pick<HeartbeatRequest, 'benchmark'>): { kind: JobKind; rate: number }[] {
  const out: { kind: JobKind; rate: number }[] = [];
  for (const kind of JOB_KINDS) {
    const spec = JOB_SPECS[kind];
    // The kind's own score, in its unit a second (render: renderGflops, not matmul's gflops).
    const score = hb.benchmark?.[spec.speedScore];
    if (score !== undefined && score > 0 && Number.isFinite(score)) out.push({ kind, rate: score * UNIT_SCALE[RATE_MEASURES[spec.paidBy].unit] });
  }
  return out;
}

/** Records the benchmark's rates as the starting point (an observed rate, once there is one, is kept beside). */
export async function recordBenchmark(q: Sql, worker: string, hb: Pick<HeartbeatRequest, 'benchmark'>, now: string): Promise<void> {
  const rates = benchmarkRates(hb);
  if (rates.length === 0) return;
  await stmt<[{ worker: string; kinds: string[]; rates: number[]; now: string }]>(
    q,
    `INSERT INTO worker_rates (worker, kind, benchmark_rate, updated_at)
     SELECT @worker, k, r, @now FROM unnest(@kinds::text[], @rates::float8[]) AS b (k, r)
     ON CONFLICT (worker, kind) DO UPDATE SET benchmark_rate = excluded.benchmark_rate, updated_at = excluded.updated_at`,
  ).run({ worker, kinds: rates.map((r) => r.kind), rates: rates.map((r) => r.rate), now });
}

/**
 * One result of `units` work units of `kind` for task `taskId`, arrived at `now`: smooths the
 * worker's observed rate, in the transaction `q` that judges it (the task's row locked). A task
 * leased before migration 11 (no `leased_at`), or a clock that did not move, teaches nothing.
 */
export async function observeResult(q: Sql, a: { worker: string; kind: string; taskId: string; units: number; now: string }): Promise<number | null> {
  const times = await stmt<[{ worker: string; taskId: string }], { leased_at: string | null; last: string | null }>(
    q,
    `SELECT (SELECT leased_at FROM tasks WHERE id = @taskId) AS leased_at,
            (SELECT last_result_at FROM workers WHERE address = @worker FOR UPDATE) AS last`,
  ).get({ worker: a.worker, taskId: a.taskId });
  await stmt<[string, string]>(q, 'UPDATE workers SET last_result_at = ? WHERE address = ?').run(a.now, a.worker);
  if (!times?.leased_at) return null;
  const from = Math.max(Date.parse(times.leased_at), times.last ? Date.parse(times.last) : 0);
  const ms = Date.parse(a.now) - from;
  if (!(ms > 0)) return null;
  const rate = (a.units * 1000) / ms;
  await stmt<[{ worker: string; kind: string; rate: number; now: string; alpha: number }]>(
    q,
    `INSERT INTO worker_rates (worker, kind, rate, results, updated_at) VALUES (@worker, @kind, @rate::float8, 1, @now)
     ON CONFLICT (worker, kind) DO UPDATE SET
       rate = CASE WHEN worker_rates.rate IS NULL THEN excluded.rate ELSE worker_rates.rate * (1 - @alpha::float8) + excluded.rate * @alpha::float8 END,
       results = worker_rates.results + 1, updated_at = excluded.updated_at`,
  ).run({ worker: a.worker, kind: a.kind, rate, now: a.now, alpha: RATE_SMOOTHING });
  return rate;
}

/** What the hub knows of a worker's speed in a kind (units a second), for tests and the replica rule. */
export async function rateOf(q: Sql, worker: string, kind: string): Promise<{ rate: number | null; benchmarkRate: number | null; results: number } | undefined> {
  const row = await stmt<[string, string], { rate: number | null; benchmark_rate: number | null; results: number }>(
    q,
    'SELECT rate, benchmark_rate, results FROM worker_rates WHERE worker = ? AND kind = ?',
  ).get(worker, kind);
  return row && { rate: row.rate, benchmarkRate: row.benchmark_rate, results: row.results };
}

/**
 * The size `hub_lease` would carve for this worker now (the same SQL function), in units of the
 * `count` of a task of `weight` (1: work units).
 */
export async function sizeFor(q: Sql, worker: string, kind: string, sizing: KindSizing, weight = 1): Promise<number> {
  const row = await stmt<[{ worker: string; kind: string; seconds: number; newSize: number; minSize: number; maxSize: number; weight: number }], { size: number }>(
    q,
    'SELECT hub_task_count(@worker, @kind, @seconds, @newSize, @minSize, @maxSize, @weight::float8) AS size',
  ).get({ worker, kind, seconds: TASK_SECONDS, newSize: sizing.newKeyUnits, minSize: minUnitsOf(sizing), maxSize: sizing.maxUnits, weight });
  return row!.size;
}

/** The least rate (work units a second) a replica's worker must have for a task of `units` (its count × weight). */
export function replicaMinRate(units: number): number {
  return units / (REPLICA_SLACK * TASK_SECONDS);
}
