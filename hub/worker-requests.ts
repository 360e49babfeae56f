/**
 * The worker side of the hub: heartbeats, leasing tasks, judging results, the ledger.
 *
 * Leasing takes the oldest queued task (lowest `seq`) of a kind the worker asked for and has not
 * answered before, after returning every expired lease to the queue. Judging a result, writing
 * the ledger entry and moving the task on happen in one write transaction (`ctx.write`: a
 * savepoint of a group commit, see writes.ts) that checks the lease again, so two submissions of
 * the same result (retries, replays, races) cannot both be credited: the second finds the task
 * done (or its own earlier answer). Hashsearch results are judged in `hashsearch-judge.ts`, with
 * replication.
 */
import {
  EarningsQuerySchema,
  HASHSEARCH_MAX_NONCES,
  EarningsResponseSchema,
  HeartbeatRequestSchema,
  JOB_KINDS,
  LeaseRequestSchema,
  LeaseResponseSchema,
  PayoutAddressRequestSchema,
  PayoutsResponseSchema,
  ResultRequestSchemas,
  ResultResponseSchema,
  bytesToBase64,
  bytesToF32,
  encodeTaskFrame,
  matmulOutputFits,
  toF32,
  type EarningsResponse,
  type JobKind,
  type ResultResponse,
  type Task,
} from '../protocol/index.js';
import { getAddress } from 'ethers';
import type { z } from 'zod';
import { matmul } from '../kernels/index.js';
import type { HubContext } from './context.js';
import { badRequest, checkOutput, conflict, notFound, parseInput } from './errors.js';
import { settleJob } from './billing.js';
import { judgeHashsearch } from './hashsearch-judge.js';
import { hashsearchSpecOf } from './jobs.js';
import { assertLeaseHeld } from './leases.js';
import { countRejected, countValid, leaseLimit } from './standing.js';
import { earningsStore, jobsStore, payoutsStore, tasksStore, trustStore, workersStore } from './store/index.js';
import { f32ToBuffer, iso } from './util.js';

export const DEFAULT_EARNINGS_PAGE = 100;

/** A matmul task's A in the inputs cache (job ids key the jobs' B). */
const taskInputKey = (taskId: string): string => `task:${taskId}`;

export async function heartbeat(ctx: HubContext, worker: string, body: unknown): Promise<{ ok: true }> {
  const hb = parseInput(HeartbeatRequestSchema, body);
  const json = JSON.stringify(hb);
  const nowIso = iso(ctx.now());
  await ctx.write(() => workersStore.recordHeartbeat(ctx.db, worker, json, nowIso));
  return { ok: true };
}

/** Registers where this worker's payouts go (a watch-only wallet); null goes back to its own. */
export async function setPayoutAddress(ctx: HubContext, worker: string, body: unknown): Promise<{ ok: true; payoutAddress: string }> {
  const { address } = parseInput(PayoutAddressRequestSchema, body);
  const payout = address === null ? worker : getAddress(address);
  const nowIso = iso(ctx.now());
  await ctx.write(() => workersStore.setPayoutAddress(ctx.db, worker, payout, nowIso));
  return { ok: true, payoutAddress: payout };
}

export function getJobOf(ctx: HubContext, task: tasksStore.TaskRow): jobsStore.JobRow {
  const job = jobsStore.getJob(ctx.db, task.job_id);
  if (!job) throw new Error(`task ${task.id} belongs to a missing job ${task.job_id}`);
  return job;
}

const isKind = (k: string): k is JobKind => (JOB_KINDS as readonly string[]).includes(k);
/** Kinds whose results the hub cannot check alone, so a second worker must agree. */
const REPLICATED: ReadonlySet<string> = new Set<JobKind>(['hashsearch']);

/**
 * Leases the oldest waiting task of one of the requested kinds, or null when there is none.
 * A matmul task's inputs are their raw bytes here (views of what SQLite and the inputs cache
 * hold); `leaseAnswer` puts the task in the form the worker asked for. The route has checked that
 * `worker` was not cut off (routes/worker.ts, with its session).
 */
