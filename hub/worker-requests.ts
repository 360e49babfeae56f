/**
 * The worker side of the hub: heartbeats, leasing tasks, judging results, the ledger.
 *
 * Leasing takes the oldest queued task (lowest `seq`) of a kind the worker asked for and has not
 * answered before (one statement, `claimTask`), after returning expired leases to the queue.
 * Judging a result, writing
 * the ledger entry and moving the task on happen in one write transaction (`ctx.write`: a
 * serializable PostgreSQL transaction, see store/db.ts) that locks the task's row and checks the
 * lease again, so two submissions of the same result (retries, replays, races, other hub
 * processes) cannot both be credited: the second finds the task done (or its own earlier answer). What differs between kinds (a leased task's form, judging its
 * result) is the kind's entry in kinds.ts.
 */
import {
  EarningsQuerySchema,
  PayoutsQuerySchema,
  EarningsResponseSchema,
  HeartbeatRequestSchema,
  JOB_KINDS,
  LeaseRequestSchema,
  LeaseResponseSchema,
  PayoutAddressRequestSchema,
  PayoutsResponseSchema,
  ReceivedPayoutsResponseSchema,
  type ReceivedPayoutsResponse,
  ResultResponseSchema,
  bytesToBase64,
  encodeTaskFrame,
  isJobKind,
  type EarningsResponse,
  type JobKind,
  type ResultResponse,
  type Task,
} from '../protocol/index.js';
import { getAddress } from 'ethers';
import type { z } from 'zod';
import { JOB_SPECS } from '../jobs/index.js';
import type { HubContext } from './context.js';
import { checkOutput, conflict, notFound, parseInput } from './errors.js';
import { carvedKinds, hubKindOf, type SizingContext } from './kinds/index.js';
import { minUnitsOf, recordBenchmark, REPLICA_SLACK, TASK_SECONDS } from './sizing.js';
import { assertLeaseHeld } from './leases.js';
import { limitReason } from './standing.js';
import { earningsStore, jobsStore, payoutsStore, tasksStore, workersStore, type Sql } from './store/index.js';
import { iso, newId } from './util.js';

export const DEFAULT_EARNINGS_PAGE = 100;

export async function heartbeat(ctx: HubContext, worker: string, body: unknown): Promise<{ ok: true }> {
  const hb = parseInput(HeartbeatRequestSchema, body);
  const json = JSON.stringify(hb);
  const nowIso = iso(ctx.now());
  await ctx.write(async (q) => {
    await workersStore.recordHeartbeat(q, worker, json, nowIso);
    // The benchmark is where a worker's task sizes start (hub/sizing.ts).
    await recordBenchmark(q, worker, hb, nowIso);
  });
  return { ok: true };
}

/** Registers where this worker's payouts go (a watch-only wallet); null goes back to its own. */
export async function setPayoutAddress(ctx: HubContext, worker: string, body: unknown): Promise<{ ok: true; payoutAddress: string }> {
  const { address } = parseInput(PayoutAddressRequestSchema, body);
  const payout = address === null ? worker : getAddress(address);
  const nowIso = iso(ctx.now());
  await ctx.write((q) => workersStore.setPayoutAddress(q, worker, payout, nowIso));
  return { ok: true, payoutAddress: payout };
}

/**
 * A task's job, for its unchanging columns (kind, sizes, spec, customer): kept per process once
 * read (a lease and a result each asked for it), so its status and counts may be stale; what
 * depends on those reads them in its transaction.
 */
export async function getJobOf(ctx: HubContext, task: tasksStore.TaskRow): Promise<jobsStore.JobRow> {
  let jobs = jobCache.get(ctx);
  if (!jobs) jobCache.set(ctx, (jobs = new Map()));
  const hit = jobs.get(task.job_id);
  if (hit) return hit;
  const job = await jobsStore.getJob(ctx.db, task.job_id);
  if (!job) throw new Error(`task ${task.id} belongs to a missing job ${task.job_id}`);
  if (jobs.size >= JOB_CACHE_SIZE) jobs.delete(jobs.keys().next().value!);
  jobs.set(job.id, job);
  return job;
}

const JOB_CACHE_SIZE = 4096;
const jobCache = new WeakMap<object, Map<string, jobsStore.JobRow>>();

