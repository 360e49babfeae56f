/**
 * The hub's part of each job kind, looked up by the kind's name: creating a customer's job
 * (splitting, pricing, storing), a leased task's wire form, judging a result, the largest result
 * body, and a done job's result. What needs no database (schemas, verification, work units,
 * price, demo jobs) is the kind's spec in jobs/. A kind of protocol/kinds/index.ts without an
 * entry here fails the typecheck.
 */
import type { JobCreated, JobKind, JobRequest, JobRequestOf, ResultResponse, TaskOf } from '../../protocol/index.js';
import { isJobKind } from '../../protocol/index.js';
import { JOB_SPECS } from '../../jobs/index.js';
import type { HubContext } from '../context.js';
import { createHashsearchJob, hashsearchJobResult, hashsearchParamsOf, hashsearchSizing, judgeHashsearch, leaseHashsearch } from './hashsearch.js';
import type { KindSizing } from '../sizing.js';
import { doneJob, type JobResult } from '../jobs.js';
import { createMatmulJob, judgeMatmul, leaseMatmul, matmulJobResult, matmulParamsOf } from './matmul.js';
import { createRenderJob, judgeRender, leaseRender, renderJobResult, renderParamsOf, renderSizing } from './render.js';
import type { jobsStore, tasksStore } from '../store/index.js';

type TaskRow = tasksStore.TaskRow;
type JobRow = jobsStore.JobRow;
/** What the carved kinds' sizes are read from (hub options; their defaults when absent). */
export type SizingContext = Partial<Pick<HubContext, 'hashsearchTaskCount' | 'renderTaskFlops'>>;

export interface HubKind<K extends JobKind> {
  /** Splits, prices and stores a customer's job (already parsed by JobRequestSchema), reserving its price. */
  createJob(ctx: HubContext, customerId: string, req: JobRequestOf<K>): Promise<JobCreated>;
  /** A task just leased, in wire form (byte inputs as raw bytes). */
  leasedTask(ctx: HubContext, task: TaskRow, job: JobRow, common: Pick<TaskOf<K>, 'id' | 'reward' | 'leaseExpiresAt'>): Promise<TaskOf<K>>;
  /** The task's params, as its lease carries them. */
  paramsOf(task: TaskRow, job: JobRow): TaskOf<K>['params'];
  /** Judges a result and records the outcome (ledger, task, trust), exactly once. */
  judge(ctx: HubContext, worker: string, task: TaskRow, job: JobRow, body: unknown, nowIso: string): Promise<ResultResponse>;
  /** The result of a done job. */
  result(ctx: HubContext, job: JobRow): Promise<JobResult>;
  /**
   * For a kind whose tasks are carved at lease time to the worker's speed (hub/sizing.ts), in
   * work units (a task's `weight` turns them into units of its `count`): its sizes. Kinds
   * without it are leased as they were cut.
   */
  sizing?(ctx: SizingContext): KindSizing;
}

export const HUB_KINDS = {
  matmul: { createJob: createMatmulJob, leasedTask: leaseMatmul, paramsOf: matmulParamsOf, judge: judgeMatmul, result: matmulJobResult },
  hashsearch: {
    createJob: createHashsearchJob,
    leasedTask: leaseHashsearch,
    paramsOf: hashsearchParamsOf,
    judge: judgeHashsearch,
    result: hashsearchJobResult,
    sizing: hashsearchSizing,
  },
  render: { createJob: createRenderJob, leasedTask: leaseRender, paramsOf: renderParamsOf, judge: judgeRender, result: renderJobResult, sizing: renderSizing },
} as const satisfies { readonly [K in JobKind]: HubKind<K> };

/** A kind's entry, with the largest result body its spec allows. */
export interface HubKindEntry extends HubKind<JobKind> {
  maxResultBytes(task: TaskRow, job: JobRow): number;
}

/**
 * The entry for `kind`, the kind of `what` (`task …`, `job …`); a kind this hub does not know is
 * an internal error.
 */
export function hubKindOf(kind: string, what: string, doing: 'create' | 'lease' | 'judge' | 'read'): HubKindEntry {
  if (!isJobKind(kind)) throw new Error(`${what} has kind ${kind}, which this hub cannot ${doing}`);
  // Each entry takes only its own kind's values; callers pass rows of the kind they looked up.
  const entry = HUB_KINDS[kind] as unknown as HubKind<JobKind>;
  const spec = JOB_SPECS[kind] as unknown as { maxResultBytes(params: unknown): number };
  return { ...entry, maxResultBytes: (task, job) => spec.maxResultBytes(entry.paramsOf(task, job)) };
}

/** The kinds carved at lease time, with their sizes (hub/sizing.ts). */
export function carvedKinds(ctx: SizingContext): { kind: JobKind; sizing: KindSizing }[] {
  const out: { kind: JobKind; sizing: KindSizing }[] = [];
  for (const [kind, entry] of Object.entries(HUB_KINDS) as [JobKind, HubKind<JobKind>][]) {
    if (entry.sizing) out.push({ kind, sizing: entry.sizing(ctx) });
  }
  return out;
}

/** Creates a customer's job of whichever kind it is. */
export function createJob(ctx: HubContext, customerId: string, req: JobRequest): Promise<JobCreated> {
  return hubKindOf(req.kind, 'the job', 'create').createJob(ctx, customerId, req);
}

/**
 * The job's result once every task is done (409 JOB_NOT_DONE before): matmul, C as f32
 * little-endian row-major m×n; hashsearch, `{ nonces }` ascending; render, the picture (PNG, or raw f32 RGB).
 */
export async function jobResult(ctx: HubContext, customerId: string, jobId: string): Promise<JobResult> {
  const job = await doneJob(ctx, customerId, jobId);
  return hubKindOf(job.kind, `job ${job.id}`, 'read').result(ctx, job);
}
