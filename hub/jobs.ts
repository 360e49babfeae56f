/**
 * Customer jobs, whatever their kind: status, the checks before a result is read, and the pay
 * rates and task sizes kinds plan with. Splitting a job into tasks, pricing it and assembling its
 * result are each kind's own (hub/kinds/).
 *
 * Pricing: a matmul task pays `matmulWorkUnits(slice) × rewardPerGflop / 10⁹` base units and a
 * hashsearch task `count × rewardPerMhash / 10⁶` (both rounded down); a job costs the sum of its
 * tasks' rewards. A replicated hashsearch task pays each of its two agreeing workers in full:
 * replication is the hub's cost of checking, not the customer's. The customer pays the price
 * from its balance: reserved when the job is accepted, charged task by task (billing.ts).
 */
import { JobStatusSchema, type JobStatus } from '../protocol/index.js';
import type { HubContext } from './context.js';
import { checkOutput, conflict, forbidden, notFound } from './errors.js';
import { jobsStore } from './store/index.js';

/**
 * Most multiply-adds one task may hold: 2²⁷, a 512³ product (0.27 TFLOP: about 0.1–1 s on a software
 * GPU, milliseconds on a gaming one; the worker cuts it into slices of ≤ 100 ms). Big enough that a
 * feeder-size job is one task, so B crosses the network once and the protocol's cost per task
 * stays small beside the compute.
 */
export const MAX_TASK_MACS = 2 ** 27;
/** Default pay: 1 token (10¹⁸ base units) per 10⁹ floating-point operations. */
export const DEFAULT_REWARD_PER_GFLOP = 10n ** 18n;
/** Default pay: 1 token per 10⁶ hashes (a SHA-256 is a few thousand integer operations). */
export const DEFAULT_REWARD_PER_MHASH = 10n ** 18n;
/**
 * Most nonces in a hashsearch task for a key whose rate the hub has not observed yet (seconds on a
 * software GPU, milliseconds on a real one); after its results, a worker's tasks are about a
 * second of its hashing (hub/sizing.ts).
 */
export const DEFAULT_HASHSEARCH_TASK_COUNT = 2 ** 20;
/** The smallest task a job is searched in is at least its count over this (its target is checked at that size). */
export const MAX_HASHSEARCH_TASKS_PER_JOB = 4096;

async function ownJob(ctx: HubContext, customerId: string, jobId: string): Promise<jobsStore.JobRow> {
  const job = await jobsStore.getJob(ctx.db, jobId);
  if (!job) throw notFound(`there is no job ${jobId}`, 'JOB_NOT_FOUND');
  if (job.customer_id !== customerId) throw forbidden('that job belongs to another customer', 'NOT_YOUR_JOB');
  return job;
}

export async function jobStatus(ctx: HubContext, customerId: string, jobId: string): Promise<JobStatus> {
  const job = await ownJob(ctx, customerId, jobId);
  return checkOutput(JobStatusSchema, {
    id: job.id,
    kind: job.kind,
    status: job.status,
    progress: { done: job.tasks_done, total: job.tasks_total },
  });
}

export type JobResult =
  | { type: 'octet-stream'; bytes: Buffer }
  | { type: 'json'; body: { nonces: string[] } }
  /** A picture: its raw f32 RGB (`Accept: application/octet-stream`), or a PNG (the default), made when asked for. */
  | { type: 'image'; raw: Buffer; png: () => Buffer };

/** The customer's job, once every task is done (else 409 JOB_NOT_DONE). */
export async function doneJob(ctx: HubContext, customerId: string, jobId: string): Promise<jobsStore.JobRow> {
  const job = await ownJob(ctx, customerId, jobId);
  if (job.status !== 'done') {
    throw conflict(`the job is not done yet (${job.tasks_done} of ${job.tasks_total} tasks); try again later`, 'JOB_NOT_DONE');
  }
  return job;
}