export async function leaseTask(ctx: HubContext, worker: string, body: unknown): Promise<{ task: Task } | null> {
  const { kinds } = parseInput(LeaseRequestSchema, body);
  const known = kinds.filter(isKind);
  if (known.length === 0) return null;
  const now = ctx.now();
  const nowIso = iso(now);
  const leaseExpiresAt = iso(now + ctx.leaseMs);
  const leased = await ctx.write(() => {
    tasksStore.requeueExpiredLeases(ctx.db, nowIso);
    // At its cap (or a new key at its limits) a worker gets nothing more for now: a 204.
    const limit = leaseLimit(ctx, worker);
    if (limit && !limit.replicable) return null;
    const t =
      tasksStore.replicaFor(ctx.db, known, worker) ??
      tasksStore.nextQueuedTask(ctx.db, limit ? known.filter((k) => !REPLICATED.has(k)) : known, worker);
    if (!t) return null;
    if (!tasksStore.leaseTask(ctx.db, t.id, worker, leaseExpiresAt)) throw new Error(`task ${t.id} left the queue while being leased`);
    jobsStore.markJobRunning(ctx.db, t.job_id);
    workersStore.touchWorker(ctx.db, worker, nowIso);
    return t;
  });
  if (!leased) return null;

  const job = getJobOf(ctx, leased);
  const common = { id: leased.id, reward: leased.reward, leaseExpiresAt };
  switch (leased.kind) {
    case 'matmul': {
      // A stays in the cache for the verification of the result (one read of the blob, not two).
      const a = ctx.inputs.bytes(taskInputKey(leased.id), () => tasksStore.readTaskInput(ctx.db, leased.id));
      const b = ctx.inputs.bytes(job.id, () => jobsStore.readB(ctx.db, job.id));
      return checkOutput(LeaseResponseSchema, { task: { ...common, kind: 'matmul', params: { m: leased.rows, n: job.n, k: job.k }, inputs: { a, b } } });
    }
    case 'hashsearch': {
      const spec = hashsearchSpecOf(job);
      if (leased.start === null || leased.count === null) throw new Error(`hashsearch task ${leased.id} has no range`);
      return checkOutput(LeaseResponseSchema, {
        task: { ...common, kind: 'hashsearch', params: { header: spec.header, target: spec.target, start: leased.start, count: leased.count }, inputs: {} },
      });
    }
    default:
      throw new Error(`task ${leased.id} has kind ${leased.kind}, which this hub cannot lease`);
  }
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
  const task = tasksStore.getTask(ctx.db, taskId);
  if (!task) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
  assertLeaseHeld(ctx, task, worker, nowIso);
  if (!(await ctx.write(() => tasksStore.releaseTask(ctx.db, taskId, worker)))) {
    throw conflict('your lease on this task has ended', 'LEASE_EXPIRED');
  }
  return { ok: true };
}

/**
 * The largest body a result for `taskId` from `worker` may be, after checking (before the body
 * is read) that `worker` holds its lease: a key with no lease cannot make the hub read 64 MiB.
 * matmul: C as raw f32 or base64 in JSON; hashsearch: its most nonces as decimal strings.
 */
export function resultBodyLimit(ctx: HubContext, worker: string, taskId: string): number {
  const task = tasksStore.getTask(ctx.db, taskId);
  if (!task) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
  assertLeaseHeld(ctx, task, worker, iso(ctx.now()));
  if (task.kind === 'matmul') return Math.ceil((4 * task.rows * getJobOf(ctx, task).n) / 3) * 4 + RESULT_SLACK_BYTES;
  return HASHSEARCH_MAX_NONCES * 24 + RESULT_SLACK_BYTES;
}
/** Room for the JSON around a result's data. */
const RESULT_SLACK_BYTES = 4096;

/** Verifies a result and records the outcome in the ledger, exactly once. The route has checked that `worker` was not cut off. */
export async function submitResult(ctx: HubContext, worker: string, taskId: string, body: unknown): Promise<ResultResponse> {
  const nowIso = iso(ctx.now());
  const task = tasksStore.getTask(ctx.db, taskId);
  if (!task) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
  assertLeaseHeld(ctx, task, worker, nowIso);
  const job = getJobOf(ctx, task);
  let response: ResultResponse;
  switch (task.kind) {
    case 'matmul':
      response = await judgeMatmul(ctx, worker, task, job, body, nowIso);
      break;
    case 'hashsearch':
      response = await judgeHashsearch(ctx, worker, task, job, body, nowIso);
      break;
    default:
      throw new Error(`task ${task.id} has kind ${task.kind}, which this hub cannot judge`);
  }
  if (response.status === 'accepted') ctx.onCredited();
  return checkOutput(ResultResponseSchema, response);
}