/** Kinds whose results the hub cannot check alone, so a second worker must agree. */
const REPLICATED_KINDS: readonly JobKind[] = JOB_KINDS.filter((k) => JOB_SPECS[k].replicated);

/**
 * The lease: the oldest task of `kinds` that `worker` may have, leased to it until
 * `leaseExpiresAt`; or the limit that stopped it; or neither when there is no task for it. One
 * statement (store/tasks.ts `claimNext`, the function `hub_lease` of migration 7), which commits on
 * its own or joins the transaction `q` is part of: it locks the worker's row before reading its
 * standing, so one worker's leases at once are counted against its cap one after the other, and
 * locks the task it takes with SKIP LOCKED, so a task another hub process is leasing at the same
 * moment is passed over, never leased twice.
 */
export async function claimTask(
  q: Sql,
  ctx: Pick<HubContext, 'standing'> & SizingContext,
  worker: string,
  kinds: readonly JobKind[],
  nowIso: string,
  leaseExpiresAt: string,
): Promise<{ task?: tasksStore.TaskRow; limit?: tasksStore.LeaseLimit }> {
  // Lapsed leases go back to the queue at most once a second per process (a statement saved on
  // nearly every lease; a lapsed task waits a second longer at most).
  const last = requeuedAt.get(ctx) ?? '';
  if (last === '' || Date.parse(nowIso) - Date.parse(last) >= REQUEUE_EVERY_MS || nowIso < last) {
    await tasksStore.requeueExpiredLeases(q, nowIso);
    requeuedAt.set(ctx, nowIso);
  }
  return tasksStore.claimNext(q, { worker, kinds, replicated: REPLICATED_KINDS, now: nowIso, expiresAt: leaseExpiresAt, policy: ctx.standing, carve: carvePolicy(ctx) });
}

/** How the lease carves (hub/sizing.ts): each carved kind with its own sizes, in work units. */
function carvePolicy(ctx: SizingContext): tasksStore.CarvePolicy {
  return {
    kinds: carvedKinds(ctx).map(({ kind, sizing }) => ({ kind, newSize: sizing.newKeyUnits, minSize: minUnitsOf(sizing), maxSize: sizing.maxUnits })),
    id: newId('task'),
    seconds: TASK_SECONDS,
    slack: REPLICA_SLACK,
  };
}

/** How often one process puts lapsed leases back (see claimTask). */
const REQUEUE_EVERY_MS = 1000;
const requeuedAt = new WeakMap<object, string>();

/**
 * Leases the oldest waiting task of one of the requested kinds, or says why there is none for
 * this worker (`reason`: a limit in plain words, null when there is simply no work).
 * A task's byte inputs (a matmul's matrices) are their raw bytes here (views of what the inputs
 * cache holds); `leaseAnswer` puts the task in the form the worker asked for. The route
 * has checked that `worker` was not cut off (routes/worker.ts, with its session).
 */
export async function leaseTask(ctx: HubContext, worker: string, body: unknown): Promise<{ task: Task } | { reason: string | null }> {
  const { kinds } = parseInput(LeaseRequestSchema, body);
  const known = kinds.filter(isJobKind);
  if (known.length === 0) return { reason: null };
  const now = ctx.now();
  const nowIso = iso(now);
  const leaseExpiresAt = iso(now + ctx.leaseMs);
  const { task: leased, limit } = await claimTask(ctx.db, ctx, worker, known, nowIso, leaseExpiresAt);
  if (!leased) return { reason: limit ? limitReason(limit) : null };
  ctx.metrics.leased(leased.kind);
  rememberLease(ctx, leased);

  const job = await getJobOf(ctx, leased);
  const task = await hubKindOf(leased.kind, `task ${leased.id}`, 'lease').leasedTask(ctx, leased, job, { id: leased.id, reward: leased.reward, leaseExpiresAt });
  return checkOutput(LeaseResponseSchema, { task });
}

/**
 * The tasks this process leased, as leased (without their input bytes), until their result or
 * release comes: the row a result is judged against, without reading it again, when the result
 * comes to the process that leased the task (HAProxy keeps a worker on one process). Only the
 * common case is taken from here: the lease still this worker's by the row; the credit's
 * statement checks the lease again in the database, and anything else reads the row.
 */
const leases = new WeakMap<object, Map<string, tasksStore.TaskRow>>();
const LEASE_CACHE_SIZE = 16_384;

