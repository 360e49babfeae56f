/**
 * Customer jobs: splitting into tasks, pricing, status and the assembled result.
 *
 * Pricing: a matmul task pays `matmulWorkUnits(slice) × rewardPerGflop / 10⁹` base units and a
 * hashsearch task `count × rewardPerMhash / 10⁶` (both rounded down); a job costs the sum of its
 * tasks' rewards. A replicated hashsearch task pays each of its two agreeing workers in full:
 * replication is the hub's cost of checking, not the customer's. The customer pays the price
 * from its balance: reserved when the job is accepted, charged task by task (billing.ts).
 */
import { z } from 'zod';
import {
  HASHSEARCH_MAX_NONCES,
  HASHSEARCH_MAX_TASK_COUNT,
  HashsearchOutputSchema,
  JobCreatedSchema,
  JobStatusSchema,
  bytesToF32,
  type HashsearchJobRequest,
  type JobCreated,
  type JobStatus,
  type MatmulJobRequest,
} from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { reserveJob } from './billing.js';
import type { HubContext } from './context.js';
import { badRequest, checkOutput, conflict, forbidden, notFound } from './errors.js';
import { jobsStore, tasksStore } from './store/index.js';
import { iso, newId } from './util.js';

/**
 * Most multiply-adds one task may hold: 2²⁷, a 512³ product (0.27 TFLOP: about 0.1–1 s on a software
 * GPU, milliseconds on a gaming one; the worker cuts it into slices of ≤ 100 ms). Big enough that a
 * feeder-size job is one task, so B crosses the network once and the protocol's cost per task
 * stays small beside the compute.
 */
export const MAX_TASK_MACS = 2 ** 27;
export const GFLOP = 1_000_000_000n;
export const MHASH = 1_000_000n;
/** Default pay: 1 token (10¹⁸ base units) per 10⁹ floating-point operations. */
export const DEFAULT_REWARD_PER_GFLOP = 10n ** 18n;
/** Default pay: 1 token per 10⁶ hashes (a SHA-256 is a few thousand integer operations). */
export const DEFAULT_REWARD_PER_MHASH = 10n ** 18n;
/** Nonces per hashsearch task: seconds on a software GPU, milliseconds on a real one. */
export const DEFAULT_HASHSEARCH_TASK_COUNT = 2 ** 20;
/** A job is cut into at most this many hashsearch tasks (bigger jobs get bigger tasks). */
export const MAX_HASHSEARCH_TASKS_PER_JOB = 4096;

export interface PlannedTask {
  row0: number;
  rows: number;
  reward: bigint;
}

/** Row slices of C with at most `maxMacs` multiply-adds each (at least one row). */
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

export interface PlannedRange {
  index: number;
  start: bigint;
  count: number;
  reward: bigint;
}

/** Consecutive nonce ranges of `perTask` nonces (the last may be shorter), at most MAX_HASHSEARCH_TASKS_PER_JOB. */
export function planHashsearchTasks(start: bigint, count: number, rewardPerMhash: bigint, perTask = DEFAULT_HASHSEARCH_TASK_COUNT): PlannedRange[] {
  const size = Math.min(HASHSEARCH_MAX_TASK_COUNT, Math.max(perTask, Math.ceil(count / MAX_HASHSEARCH_TASKS_PER_JOB)));
  const out: PlannedRange[] = [];
  for (let done = 0, index = 0; done < count; done += size, index++) {
    const c = Math.min(size, count - done);
    out.push({ index, start: start + BigInt(done), count: c, reward: (BigInt(c) * rewardPerMhash) / MHASH });
  }
  return out;
}

/** Expected matching nonces among `count` for `target`: count · (target + 1) / 2²⁵⁶. */
export function expectedMatches(target: string, count: number): number {
  const scaled = (BigInt(count) * (BigInt(`0x${target}`) + 1n)) >> 192n;
  return Number(scaled) / 2 ** 64;
}

/**
 * Whether a task of `count` nonces could plausibly match more than HASHSEARCH_MAX_NONCES (its
 * result could not be reported): true when the expected matches plus ten standard deviations
 * reach the limit.
 */
export function targetTooEasy(target: string, count: number): boolean {
  if (count <= HASHSEARCH_MAX_NONCES) return false;
  const e = expectedMatches(target, count);
  return e + 10 * Math.sqrt(e) + 10 > HASHSEARCH_MAX_NONCES;
}

