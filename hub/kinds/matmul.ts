/**
 * The hub's side of matmul: a customer's job cut into row slices of C and priced, leasing a task
 * (A's rows of the task and the job's B, from the inputs cache), judging its result (Freivalds'
 * check, jobs/matmul.ts `verify`) and a done job's C. A result that fails is not yet a strike: the
 * hub is sure only once another worker's answer to the same inputs passes.
 */
import {
  bytesToF32,
  JobCreatedSchema,
  matmulOutputFits,
  ResultRequestSchemas,
  toF32,
  type JobCreated,
  type MatmulJobRequest,
  type ResultResponse,
  type TaskOf,
} from '../../protocol/index.js';
import { JOB_SPECS } from '../../jobs/index.js';
import { matmul } from '../../kernels/index.js';
import { finishIfDone, reserveJob, settleJob } from '../billing.js';
import type { HubContext } from '../context.js';
import { badRequest, checkOutput, notFound, parseInput } from '../errors.js';
import { MAX_TASK_MACS, type JobResult } from '../jobs.js';
import { assertLeaseHeld } from '../leases.js';
import { countRejected, countValid } from '../standing.js';
import { creditStore, earningsStore, jobsStore, ROW_LOCKED_TX, tasksStore, trustStore } from '../store/index.js';
import { f32ToBuffer, iso, newId } from '../util.js';

/** How the hub checks every matmul result: Freivalds' check, its rounds (the receipt's `check`). */
const FREIVALDS: earningsStore.EntryCheck = { method: 'freivalds', size: matmul.FREIVALDS_ROUNDS };

/** A matmul task's A in the inputs cache (job ids key the jobs' B). */
const taskInputKey = (taskId: string): string => `task:${taskId}`;

export const matmulParamsOf = (task: tasksStore.TaskRow, job: jobsStore.JobRow): TaskOf<'matmul'>['params'] => ({ m: task.rows, n: job.n, k: job.k });

export async function leaseMatmul(
  ctx: HubContext,
  task: tasksStore.TaskRow,
  job: jobsStore.JobRow,
  common: Pick<TaskOf<'matmul'>, 'id' | 'reward' | 'leaseExpiresAt'>,
): Promise<TaskOf<'matmul'>> {
  // A stays in the cache for the verification of the result (one read of the blob, not two); the
  // lease's claim read it with the task's row, where it took the task from the queue.
  const a = await ctx.inputs.bytes(taskInputKey(task.id), async () => task.input ?? (await tasksStore.readTaskInput(ctx.db, task.id)));
  const b = await ctx.inputs.bytes(job.id, () => jobsStore.readB(ctx.db, job.id));
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

  // The common case first, in one statement (store/credit.ts): checked here against the inputs
  // (immutable, so the cache's copy is the database's), then credited only if the lease still
  // holds. Anything else (a wrong result, a lapsed or lost lease, earlier answers to the task
  // awaiting confirmation) takes the full path below.
  // Inputs gone (the task was done meanwhile): the full path says why, without a check here.
  const a0 = await ctx.inputs.f32(taskInputKey(taskId), () => tasksStore.readTaskInput(ctx.db, taskId)).catch(() => null);
  const b0 = a0 && (await ctx.inputs.f32(job.id, () => jobsStore.readB(ctx.db, job.id)).catch(() => null));
  // Checked once: the full path below uses this verdict rather than checking again.
  const checked = a0 && b0 ? JOB_SPECS.matmul.verify({ kind: 'matmul', dims, a: a0, b: b0 }, { kind: 'matmul', c }) : null;
  if (checked?.ok) {
    // One statement on its own (see store/credit.ts); the job it completes is settled next.
    const credited = await creditStore.creditVerified(ctx.db, {
      taskId,
      jobId: job.id,
      worker,
      kind: task.kind,
      reward: task.reward,
      result: f32ToBuffer(c),
      units: dims.m * dims.n * dims.k,
      forgiveEvery: ctx.standing.forgiveAfter,
      now: nowIso,
      check: FREIVALDS,
    });
    if (credited) {
      ctx.inputs.forget(taskInputKey(taskId));
      if (credited.mayBeDone) {
        // The credit has committed: a failure here leaves the job to the leader's sweep
        // (billing.ts settleDoneJobs), and the worker still hears that its result was accepted.
        const closed = await finishIfDone(ctx, job.id).catch((error: unknown) => {
          ctx.log(`job ${job.id} may be done but is not closed and settled yet (${error instanceof Error ? error.message : String(error)}); the leader does it`);
          return false;
        });
        if (closed) ctx.inputs.forget(job.id);
      }
      return { status: 'accepted', credited: task.reward, entryId: String(credited.entryId), check: earningsStore.wireCheck(FREIVALDS) };
    }
  }

  // What the transaction decided; the caches are told once it is committed (it may run twice).
  const outcome = await ctx.write(async (q): Promise<{ response: ResultResponse; aDone: boolean; jobDone: boolean; jobFailed: boolean }> => {
    // Read again, its row locked, inside the transaction: another submission may have won in the meantime.
    const current = await tasksStore.lockTask(q, taskId);
    if (!current) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
    await assertLeaseHeld(q, current, worker, nowIso);
    // The inputs are immutable: what the cache holds is what the transaction would read.
    const verdict =
      checked ??
      JOB_SPECS.matmul.verify(
        { kind: 'matmul', dims, a: await ctx.inputs.f32(taskInputKey(taskId), () => tasksStore.readTaskInput(q, taskId)), b: await ctx.inputs.f32(job.id, () => jobsStore.readB(q, job.id)) },
        { kind: 'matmul', c },
      );
    if (verdict.ok) {
      if (!(await tasksStore.completeTask(q, taskId, worker, f32ToBuffer(c), nowIso))) throw new Error(`task ${taskId} changed under the write lock`);
      await tasksStore.deleteTaskInput(q, taskId);
      const entryId = await earningsStore.insertEarning(q, { taskId, worker, kind: current.kind, amount: current.reward, status: 'verified', createdAt: nowIso, check: FREIVALDS });
      let jobDone = false;
      if (await jobsStore.countTaskDone(q, job.id, nowIso)) {
        await jobsStore.deleteInputs(q, job.id);
        jobDone = true;
      }
      await countValid(q, ctx, worker, 'matmul', dims.m * dims.n * dims.k);
      // Another worker's answer to the same inputs passed: the ones rejected before were wrong.
      for (const earlier of await trustStore.confirmRejections(q, taskId)) await countRejected(q, ctx, earlier, 'matmul', nowIso);
      return { response: { status: 'accepted', credited: current.reward, entryId: String(entryId), check: earningsStore.wireCheck(FREIVALDS) }, aDone: true, jobDone, jobFailed: false };
    }
    if (!(await tasksStore.releaseTask(q, taskId, worker))) throw new Error(`task ${taskId} changed under the write lock`);
    const entryId = await earningsStore.insertEarning(q, { taskId, worker, kind: current.kind, amount: '0', status: 'rejected', createdAt: nowIso, check: FREIVALDS, reason: verdict.reason });
    // Not yet a strike: the hub is sure only once another worker's answer passes (above). A task
    // that several workers fail is the task's fault (inputs f32 cannot handle), not theirs; only
    // workers past the new-key stage count towards that, or a swarm of fresh keys could fail any
    // customer's job for free.
    await trustStore.insertRejection(q, { taskId, worker, certain: false, reason: verdict.reason, createdAt: nowIso });
    const failedFor = await trustStore.establishedRejections(q, taskId, ctx.standing.newKey.checkedTasks);
    let jobFailed = false;
    if (failedFor >= ctx.standing.failAfterRejections && (await trustStore.failJob(q, job.id, nowIso))) {
      await settleJob(q, ctx, job.id);
      jobFailed = true;
    }
    return { response: { status: 'rejected', credited: '0', entryId: String(entryId), reason: verdict.reason, check: earningsStore.wireCheck(FREIVALDS) }, aDone: false, jobDone: false, jobFailed };
  }, ROW_LOCKED_TX);
  if (outcome.jobFailed) {
    ctx.log(`job ${job.id} failed: task ${taskId} was rejected for ${ctx.standing.failAfterRejections} different workers`);
    ctx.inputs.forget(job.id);
  }
  if (outcome.aDone) ctx.inputs.forget(taskInputKey(taskId));
  if (outcome.jobDone) ctx.inputs.forget(job.id);
  return outcome.response;
}


