/**
 * Customer jobs: splitting into tasks, pricing, status and the assembled result.
 *
 * Pricing: a task pays `matmulWorkUnits(slice) × rewardPerGflop / 10⁹` base units (rounded
 * down), and a job costs the sum of its tasks' rewards, so the hub pays out exactly what it
 * charges.
 */
import { JobCreatedSchema, JobStatusSchema, type JobCreated, type JobStatus, type MatmulJobRequest } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import type { HubContext } from './context.js';
import { badRequest, checkOutput, conflict, forbidden, notFound } from './errors.js';
import { jobsStore, tasksStore } from './store/index.js';
import { blobToF32, iso, newId } from './util.js';

/** Most multiply-adds one task may hold (a few tens of ms on a slow GPU). */
export const MAX_TASK_MACS = 2 ** 22;
export const GFLOP = 1_000_000_000n;
/** Default pay: 1 token (10¹⁸ base units) per 10⁹ floating-point operations. */
export const DEFAULT_REWARD_PER_GFLOP = 10n ** 18n;

export interface PlannedTask {
  row0: number;
  rows: number;
  reward: bigint;
}

/** Row slices of C with at most MAX_TASK_MACS multiply-adds each (at least one row). */
export function planMatmulTasks(dims: matmul.MatmulDims, rewardPerGflop: bigint, maxMacs = MAX_TASK_MACS): PlannedTask[] {
  const { m, n, k } = dims;
  const perTask = Math.max(1, Math.min(m, Math.floor(maxMacs / (n * k))));
  const tasks: PlannedTask[] = [];
  for (let row0 = 0; row0 < m; row0 += perTask) {
    const rows = Math.min(perTask, m - row0);
    tasks.push({ row0, rows, reward: (matmul.matmulWorkUnits({ m: rows, n, k }) * rewardPerGflop) / GFLOP });
  }
  return tasks;
}

function decodeFiniteF32(name: 'a' | 'b', text: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  const values = blobToF32(bytes);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw badRequest(`${name} holds a value that is not a finite number (NaN or ±Infinity) at element ${i}`);
  }
  return bytes;
}

export function createMatmulJob(ctx: HubContext, customerId: string, req: MatmulJobRequest): JobCreated {
  const { m, n, k } = req;
  // The schema has checked the base64 alphabet and lengths; Buffer decodes natively.
  const a = decodeFiniteF32('a', req.a);
  const b = decodeFiniteF32('b', req.b);
  const plan = planMatmulTasks({ m, n, k }, ctx.rewardPerGflop);
  const price = plan.reduce((sum, t) => sum + t.reward, 0n);
  const id = newId('job');
  const createdAt = iso(ctx.now());
  ctx.db.transaction(() => {
    jobsStore.insertJob(ctx.db, { id, customerId, kind: 'matmul', m, n, k, a, b, price: price.toString(), tasksTotal: plan.length, createdAt });
    for (const t of plan) {
      tasksStore.insertTask(ctx.db, { id: newId('task'), jobId: id, kind: 'matmul', row0: t.row0, rows: t.rows, reward: t.reward.toString(), createdAt });
    }
  }).immediate();
  return checkOutput(JobCreatedSchema, { id, tasks: plan.length, price: price.toString() });
}

function ownJob(ctx: HubContext, customerId: string, jobId: string): jobsStore.JobRow {
  const job = jobsStore.getJob(ctx.db, jobId);
  if (!job) throw notFound(`there is no job ${jobId}`, 'JOB_NOT_FOUND');
  if (job.customer_id !== customerId) throw forbidden('that job belongs to another customer', 'NOT_YOUR_JOB');
  return job;
}

export function jobStatus(ctx: HubContext, customerId: string, jobId: string): JobStatus {
  const job = ownJob(ctx, customerId, jobId);
  return checkOutput(JobStatusSchema, {
    id: job.id,
    kind: job.kind,
    status: job.status,
    progress: { done: job.tasks_done, total: job.tasks_total },
  });
}

/** C as f32 little-endian row-major m×n, assembled from the tasks' verified slices. */
export function jobResult(ctx: HubContext, customerId: string, jobId: string): Buffer {
  const job = ownJob(ctx, customerId, jobId);
  if (job.status !== 'done') {
    throw conflict(`the job is not done yet (${job.tasks_done} of ${job.tasks_total} tasks); try again later`, 'JOB_NOT_DONE');
  }
  const parts = tasksStore.jobResults(ctx.db, jobId);
  const out = Buffer.alloc(job.m * job.n * 4);
  for (const p of parts) {
    if (!p.result || p.result.byteLength !== p.rows * job.n * 4) throw new Error(`job ${jobId} is done but rows ${p.row0}.. have no result`);
    p.result.copy(out, p.row0 * job.n * 4);
  }
  return out;
}