function rememberLease(ctx: HubContext, task: tasksStore.TaskRow): void {
  let held = leases.get(ctx);
  if (!held) leases.set(ctx, (held = new Map()));
  if (held.size >= LEASE_CACHE_SIZE) held.delete(held.keys().next().value!);
  const { input: _input, ...row } = task;
  held.set(task.id, row);
}

/** The task as this process leased it to `worker`, while that lease lives; else read now. */
async function taskForResult(ctx: HubContext, taskId: string, worker: string, nowIso: string, take: boolean): Promise<tasksStore.TaskRow | undefined> {
  const held = leases.get(ctx);
  const row = held?.get(taskId);
  if (row && take) held!.delete(taskId);
  if (row && row.status === 'leased' && row.lease_worker === worker && row.lease_expires_at !== null && row.lease_expires_at > nowIso) return row;
  return tasksStore.getTask(ctx.db, taskId);
}

/**
 * A leased task as the worker asked for it: the binary task frame (its byte inputs as raw
 * sections, see protocol/frame.ts; the parts to send one after another), or the v1 JSON answer
 * (byte inputs as base64).
 */
export function leaseAnswer(leased: { task: Task }, form: 'json'): { task: Task };
export function leaseAnswer(leased: { task: Task }, form: 'frame'): Uint8Array[];
export function leaseAnswer(leased: { task: Task }, form: 'frame' | 'json'): Uint8Array[] | { task: Task } {
  const { task } = leased;
  const json: Record<string, unknown> = {};
  const sections: { name: string; bytes: Uint8Array }[] = [];
  for (const [name, value] of Object.entries(task.inputs)) {
    if (!(value instanceof Uint8Array)) json[name] = value;
    else if (form === 'frame') sections.push({ name, bytes: value });
    else json[name] = bytesToBase64(value);
  }
  if (form === 'json') return { task: { ...task, inputs: json } as Task };
  return encodeTaskFrame({ ...task, inputs: json }, sections);
}

/**
 * Gives a leased task back before its lease ends (the worker paused, or is stopping): it goes
 * back to the queue at once instead of when the lease lapses. Nothing is credited or counted.
 */
export async function releaseLease(ctx: HubContext, worker: string, taskId: string): Promise<{ ok: true }> {
  const nowIso = iso(ctx.now());
  leases.get(ctx)?.delete(taskId);
  const task = await tasksStore.getTask(ctx.db, taskId);
  if (!task) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
  await assertLeaseHeld(ctx.db, task, worker, nowIso);
  if (!(await ctx.write((q) => tasksStore.releaseTask(q, taskId, worker)))) {
    throw conflict('your lease on this task has ended', 'LEASE_EXPIRED');
  }
  return { ok: true };
}

/**
 * The largest body a result for `taskId` from `worker` may be, after checking (before the body
 * is read) that `worker` holds its lease: a key with no lease cannot make the hub read 64 MiB.
 * The kind says how large its output may be (jobs/ `maxResultBytes`).
 */
export async function resultBodyLimit(ctx: HubContext, worker: string, taskId: string): Promise<number> {
  const nowIso = iso(ctx.now());
  const task = await taskForResult(ctx, taskId, worker, nowIso, false);
  if (!task) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
  await assertLeaseHeld(ctx.db, task, worker, nowIso);
  return hubKindOf(task.kind, `task ${task.id}`, 'judge').maxResultBytes(task, await getJobOf(ctx, task)) + RESULT_SLACK_BYTES;
}
/** Room for the JSON around a result's data. */
const RESULT_SLACK_BYTES = 4096;

/** Verifies a result and records the outcome in the ledger, exactly once. The route has checked that `worker` was not cut off. */
export async function submitResult(ctx: HubContext, worker: string, taskId: string, body: unknown): Promise<ResultResponse> {
  const nowIso = iso(ctx.now());
  const task = await taskForResult(ctx, taskId, worker, nowIso, true);
  if (!task) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
  await assertLeaseHeld(ctx.db, task, worker, nowIso);
  const job = await getJobOf(ctx, task);
  const response = await hubKindOf(task.kind, `task ${task.id}`, 'judge').judge(ctx, worker, task, job, body, nowIso);
  ctx.metrics.judged(task.kind, response.status);
  if (response.status === 'accepted') ctx.onCredited();
  return checkOutput(ResultResponseSchema, response);
}

