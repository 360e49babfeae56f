/**
 * A worker's standing: the trust it has earned per kind, the strikes against it, and what it may
 * hold.
 *
 * - Trust is earned per kind, by work someone else checked (Freivalds' check, a second worker's
 *   agreeing answer, the hub's own search) and by time: a worker's results of a kind may stand
 *   alone only once `trustUnits` work units of that kind were checked, the first of them at
 *   least `trustAgeMs` ago, with no lapsed lease and no strike outstanding. A count of
 *   agreements is not enough: two keys of one person agree with each other for free.
 * - A strike counts only where the hub is sure the worker was wrong (a rehash fails, another
 *   answer proves a nonce missing, the hub's own search disagrees, or another worker's answer to
 *   the same task passed where this one failed). `maxStrikes` cut the worker off; every
 *   `forgiveAfter` valid results in a row forgive one.
 * - Limits: an established worker holds at most `leaseCap` leases, one fewer for each lapsed lease
 *   not yet worked off (a lapse is never a strike). A new key (fewer than `newKey.checkedTasks`
 *   checked results) holds at most `newKey.leases` leases and `newKey.pending` results waiting
 *   for a second worker, and gets no task while it is owed `newKey.unpaid` base units or more, so
 *   a swarm of fresh keys gets little and costs the hub little.
 */
import type { HubContext } from './context.js';
import { forbidden } from './errors.js';
import { tasksStore, trustStore, workersStore, type Sql } from './store/index.js';
import type { LeaseLimit } from './store/tasks.js';
import { iso } from './util.js';

export interface NewKeyLimits {
  /** Checked results below which a key counts as new. */
  checkedTasks: number;
  /** Leases a new key may hold at once (the worker runs one task and leases two ahead). */
  leases: number;
  /** Results of a new key waiting for a second worker, at most. */
  pending: number;
  /** A new key gets no task while it is owed this much (pending and unpaid verified credit). */
  unpaid: bigint;
}

export interface StandingPolicy {
  /** Checked work units of a kind before a worker's results of it may stand alone. */
  trustUnits: number;
  /** …and at least this long since the first of them was checked (ms). */
  trustAgeMs: number;
  /** Share of a trusted worker's results still sent to a second worker (spot checks), 0..1. */
  spotCheckShare: number;
  /** Strikes that cut a worker off. */
  maxStrikes: number;
  /** Valid results in a row that forgive one strike. */
  forgiveAfter: number;
  /** Leases an established worker may hold at once. */
  leaseCap: number;
  newKey: NewKeyLimits;
  /** A credit nobody else checked is paid only after this long, and taken back before if its worker is caught (ms). */
  holdMs: number;
  /** Different workers past the new-key stage whose results a task rejected before the job fails (the task, not the workers, is at fault). */
  failAfterRejections: number;
}

/** 10¹⁸: one token of an 18-decimal token. */
const TOKEN = 10n ** 18n;

export const DEFAULT_STANDING: StandingPolicy = {
  // 128 checked tasks of 2²⁰ nonces, over a day at least.
  trustUnits: 2 ** 27,
  trustAgeMs: 24 * 3600_000,
  spotCheckShare: 0.1,
  maxStrikes: 3,
  forgiveAfter: 20,
  leaseCap: 8,
  newKey: { checkedTasks: 20, leases: 3, pending: 4, unpaid: 10n * TOKEN },
  holdMs: 3600_000,
  failAfterRejections: 3,
};