function decodeFiniteF32(name: 'a' | 'b', text: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  const values = bytesToF32(bytes);
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
  // Refused here, not failed later: an honest worker's f32 answer to such a product would not
  // pass the check, and every worker who tried it would be wrongly struck.
  const outOfRange = matmul.productRangeProblem({ m, n, k }, bytesToF32(a), bytesToF32(b));
  if (outOfRange) throw badRequest(`a and b: ${outOfRange}`, 'OUT_OF_F32_RANGE');
  const plan = planMatmulTasks({ m, n, k }, ctx.rewardPerGflop, ctx.matmulTaskMacs);
  const price = plan.reduce((sum, t) => sum + t.reward, 0n);
  const id = newId('job');
  const createdAt = iso(ctx.now());
  ctx.db.transaction(() => {
    jobsStore.insertJob(ctx.db, { id, customerId, kind: 'matmul', m, n, k, price: price.toString(), tasksTotal: plan.length, createdAt });
    // The price is reserved with the job, or neither is written (402 / 429: see billing.ts).
    reserveJob(ctx, { customerId, jobId: id, price, tasks: plan.length });
    jobsStore.insertInputs(ctx.db, id, b);
    for (const t of plan) {
      const taskId = newId('task');
      tasksStore.insertTask(ctx.db, { id: taskId, jobId: id, kind: 'matmul', row0: t.row0, rows: t.rows, reward: t.reward.toString(), createdAt });
      tasksStore.insertTaskInput(ctx.db, taskId, a.subarray(t.row0 * k * 4, (t.row0 + t.rows) * k * 4));
    }
  }).immediate();
  return checkOutput(JobCreatedSchema, { id, tasks: plan.length, price: price.toString() });
}

/** What a hashsearch job stores in `jobs.spec`. */
const HashsearchSpecSchema = z.object({ header: z.string(), target: z.string(), start: z.string(), count: z.number().int().positive() });
export type HashsearchJobSpec = z.infer<typeof HashsearchSpecSchema>;

export function hashsearchSpecOf(job: jobsStore.JobRow): HashsearchJobSpec {
  if (job.kind !== 'hashsearch' || job.spec === null) throw new Error(`job ${job.id} is not a hashsearch job`);
  return HashsearchSpecSchema.parse(JSON.parse(job.spec));
}

export function createHashsearchJob(ctx: HubContext, customerId: string, req: HashsearchJobRequest): JobCreated {
  const spec: HashsearchJobSpec = { header: req.header.toLowerCase(), target: req.target.toLowerCase(), start: req.start, count: req.count };
  const plan = planHashsearchTasks(BigInt(req.start), req.count, ctx.rewardPerMhash, ctx.hashsearchTaskCount);
  const largest = plan[0]!.count;
  if (targetTooEasy(spec.target, largest)) {
    const e = expectedMatches(spec.target, largest);
    throw badRequest(
      `target: too easy: a task of ${largest} nonces would match about ${Math.round(e)} of them, and a result may list at most ${HASHSEARCH_MAX_NONCES}; use a lower target`,
    );
  }
  const price = plan.reduce((sum, t) => sum + t.reward, 0n);
  const id = newId('job');
  const createdAt = iso(ctx.now());
  ctx.db.transaction(() => {
    // m, n, k belong to matmul; a hashsearch job keeps its parameters in `spec`.
    jobsStore.insertJob(ctx.db, { id, customerId, kind: 'hashsearch', m: 1, n: 1, k: 1, price: price.toString(), tasksTotal: plan.length, createdAt, spec: JSON.stringify(spec) });
    reserveJob(ctx, { customerId, jobId: id, price, tasks: plan.length });
    for (const t of plan) {
      tasksStore.insertTask(ctx.db, {
        id: newId('task'),
        jobId: id,
        kind: 'hashsearch',
        row0: t.index,
        rows: 1,
        reward: t.reward.toString(),
        createdAt,
        start: t.start.toString(),
        count: t.count,
      });
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

export type JobResult = { type: 'octet-stream'; bytes: Buffer } | { type: 'json'; body: { nonces: string[] } };

/** The customer's job, once every task is done (else 409 JOB_NOT_DONE). */
export function doneJob(ctx: HubContext, customerId: string, jobId: string): jobsStore.JobRow {
  const job = ownJob(ctx, customerId, jobId);
  if (job.status !== 'done') {
    throw conflict(`the job is not done yet (${job.tasks_done} of ${job.tasks_total} tasks); try again later`, 'JOB_NOT_DONE');
  }
  return job;
}

/** A done hashsearch job's result: `{ nonces }` ascending. */
export function hashsearchJobResult(ctx: HubContext, job: jobsStore.JobRow): JobResult {
  const nonces: string[] = [];
  for (const p of tasksStore.jobResults(ctx.db, job.id)) {
    if (!p.result) throw new Error(`job ${job.id} is done but task ${p.row0} has no result`);
    nonces.push(...HashsearchOutputSchema.parse(JSON.parse(p.result.toString('utf8'))).nonces);
  }
  return { type: 'json', body: { nonces } };
}

/** A done matmul job's result: C as f32 little-endian row-major m×n. */
export function matmulJobResult(ctx: HubContext, job: jobsStore.JobRow): JobResult {
  const out = Buffer.alloc(job.m * job.n * 4);
  for (const p of tasksStore.jobResults(ctx.db, job.id)) {
    if (!p.result || p.result.byteLength !== p.rows * job.n * 4) throw new Error(`job ${job.id} is done but rows ${p.row0}.. have no result`);
    p.result.copy(out, p.row0 * job.n * 4);
  }
  return { type: 'octet-stream', bytes: out };
}