/** One page of the worker's ledger (ascending ids) and its balance by status. */
export async function earnings(ctx: HubContext, worker: string, query: unknown): Promise<EarningsResponse> {
  const q = parseInput(EarningsQuerySchema, query, 'INVALID_QUERY', 'query');
  const limit = q.limit ?? DEFAULT_EARNINGS_PAGE;
  const entry = (r: earningsStore.EarningRow): EarningsResponse['entries'][number] => {
    const check = earningsStore.checkOf(r);
    return {
      id: String(r.id),
      taskId: r.task_id,
      kind: r.kind,
      amount: r.amount,
      status: r.status,
      createdAt: r.created_at,
      ...(check ? { check } : {}),
      ...(r.reason !== null ? { reason: r.reason } : {}),
    };
  };
  const balanceView = (b: { pending: bigint; verified: bigint; paid: bigint }): EarningsResponse['balance'] => ({
    pending: b.pending.toString(),
    verified: b.verified.toString(),
    paid: b.paid.toString(),
  });
  if (q.changedAfter !== undefined) {
    const after = BigInt(q.changedAfter);
    const rows = await earningsStore.listChanges(ctx.db, worker, after, limit + 1);
    const page = rows.slice(0, limit);
    const balance = await earningsStore.balanceOf(ctx.db, worker);
    // Nothing changed: the cursor stays, unless the worker's ledger here never reached it (another database).
    const reached = page.length > 0 ? BigInt(page[page.length - 1]!.change_seq) : after < balance.seq ? after : balance.seq;
    return checkOutput(EarningsResponseSchema, {
      entries: page.map(entry),
      balance: balanceView(balance),
      nextCursor: rows.length > limit ? reached.toString() : null,
      changeCursor: reached.toString(),
    });
  }
  const rows = await earningsStore.listEarnings(ctx.db, worker, BigInt(q.after ?? '0'), limit + 1);
  const page = rows.slice(0, limit);
  const more = rows.length > limit;
  const balance = await earningsStore.balanceOf(ctx.db, worker);
  return checkOutput(EarningsResponseSchema, {
    entries: page.map(entry),
    balance: balanceView(balance),
    nextCursor: more && page.length > 0 ? String(page[page.length - 1]!.id) : null,
  });
}

/**
 * Every payout to the worker's payout address, whoever earned it (the rigs of one owner pay to
 * one address): what the chain shows anyway (hash, amount, block) and whether it was this
 * worker's. Another worker's payout is listed only once broadcast (sent or confirmed): one that
 * is not on chain is that worker's business. A rig learns nothing of another address.
 */
export async function receivedPayouts(ctx: HubContext, worker: string): Promise<ReceivedPayoutsResponse> {
  const address = await workersStore.payoutAddressOf(ctx.db, worker);
  const rows = await payoutsStore.listPayoutsTo(ctx.db, address);
  return checkOutput(ReceivedPayoutsResponseSchema, {
    address,
    payouts: rows
      .filter((p) => p.worker === worker || p.status === 'sent' || p.status === 'confirmed')
      .map((p) => ({
        txHash: p.status === 'pending' ? null : p.tx_hash,
        amount: p.amount,
        status: p.status,
        blockNumber: p.block_number,
        createdAt: p.created_at,
        mine: p.worker === worker,
        from: p.treasury,
      })),
  });
}

export async function payouts(ctx: HubContext, worker: string, query: unknown = {}): Promise<z.infer<typeof PayoutsResponseSchema>> {
  const q = parseInput(PayoutsQuerySchema, query, 'INVALID_QUERY', 'query');
  const view = (p: payoutsStore.PayoutRow): z.infer<typeof PayoutsResponseSchema>['payouts'][number] => ({
    id: p.id,
    amount: p.amount,
    status: p.status,
    // A pending payout's transaction is signed but may not be sent yet.
    txHash: p.status === 'pending' ? null : p.tx_hash,
    createdAt: p.created_at,
  });
  if (q.limit === undefined) return checkOutput(PayoutsResponseSchema, { payouts: (await payoutsStore.listPayouts(ctx.db, worker)).map(view) });
  const rows = await payoutsStore.pagePayouts(ctx.db, worker, q.before ?? null, q.limit + 1);
  const page = rows.slice(0, q.limit);
  return checkOutput(PayoutsResponseSchema, { payouts: page.map(view), nextCursor: rows.length > q.limit ? page[page.length - 1]!.id : null });
}