async function judgeMatmul(ctx: HubContext, worker: string, task: tasksStore.TaskRow, job: jobsStore.JobRow, body: unknown, nowIso: string): Promise<ResultResponse> {
  const dims = { m: task.rows, n: job.n, k: job.k };
  let c: Float32Array;
  if (Buffer.isBuffer(body)) {
    // Raw f32 bytes of C (application/octet-stream).
    if (body.length !== 4 * dims.m * dims.n) throw badRequest(`the result must be m×n = ${dims.m * dims.n} f32 values (${4 * dims.m * dims.n} bytes), not ${body.length} bytes`);
    c = bytesToF32(body);
  } else {
    const { output } = parseInput(ResultRequestSchemas.matmul, body);
    const misfit = matmulOutputFits(dims, output);
    if (misfit) throw badRequest(`output.c: ${misfit}`);
    // The schema checked the alphabet and the length (JSON holds text only: base64).
    c = toF32(output.c);
  }
  const taskId = task.id;
  let jobDone = false;
  let jobFailed = false;
  let aDone = false;

  const response = await ctx.write((): ResultResponse => {
    // Read again inside the write lock: another submission may have won in the meantime.
    const current = tasksStore.getTask(ctx.db, taskId);
    if (!current) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
    assertLeaseHeld(ctx, current, worker, nowIso);
    const a = ctx.inputs.f32(taskInputKey(taskId), () => tasksStore.readTaskInput(ctx.db, taskId));
    const b = ctx.inputs.f32(job.id, () => jobsStore.readB(ctx.db, job.id));
    const verdict = matmul.verifyMatmul(dims, a, b, c);
    if (verdict.ok) {
      if (!tasksStore.completeTask(ctx.db, taskId, worker, f32ToBuffer(c), nowIso)) throw new Error(`task ${taskId} changed under the write lock`);
      tasksStore.deleteTaskInput(ctx.db, taskId);
      aDone = true;
      const entryId = earningsStore.insertEarning(ctx.db, { taskId, worker, kind: current.kind, amount: current.reward, status: 'verified', createdAt: nowIso });
      if (jobsStore.countTaskDone(ctx.db, job.id, nowIso)) {
        jobsStore.deleteInputs(ctx.db, job.id);
        jobDone = true;
      }
      countValid(ctx, worker, 'matmul', dims.m * dims.n * dims.k);
      // Another worker's answer to the same inputs passed: the ones rejected before were wrong.
      for (const earlier of trustStore.confirmRejections(ctx.db, taskId)) countRejected(ctx, earlier, 'matmul', nowIso);
      return { status: 'accepted', credited: current.reward, entryId: String(entryId) };
    }
    if (!tasksStore.releaseTask(ctx.db, taskId, worker)) throw new Error(`task ${taskId} changed under the write lock`);
    const entryId = earningsStore.insertEarning(ctx.db, { taskId, worker, kind: current.kind, amount: '0', status: 'rejected', createdAt: nowIso });
    // Not yet a strike: the hub is sure only once another worker's answer passes (above). A task
    // that several workers fail is the task's fault (inputs f32 cannot handle), not theirs; only
    // workers past the new-key stage count towards that, or a swarm of fresh keys could fail any
    // customer's job for free.
    trustStore.insertRejection(ctx.db, { taskId, worker, certain: false, reason: verdict.reason, createdAt: nowIso });
    const failedFor = trustStore.establishedRejections(ctx.db, taskId, ctx.standing.newKey.checkedTasks);
    if (failedFor >= ctx.standing.failAfterRejections && trustStore.failJob(ctx.db, job.id, nowIso)) {
      settleJob(ctx, job.id);
      ctx.log(`job ${job.id} failed: task ${taskId} was rejected for ${ctx.standing.failAfterRejections} different workers`);
      jobFailed = true;
    }
    return { status: 'rejected', credited: '0', entryId: String(entryId), reason: verdict.reason };
  });
  if (jobFailed) ctx.inputs.forget(job.id);
  if (aDone) ctx.inputs.forget(taskInputKey(taskId));
  if (jobDone) ctx.inputs.forget(job.id);
  return response;
}

/** One page of the worker's ledger (ascending ids) and its balance by status. */
export function earnings(ctx: HubContext, worker: string, query: unknown): EarningsResponse {
  const q = parseInput(EarningsQuerySchema, query, 'INVALID_QUERY', 'query');
  const limit = q.limit ?? DEFAULT_EARNINGS_PAGE;
  const rows = earningsStore.listEarnings(ctx.db, worker, BigInt(q.after ?? '0'), limit + 1);
  const page = rows.slice(0, limit);
  const more = rows.length > limit;
  const balance = earningsStore.balanceOf(ctx.db, worker);
  return checkOutput(EarningsResponseSchema, {
    entries: page.map((r) => ({ id: String(r.id), taskId: r.task_id, kind: r.kind, amount: r.amount, status: r.status, createdAt: r.created_at })),
    balance: { pending: balance.pending.toString(), verified: balance.verified.toString(), paid: balance.paid.toString() },
    nextCursor: more && page.length > 0 ? String(page[page.length - 1]!.id) : null,
  });
}

export function payouts(ctx: HubContext, worker: string): z.infer<typeof PayoutsResponseSchema> {
  return checkOutput(PayoutsResponseSchema, {
    payouts: payoutsStore.listPayouts(ctx.db, worker).map((p) => ({
      id: p.id,
      amount: p.amount,
      status: p.status,
      // A pending payout's transaction is signed but may not be sent yet.
      txHash: p.status === 'pending' ? null : p.tx_hash,
      createdAt: p.created_at,
    })),
  });
}
