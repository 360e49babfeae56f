/**
 * The worker side of the hub: heartbeats, leasing tasks, judging results, the ledger.
 *
 * Leasing takes the oldest queued task (lowest `seq`) of a kind the worker asked for, after
 * returning every expired lease to the queue. Judging a result, writing the ledger entry and
 * moving the task on happen in one IMMEDIATE SQLite transaction, so two submissions of the same
 * result (retries, replays, races) cannot both be credited: the second finds the task done.
 */
import {
  EarningsQuerySchema,
  EarningsResponseSchema,
  HeartbeatRequestSchema,
  JOB_KINDS,
  LeaseRequestSchema,
  LeaseResponseSchema,
  PayoutsResponseSchema,
  ResultRequestSchemas,
  ResultResponseSchema,
  base64ToF32,
  matmulOutputFits,
  type EarningsResponse,
  type ResultResponse,
  type Task,
} from '../protocol/index.js';
import type { z } from 'zod';
import { matmul } from '../kernels/index.js';
import type { HubContext } from './context.js';
import { badRequest, checkOutput, conflict, forbidden, notFound, parseInput } from './errors.js';
import { earningsStore, jobsStore, payoutsStore, tasksStore, workersStore } from './store/index.js';
import { blobToF32, f32ToBuffer, iso } from './util.js';

export const DEFAULT_EARNINGS_PAGE = 100;

export function heartbeat(ctx: HubContext, worker: string, body: unknown): { ok: true } {
  const hb = parseInput(HeartbeatRequestSchema, body);
  workersStore.recordHeartbeat(ctx.db, worker, JSON.stringify(hb), iso(ctx.now()));
  return { ok: true };
}

function getJobOf(ctx: HubContext, task: tasksStore.TaskRow): jobsStore.JobRow {
  const job = jobsStore.getJob(ctx.db, task.job_id);
  if (!job) throw new Error(`task ${task.id} belongs to a missing job ${task.job_id}`);
  return job;
}

/** Leases the oldest waiting task of one of the requested kinds, or null when there is none. */
export function leaseTask(ctx: HubContext, worker: string, body: unknown): { task: Task } | null {
  const { kinds } = parseInput(LeaseRequestSchema, body);
  const known = kinds.filter((k): k is (typeof JOB_KINDS)[number] => (JOB_KINDS as readonly string[]).includes(k));
  if (known.length === 0) return null;
  const now = ctx.now();
  const nowIso = iso(now);
  const leaseExpiresAt = iso(now + ctx.leaseMs);
  const leased = ctx.db
    .transaction(() => {
      tasksStore.requeueExpiredLeases(ctx.db, nowIso);
      const t = tasksStore.nextQueuedTask(ctx.db, known);
      if (!t) return null;
      if (!tasksStore.leaseTask(ctx.db, t.id, worker, leaseExpiresAt)) throw new Error(`task ${t.id} left the queue while being leased`);
      jobsStore.markJobRunning(ctx.db, t.job_id);
      workersStore.touchWorker(ctx.db, worker, nowIso);
      return t;
    })
    .immediate();
  if (!leased) return null;

  const job = getJobOf(ctx, leased);
  switch (leased.kind) {
    case 'matmul': {
      const a = jobsStore.readRowsOfA(ctx.db, job.id, leased.row0, leased.rows, job.k).toString('base64');
      const b = ctx.inputs.base64(job.id, () => jobsStore.readB(ctx.db, job.id));
      return checkOutput(LeaseResponseSchema, {
        task: {
          id: leased.id,
          kind: 'matmul',
          reward: leased.reward,
          leaseExpiresAt,
          params: { m: leased.rows, n: job.n, k: job.k },
          inputs: { a, b },
        },
      });
    }
    default:
      throw new Error(`task ${leased.id} has kind ${leased.kind}, which this hub cannot lease`);
  }
}

/** Throws the 403/409 a submission gets when `worker` does not hold a live lease on `task`. */
function assertLeaseHeld(task: tasksStore.TaskRow, worker: string, nowIso: string): void {
  if (task.status === 'done') throw conflict('a result for this task was already accepted', 'ALREADY_DONE');
  if (task.status === 'leased' && task.lease_worker !== worker) throw forbidden('this task is leased to another worker', 'NOT_YOUR_LEASE');
  if (task.status === 'queued' || task.lease_expires_at === null || task.lease_expires_at <= nowIso) {
    throw conflict('your lease on this task has expired; the task went back to the queue', 'LEASE_EXPIRED');
  }
}

/** Verifies a result and records the outcome in the ledger, exactly once. */
export function submitResult(ctx: HubContext, worker: string, taskId: string, body: unknown): ResultResponse {
  const nowIso = iso(ctx.now());
  const task = tasksStore.getTask(ctx.db, taskId);
  if (!task) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
  assertLeaseHeld(task, worker, nowIso);
  const job = getJobOf(ctx, task);
  if (task.kind !== 'matmul') throw new Error(`task ${task.id} has kind ${task.kind}, which this hub cannot judge`);

  const dims = { m: task.rows, n: job.n, k: job.k };
  const { output } = parseInput(ResultRequestSchemas.matmul, body);
  const misfit = matmulOutputFits(dims, output);
  if (misfit) throw badRequest(`output.c: ${misfit}`);
  const c = base64ToF32(output.c);

  const response = ctx.db
    .transaction((): ResultResponse => {
      // Read again inside the write lock: another submission may have won in the meantime.
      const current = tasksStore.getTask(ctx.db, taskId);
      if (!current) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
      assertLeaseHeld(current, worker, nowIso);
      const a = blobToF32(jobsStore.readRowsOfA(ctx.db, job.id, current.row0, current.rows, job.k));
      const b = ctx.inputs.f32(job.id, () => jobsStore.readB(ctx.db, job.id));
      const verdict = matmul.verifyMatmul(dims, a, b, c);
      if (verdict.ok) {
        if (!tasksStore.completeTask(ctx.db, taskId, worker, f32ToBuffer(c), nowIso)) throw new Error(`task ${taskId} changed under the write lock`);
        const entryId = earningsStore.insertEarning(ctx.db, { taskId, worker, kind: current.kind, amount: current.reward, status: 'verified', createdAt: nowIso });
        jobsStore.countTaskDone(ctx.db, job.id, nowIso);
        workersStore.countAccepted(ctx.db, worker);
        return { status: 'accepted', credited: current.reward, entryId: String(entryId) };
      }
      if (!tasksStore.releaseTask(ctx.db, taskId, worker)) throw new Error(`task ${taskId} changed under the write lock`);
      const entryId = earningsStore.insertEarning(ctx.db, { taskId, worker, kind: current.kind, amount: '0', status: 'rejected', createdAt: nowIso });
      workersStore.countRejected(ctx.db, worker);
      return { status: 'rejected', credited: '0', entryId: String(entryId), reason: verdict.reason };
    })
    .immediate();
  if (response.status === 'accepted' && jobsStore.getJob(ctx.db, job.id)?.status === 'done') ctx.inputs.forget(job.id);
  return checkOutput(ResultResponseSchema, response);
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
    payouts: payoutsStore.listPayouts(ctx.db, worker).map((p) => ({ id: p.id, amount: p.amount, status: p.status, txHash: p.tx_hash, createdAt: p.created_at })),
  });
}