export function checkStandingPolicy(p: StandingPolicy): void {
  const whole = (v: number, min: number, name: string): void => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be a whole number ≥ ${min}`);
  };
  whole(p.trustUnits, 0, 'trustUnits');
  if (!(p.trustAgeMs >= 0)) throw new RangeError('trustAgeMs must be ≥ 0');
  if (!(p.spotCheckShare >= 0 && p.spotCheckShare <= 1)) throw new RangeError('spotCheckShare must be between 0 and 1');
  whole(p.maxStrikes, 1, 'maxStrikes');
  whole(p.forgiveAfter, 1, 'forgiveAfter');
  whole(p.leaseCap, 1, 'leaseCap');
  whole(p.newKey.checkedTasks, 0, 'newKey.checkedTasks');
  whole(p.newKey.leases, 1, 'newKey.leases');
  whole(p.newKey.pending, 1, 'newKey.pending');
  if (p.newKey.unpaid <= 0n) throw new RangeError('newKey.unpaid must be positive');
  if (!(p.holdMs >= 0)) throw new RangeError('holdMs must be ≥ 0');
  whole(p.failAfterRejections, 1, 'failAfterRejections');
}

/** 403 WORKER_SUSPENDED for a worker that was cut off. */
export const suspendedError = (s: { at: string; reason: string }): Error => forbidden(`this worker was cut off on ${s.at}: ${s.reason}`, 'WORKER_SUSPENDED');

/**
 * The functions below read and write through `q`: the transaction they are a step of (never
 * `ctx.db` inside one: another connection would not see its writes and could wait on its locks),
 * or `ctx.db` for a read outside any.
 */
type StandingCtx = Pick<HubContext, 'now' | 'standing'>;

/** Whether `worker`'s results of `kind` may stand alone (see the policy above). */
export async function isTrusted(q: Sql, ctx: StandingCtx, worker: string, kind: string): Promise<boolean> {
  const t = await trustStore.trustOf(q, worker, kind);
  if (!t || t.checked_units < ctx.standing.trustUnits) return false;
  if (Date.parse(t.first_checked_at) > ctx.now() - ctx.standing.trustAgeMs) return false;
  const w = await workersStore.getWorker(q, worker);
  return w !== undefined && w.strikes === 0 && (await trustStore.leasePenaltyOf(q, worker)) === 0;
}

/** Whether a result of `kind` by `worker` must be confirmed by a second worker. */
export async function needsReplica(q: Sql, ctx: StandingCtx & Pick<HubContext, 'random'>, worker: string, kind: string): Promise<boolean> {
  if (!(await isTrusted(q, ctx, worker, kind))) return true;
  return ctx.random() < ctx.standing.spotCheckShare;
}

/**
 * Why a lease found nothing for its worker, in plain words for its owner (the 204's header,
 * docs/PROTOCOL.md). The lease itself applies the limits (store/tasks.ts `claimNext`, the
 * function `hub_lease` of migration 7): a worker holds at most its cap; a new key gets nothing
 * while it is owed `newKey.unpaid` or more, and no task of a kind that needs a second worker while
 * `newKey.pending` of its results wait for one.
 */
export function limitReason(limit: LeaseLimit): string {
  switch (limit.code) {
    case 'cap':
      return `this worker already holds ${limit.cap} task${limit.cap === 1 ? '' : 's'}, its limit for now`;
    case 'unpaid':
      return 'a new worker gets more tasks once what it has earned is checked and paid';
    case 'pending':
      return 'a new worker gets more of these tasks once its results are checked';
  }
}

/**
 * Counts a checked, valid result: trust in its kind grows by its work units. Call inside the
 * write transaction that credits it (`q`).
 */
export async function countValid(q: Sql, ctx: StandingCtx, worker: string, kind: string, units: number): Promise<void> {
  await workersStore.recordValid(q, worker, ctx.standing.forgiveAfter);
  await trustStore.recordChecked(q, worker, kind, units, iso(ctx.now()));
}

/**
 * Counts a result the hub is sure was wrong: a strike, trust in the kind starts over, credit
 * nobody else checked is taken back (before it is paid) and its tasks are done again, and at
 * `maxStrikes` the worker is cut off. Call inside the write transaction that records it (`q`).
 * The transaction may run again: the operator's line (credit taken back) is logged once it has
 * committed.
 */
export async function countRejected(
  q: Sql,
  ctx: Pick<HubContext, 'standing' | 'log'> & { sessions?: HubContext['sessions'] },
  worker: string,
  kind: string,
  nowIso: string,
): Promise<{ suspended: boolean; revoked: number }> {
  const strikes = await workersStore.recordRejected(q, worker);
  await trustStore.resetTrust(q, worker, kind);
  let revoked = 0;
  for (const e of await trustStore.revocableOf(q, worker, kind)) {
    if (!(await trustStore.revokeEarning(q, e.id))) continue;
    revoked++;
    const task = await tasksStore.getTask(q, e.task_id);
    if (task && (await trustStore.reopenTask(q, task.id))) await trustStore.uncountTaskDone(q, task.job_id);
  }
  if (revoked > 0) q.afterCommit(() => ctx.log(`took back ${revoked} unchecked credit${revoked === 1 ? '' : 's'} of ${worker} (${kind}): a later check proved it wrong`));
  if (strikes < ctx.standing.maxStrikes) return { suspended: false, revoked };
  await workersStore.suspend(q, worker, `${strikes} results were rejected`, nowIso);
  // Its sessions in this process see the cut-off at once (other processes within a second).
  q.afterCommit(() => ctx.sessions?.forgetWorker(worker));
  await tasksStore.releaseLeasesOf(q, worker);
  return { suspended: true, revoked };
}
