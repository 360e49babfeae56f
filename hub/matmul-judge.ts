/**
 * The hub's side of matmul tasks: leasing one (A's rows of the task and the job's B, from the
 * inputs cache) and judging its result (Freivalds' check, jobs/matmul.ts `verify`). A result
 * that fails is not yet a strike: the hub is sure only once another worker's answer to the same
 * inputs passes.
 */
import { bytesToF32, matmulOutputFits, ResultRequestSchemas, toF32, type ResultResponse, type TaskOf } from '../protocol/index.js';
import { JOB_SPECS } from '../jobs/index.js';
import { settleJob } from './billing.js';
import type { HubContext } from './context.js';
import { badRequest, notFound, parseInput } from './errors.js';
import { assertLeaseHeld } from './leases.js';
import { countRejected, countValid } from './standing.js';
import { earningsStore, jobsStore, tasksStore, trustStore } from './store/index.js';
import { f32ToBuffer } from './util.js';

/** A matmul task's A in the inputs cache (job ids key the jobs' B). */
const taskInputKey = (taskId: string): string => `task:${taskId}`;

export const matmulParamsOf = (task: tasksStore.TaskRow, job: jobsStore.JobRow): TaskOf<'matmul'>['params'] => ({ m: task.rows, n: job.n, k: job.k });

export function leaseMatmul(ctx: HubContext, task: tasksStore.TaskRow, job: jobsStore.JobRow, common: Pick<TaskOf<'matmul'>, 'id' | 'reward' | 'leaseExpiresAt'>): TaskOf<'matmul'> {
  // A stays in the cache for the verification of the result (one read of the blob, not two).
  const a = ctx.inputs.bytes(taskInputKey(task.id), () => tasksStore.readTaskInput(ctx.db, task.id));
  const b = ctx.inputs.bytes(job.id, () => jobsStore.readB(ctx.db, job.id));
  return { ...common, kind: 'matmul', params: matmulParamsOf(task, job), inputs: { a, b } };
}

export async function judgeMatmul(ctx: HubContext, worker: string, task: tasksStore.TaskRow, job: jobsStore.JobRow, body: unknown, nowIso: string): Promise<ResultResponse> {
  const dims = matmulParamsOf(task, job);
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
    const verdict = JOB_SPECS.matmul.verify({ kind: 'matmul', dims, a, b }, { kind: 'matmul', c });
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