export interface PlannedTask {
  row0: number;
  rows: number;
  reward: bigint;
}

/** Row slices of C with at most `maxMacs` multiply-adds each (at least one row). */
export function planMatmulTasks(dims: matmul.MatmulDims, rewardPerGflop: bigint, maxMacs = MAX_TASK_MACS): PlannedTask[] {
  const { m, n, k } = dims;
  const spec = JOB_SPECS.matmul;
  const perTask = Math.max(1, Math.min(m, Math.floor(maxMacs / (n * k))));
  const tasks: PlannedTask[] = [];
  for (let row0 = 0; row0 < m; row0 += perTask) {
    const rows = Math.min(perTask, m - row0);
    tasks.push({ row0, rows, reward: spec.reward(spec.workUnits({ m: rows, n, k }), rewardPerGflop) });
  }
  return tasks;
}


function decodeFiniteF32(name: 'a' | 'b', text: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  const values = bytesToF32(bytes);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw badRequest(`${name} holds a value that is not a finite number (NaN or ±Infinity) at element ${i}`);
  }
  return bytes;
}

export async function createMatmulJob(ctx: HubContext, customerId: string, req: MatmulJobRequest): Promise<JobCreated> {
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
  await ctx.db.tx(async (q) => {
    await jobsStore.insertJob(q, { id, customerId, kind: 'matmul', m, n, k, price: price.toString(), tasksTotal: plan.length, createdAt });
    // The price is reserved with the job, or neither is written (402 / 429: see billing.ts).
    await reserveJob(q, ctx, { customerId, jobId: id, price, tasks: plan.length });
    await jobsStore.insertInputs(q, id, b);
    for (const t of plan) {
      const taskId = newId('task');
      await tasksStore.insertTask(q, { id: taskId, jobId: id, kind: 'matmul', row0: t.row0, rows: t.rows, reward: t.reward.toString(), createdAt });
      await tasksStore.insertTaskInput(q, taskId, a.subarray(t.row0 * k * 4, (t.row0 + t.rows) * k * 4));
    }
  });
  return checkOutput(JobCreatedSchema, { id, tasks: plan.length, price: price.toString() });
}


/** A done matmul job's result: C as f32 little-endian row-major m×n. */
export async function matmulJobResult(ctx: HubContext, job: jobsStore.JobRow): Promise<JobResult> {
  const out = Buffer.alloc(job.m * job.n * 4);
  for (const p of await tasksStore.jobResults(ctx.db, job.id)) {
    if (!p.result || p.result.byteLength !== p.rows * job.n * 4) throw new Error(`job ${job.id} is done but rows ${p.row0}.. have no result`);
    p.result.copy(out, p.row0 * job.n * 4);
  }
  return { type: 'octet-stream', bytes: out };
}

