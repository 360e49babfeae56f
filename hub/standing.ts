/**
 * A worker's standing, as BOINC's adaptive replication keeps it: trust grows with consecutive
 * valid results and falls to nothing after a rejection; every rejection is a strike, a long
 * enough run of valid results forgives one, and too many strikes cut the worker off.
 */
import type { HubContext } from './context.js';
import { forbidden } from './errors.js';
import { tasksStore, workersStore } from './store/index.js';

export interface StandingPolicy {
  /** Consecutive valid results before a worker's hashsearch results may stand alone. */
  trustAfter: number;
  /** Share of a trusted worker's hashsearch tasks still replicated (spot checks), 0..1. */
  spotCheckShare: number;
  /** Strikes that cut a worker off. */
  maxStrikes: number;
  /** Valid results in a row that forgive one strike. */
  forgiveAfter: number;
}

export const DEFAULT_STANDING: StandingPolicy = { trustAfter: 10, spotCheckShare: 0.1, maxStrikes: 3, forgiveAfter: 20 };

export function checkStandingPolicy(p: StandingPolicy): void {
  if (!Number.isInteger(p.trustAfter) || p.trustAfter < 0) throw new RangeError('trustAfter must be a whole number ≥ 0');
  if (!(p.spotCheckShare >= 0 && p.spotCheckShare <= 1)) throw new RangeError('spotCheckShare must be between 0 and 1');
  if (!Number.isInteger(p.maxStrikes) || p.maxStrikes < 1) throw new RangeError('maxStrikes must be a whole number ≥ 1');
  if (!Number.isInteger(p.forgiveAfter) || p.forgiveAfter < 1) throw new RangeError('forgiveAfter must be a whole number ≥ 1');
}

/** 403 WORKER_SUSPENDED for a worker that was cut off. */
export function assertNotSuspended(ctx: HubContext, worker: string): void {
  const s = workersStore.suspension(ctx.db, worker);
  if (s) throw forbidden(`this worker was cut off on ${s.at}: ${s.reason}`, 'WORKER_SUSPENDED');
}

/** Whether a hashsearch result of `worker` must be confirmed by a second worker. */
export function needsReplica(ctx: HubContext, worker: string): boolean {
  const w = workersStore.getWorker(ctx.db, worker);
  if (!w || w.consecutive_valid < ctx.standing.trustAfter) return true;
  return ctx.random() < ctx.standing.spotCheckShare;
}

/** Counts a valid result. Call inside the write transaction that credits it. */
export function countValid(ctx: HubContext, worker: string): void {
  workersStore.recordValid(ctx.db, worker, ctx.standing.forgiveAfter);
}

/**
 * Counts a rejected result and cuts the worker off at `maxStrikes`, returning its leases to the
 * queue. Call inside the write transaction that records the rejection.
 */
export function countRejected(ctx: HubContext, worker: string, nowIso: string): { suspended: boolean } {
  const strikes = workersStore.recordRejected(ctx.db, worker);
  if (strikes < ctx.standing.maxStrikes) return { suspended: false };
  workersStore.suspend(ctx.db, worker, `${strikes} results were rejected`, nowIso);
  tasksStore.releaseLeasesOf(ctx.db, worker);
  return { suspended: true };
}
