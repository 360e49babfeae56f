/**
 * The hub's side of hashsearch: a customer's job cut into nonce ranges and priced, leasing a
 * task, judging its results (below), and a done job's nonces.
 *
 * Judging hashsearch results, which the hub can only partly check by itself.
 *
 * A result is first checked on its own: every claimed nonce and `best` rehashed, `best` under
 * the bound an honest search meets (kernels/hashsearch `bestBound`), and a random stretch of
 * `submitCheckNonces` nonces of the range hashed by the hub (`checkStretch`). One that fails is
 * rejected, and the hub is sure: a strike. One that passes:
 * - from a worker trusted in hashsearch (standing.ts) and not drawn for a spot check, is credited
 *   alone: `verified`, but held (`holdMs`) and taken back before payout if a later check proves
 *   its worker wrong;
 * - otherwise waits as `pending` (its ledger entry too) for a second worker that the hub picks at
 *   random from those online and that does not look like the same operator (replica-assign.ts).
 *   When that second result arrives: they agree, both are credited and the task is done; they
 *   differ, whichever is provably wrong (replication.ts) is rejected, and a survivor waits for
 *   yet another worker.
 * A worker never answers the same task twice.
 *
 * Beside the requests (`maintainReplicas`, once a second): replicas whose picked worker did not
 * come are given to another; a result no second worker came for within `replicaTimeoutMs` is
 * checked by the hub on a stretch of `selfCheckNonces` (the whole range when it is that small)
 * and credited alone, held, when it passes; and one held lone credit is checked again the same
 * way. At most `selfCheckPerRound` such checks a round: one fake never costs the hub a full
 * search of a big range.
 */
import { z } from 'zod';
import {
  HASHSEARCH_MAX_NONCES,
  HASHSEARCH_MAX_TASK_COUNT,
  HashsearchOutputSchema,
  JobCreatedSchema,
  ResultRequestSchemas,
  type HashsearchJobRequest,
  type JobCreated,
  type ResultResponse,
  type TaskOf,
} from '../../protocol/index.js';
import { hashsearch } from '../../kernels/index.js';
import { reserveJob } from '../billing.js';
import type { HubContext } from '../context.js';
import { badRequest, checkOutput, notFound, parseInput } from '../errors.js';
import { JOB_SPECS } from '../../jobs/index.js';
import { DEFAULT_HASHSEARCH_TASK_COUNT, MAX_HASHSEARCH_TASKS_PER_JOB, type JobResult } from '../jobs.js';
import { assertLeaseHeld } from '../leases.js';
import { assignReplica } from '../replica-assign.js';
import { checkStretch, deserialize, fromOutput, provablyWrong, serialize, specOf } from '../replication.js';
import { countRejected, countValid, needsReplica } from '../standing.js';
import { earningsStore, jobsStore, replicasStore, ROW_LOCKED_TX, tasksStore, trustStore, type Sql } from '../store/index.js';
import { observeResult, type KindSizing } from '../sizing.js';
import { iso, newId } from '../util.js';

const KIND = 'hashsearch';

/**
 * Hashsearch tasks are carved at lease time (hub/sizing.ts): about a second of the worker's
 * hashing, at most `hashsearchTaskCount` nonces (2²⁰) for a key with no observed rate, and at
 * most the protocol's 2³² for any (0.34 s on an H200: the fastest cards get the cap).
 */
export function hashsearchSizing(ctx: Partial<Pick<HubContext, 'hashsearchTaskCount'>>): KindSizing {
  return { newKeyUnits: ctx.hashsearchTaskCount ?? DEFAULT_HASHSEARCH_TASK_COUNT, maxUnits: HASHSEARCH_MAX_TASK_COUNT };
}

export function hashsearchParamsOf(task: tasksStore.TaskRow, job: jobsStore.JobRow): TaskOf<'hashsearch'>['params'] {
  const spec = hashsearchSpecOf(job);
  if (task.start === null || task.count === null) throw new Error(`hashsearch task ${task.id} has no range`);
  return { header: spec.header, target: spec.target, start: task.start, count: task.count };
}

/** A leased hashsearch task: its range is its params; it has no inputs. */
export async function leaseHashsearch(
  _ctx: HubContext,
  task: tasksStore.TaskRow,
  job: jobsStore.JobRow,
  common: Pick<TaskOf<'hashsearch'>, 'id' | 'reward' | 'leaseExpiresAt'>,
): Promise<TaskOf<'hashsearch'>> {
  return { ...common, kind: KIND, params: hashsearchParamsOf(task, job), inputs: {} };
}

export function judgeHashsearch(ctx: HubContext, worker: string, task: tasksStore.TaskRow, job: jobsStore.JobRow, body: unknown, nowIso: string): Promise<ResultResponse> {
  const { output } = parseInput(ResultRequestSchemas.hashsearch, body);
  const spec = specOf(hashsearchSpecOf(job), task);
  const result = fromOutput(output);
  // Checks on the result alone need no lock: the range and the claim are fixed.
  const verdict = hashsearch.verifyHashsearch(spec, result);
  const wrongAlone = verdict.ok ? checkStretch(spec, result, ctx.replication.submitCheckNonces, ctx.random) : verdict.reason;
  const stored = serialize(result);
  const taskId = task.id;
  const units = spec.count;
  // The receipt's check: every nonce rehashed and a stretch of the hub's own, or another worker.
  const rehashed: earningsStore.EntryCheck = { method: 'rehash', size: Math.min(ctx.replication.submitCheckNonces, spec.count) };
  const replicated: earningsStore.EntryCheck = { method: 'replica' };

  return ctx.write(async (q): Promise<ResultResponse> => {
    // The task's row stays locked until the transaction ends: one result for it is judged at a time.
    const current = await tasksStore.lockTask(q, taskId);
    if (!current) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
    await assertLeaseHeld(q, current, worker, nowIso);
    const reject = async (reason: string, check: earningsStore.EntryCheck): Promise<ResultResponse> => {
      if (!(await tasksStore.releaseTask(q, taskId, worker))) throw new Error(`task ${taskId} changed under the write lock`);
      const entryId = await earningsStore.insertEarning(q, { taskId, worker, kind: KIND, amount: '0', status: 'rejected', createdAt: nowIso, check, reason });
      await replicasStore.insertReplica(q, { taskId, worker, output: stored, status: 'rejected', earningId: entryId, createdAt: nowIso });
      await trustStore.insertRejection(q, { taskId, worker, certain: true, reason, createdAt: nowIso });
      await countRejected(q, ctx, worker, KIND, nowIso);
      // The second worker failed on its own: the result still waiting needs another.
      const [waiting] = await replicasStore.pendingOf(q, taskId);
      if (waiting) await assignReplica(q, ctx, taskId, waiting.worker);
      return { status: 'rejected', credited: '0', entryId: String(entryId), reason, check: earningsStore.wireCheck(check) };
    };
    const wait = async (): Promise<ResultResponse> => {
      await observeResult(q, { worker, kind: KIND, taskId, units, now: nowIso });
      if (!(await tasksStore.releaseTask(q, taskId, worker))) throw new Error(`task ${taskId} changed under the write lock`);
      const entryId = await earningsStore.insertEarning(q, { taskId, worker, kind: KIND, amount: current.reward, status: 'pending', createdAt: nowIso, check: replicated });
      await replicasStore.insertReplica(q, { taskId, worker, output: stored, status: 'pending', earningId: entryId, createdAt: nowIso });
      await assignReplica(q, ctx, taskId, worker);
      return { status: 'pending', credited: '0', entryId: String(entryId), check: earningsStore.wireCheck(replicated) };
    };
    const accept = async (alone: boolean): Promise<ResultResponse> => {
      await observeResult(q, { worker, kind: KIND, taskId, units, now: nowIso });
      if (!(await tasksStore.completeTask(q, taskId, worker, Buffer.from(stored), nowIso))) throw new Error(`task ${taskId} changed under the write lock`);
      const check = alone ? rehashed : replicated;
      const entryId = await earningsStore.insertEarning(q, { taskId, worker, kind: KIND, amount: current.reward, status: 'verified', createdAt: nowIso, check });
      await replicasStore.insertReplica(q, { taskId, worker, output: stored, status: 'agreed', earningId: entryId, createdAt: nowIso });
      await jobsStore.countTaskDone(q, current.job_id, nowIso);
      if (alone) await trustStore.markAlone(q, entryId, iso(ctx.now() + ctx.standing.holdMs));
      else await countValid(q, ctx, worker, KIND, units);
      return { status: 'accepted', credited: current.reward, entryId: String(entryId), check: earningsStore.wireCheck(check) };
    };

    if (wrongAlone !== null) return reject(wrongAlone, rehashed);
    const [candidate] = await replicasStore.pendingOf(q, taskId);
    if (!candidate) return current.quorum === 1 && !(await needsReplica(q, ctx, worker, KIND)) ? accept(true) : wait();
    const wrong = provablyWrong(deserialize(candidate.output), result);
    if (wrong.x === null && wrong.y === null) {
      await settleCandidate(q, ctx, candidate, 'agreed', units, nowIso, replicated);
      return accept(false);
    }
    if (wrong.x !== null) await settleCandidate(q, ctx, candidate, 'rejected', units, nowIso, replicated, wrong.x);
    if (wrong.y !== null) return reject(wrong.y, replicated);
    return wait();
  }, ROW_LOCKED_TX);
}

/** Credits (agreed) or rejects a pending result and counts it for its worker's standing, in the transaction `q`. */
async function settleCandidate(
  q: Sql,
  ctx: HubContext,
  candidate: replicasStore.ReplicaRow,
  outcome: 'agreed' | 'rejected',
  units: number,
  nowIso: string,
  check: earningsStore.EntryCheck,
  reason = '',
): Promise<void> {
  if (!(await replicasStore.settle(q, candidate.id, outcome, nowIso))) throw new Error(`replica ${candidate.id} changed under the write lock`);
  if (candidate.earning_id === null) throw new Error(`pending replica ${candidate.id} has no ledger entry`);
  if (outcome === 'agreed') {
    if (!(await earningsStore.verifyPending(q, candidate.earning_id, check))) throw new Error(`entry ${candidate.earning_id} was not pending`);
    await countValid(q, ctx, candidate.worker, KIND, units);
  } else {
    if (!(await earningsStore.rejectPending(q, candidate.earning_id, check, reason))) throw new Error(`entry ${candidate.earning_id} was not pending`);
    await trustStore.insertRejection(q, { taskId: candidate.task_id, worker: candidate.worker, certain: true, reason, createdAt: nowIso });
    await countRejected(q, ctx, candidate.worker, KIND, nowIso);
  }
}

/**
 * The hub's work beside the requests, once a round: replicas to (re)assign, results no second
 * worker came for, and one held lone credit checked again. Returns how many results it settled.
 */
export async function maintainReplicas(ctx: HubContext, signal?: AbortSignal): Promise<number> {
  await ctx.write(async (q) => {
    for (const taskId of await trustStore.replicasToAssign(q, iso(ctx.now()), 64)) {
      const [waiting] = await replicasStore.pendingOf(q, taskId);
      if (waiting) await assignReplica(q, ctx, taskId, waiting.worker);
      else await trustStore.clearReplica(q, taskId);
    }
  });
  let budget = ctx.replication.selfCheckPerRound;
  const settled = await selfCheckOverdue(ctx, signal, budget);
  budget -= settled;
  if (budget > 0 && !signal?.aborted) await recheckLoneCredit(ctx);
  return settled;
}

/**
 * Settles pending results that waited longer than `replicaTimeoutMs` for a second worker, by the
 * hub's own check of a stretch of their range. Returns how many it settled.
 */
export async function selfCheckOverdue(ctx: HubContext, signal: AbortSignal | undefined, limit: number): Promise<number> {
  const before = iso(ctx.now() - ctx.replication.replicaTimeoutMs);
  let settled = 0;
  for (const candidate of await replicasStore.overdue(ctx.db, before, limit)) {
    if (signal?.aborted) break;
    const task = await tasksStore.getTask(ctx.db, candidate.task_id);
    const job = task && (await jobsStore.getJob(ctx.db, task.job_id));
    if (!task || !job) continue;
    const spec = specOf(hashsearchSpecOf(job), task);
    const claim = deserialize(candidate.output);
    const whole = spec.count <= ctx.replication.selfCheckNonces;
    const spotCheck: earningsStore.EntryCheck = { method: 'spot-check', size: Math.min(ctx.replication.selfCheckNonces, spec.count) };
    const wrong = checkStretch(spec, claim, ctx.replication.selfCheckNonces, ctx.random);
    const credited = await ctx.write(async (q): Promise<boolean> => {
      // Still pending, and still nobody working on the task? (Its row locked until the end.)
      const now = await tasksStore.lockTask(q, task.id);
      const [still] = await replicasStore.pendingOf(q, task.id);
      if (!now || now.status !== 'queued' || still?.id !== candidate.id) return false;
      const nowIso = iso(ctx.now());
      if (wrong !== null) {
        // The hub's own search proves the claim wrong; the task goes back to the queue.
        await settleCandidate(q, ctx, candidate, 'rejected', spec.count, nowIso, spotCheck, wrong);
        await trustStore.clearReplica(q, task.id);
        return false;
      }
      if (!(await replicasStore.settle(q, candidate.id, 'agreed', nowIso))) throw new Error(`replica ${candidate.id} changed under the write lock`);
      if (candidate.earning_id === null || !(await earningsStore.verifyPending(q, candidate.earning_id, spotCheck))) throw new Error(`replica ${candidate.id} has no pending entry`);
      // A whole search is a check like a second worker's; a stretch of a big range only holds the credit.
      if (whole) await countValid(q, ctx, candidate.worker, KIND, spec.count);
      else await trustStore.markAlone(q, candidate.earning_id, iso(ctx.now() + ctx.standing.holdMs));
      if (!(await tasksStore.completeQueuedTask(q, task.id, candidate.worker, Buffer.from(serialize(claim)), nowIso))) throw new Error(`task ${task.id} changed under the write lock`);
      await jobsStore.countTaskDone(q, task.job_id, nowIso);
      return true;
    });
    settled += 1;
    if (credited) ctx.onCredited();
  }
  return settled;
}

/** One held lone credit, drawn at random, checked again on a stretch of its range. */
async function recheckLoneCredit(ctx: HubContext): Promise<void> {
  const held = await trustStore.heldLoneCredit(ctx.db, KIND, iso(ctx.now()), ctx.random());
  if (!held) return;
  const task = await tasksStore.getTask(ctx.db, held.task_id);
  const job = task && (await jobsStore.getJob(ctx.db, task.job_id));
  if (!task || !job || task.status !== 'done' || !held.result) return;
  const spec = specOf(hashsearchSpecOf(job), task);
  const wrong = checkStretch(spec, deserialize(held.result.toString('utf8')), ctx.replication.selfCheckNonces, ctx.random);
  if (wrong === null) return;
  await ctx.write(async (q) => {
    const nowIso = iso(ctx.now());
    await trustStore.insertRejection(q, { taskId: task.id, worker: held.worker, certain: true, reason: wrong, createdAt: nowIso });
    // Taking back its unpaid lone credits reopens this task too.
    await countRejected(q, ctx, held.worker, KIND, nowIso);
  });
  ctx.log(`a later check of task ${task.id} found ${held.worker} wrong: ${wrong}`);
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
    out.push({ index, start: start + BigInt(done), count: c, reward: JOB_SPECS.hashsearch.reward(BigInt(c), rewardPerMhash) });
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


/** The largest count, from `from` to the protocol's cap, whose task `target` is not too easy for. */
export function largestFitting(target: string, from: number): number {
  if (!targetTooEasy(target, HASHSEARCH_MAX_TASK_COUNT)) return HASHSEARCH_MAX_TASK_COUNT;
  let lo = from;
  let hi = HASHSEARCH_MAX_TASK_COUNT;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (targetTooEasy(target, mid)) hi = mid;
    else lo = mid;
  }
  return lo;
}

/** What a hashsearch job stores in `jobs.spec`. */
const HashsearchSpecSchema = z.object({ header: z.string(), target: z.string(), start: z.string(), count: z.number().int().positive() });
export type HashsearchJobSpec = z.infer<typeof HashsearchSpecSchema>;

export function hashsearchSpecOf(job: jobsStore.JobRow): HashsearchJobSpec {
  if (job.kind !== 'hashsearch' || job.spec === null) throw new Error(`job ${job.id} is not a hashsearch job`);
  return HashsearchSpecSchema.parse(JSON.parse(job.spec));
}

export async function createHashsearchJob(ctx: HubContext, customerId: string, req: HashsearchJobRequest): Promise<JobCreated> {
  const spec: HashsearchJobSpec = { header: req.header.toLowerCase(), target: req.target.toLowerCase(), start: req.start, count: req.count };
  // The smallest task the job may be searched in (as the hub planned it before carving): refused
  // when even that could match more nonces than a result may list. Then it is stored as ranges of
  // the largest count its target allows (at most 2³²), which leases carve to each worker's size.
  const smallest = Math.min(req.count, Math.max(ctx.hashsearchTaskCount, Math.ceil(req.count / MAX_HASHSEARCH_TASKS_PER_JOB)));
  if (targetTooEasy(spec.target, smallest)) {
    const e = expectedMatches(spec.target, smallest);
    const largest = smallest;
    throw badRequest(
      `target: too easy: a task of ${largest} nonces would match about ${Math.round(e)} of them, and a result may list at most ${HASHSEARCH_MAX_NONCES}; use a lower target`,
    );
  }
  const plan = planHashsearchTasks(BigInt(req.start), req.count, ctx.rewardPerMhash, largestFitting(spec.target, smallest));
  const price = plan.reduce((sum, t) => sum + t.reward, 0n);
  const id = newId('job');
  const createdAt = iso(ctx.now());
  await ctx.db.tx(async (q) => {
    // m, n, k belong to matmul; a hashsearch job keeps its parameters in `spec`.
    await jobsStore.insertJob(q, { id, customerId, kind: 'hashsearch', m: 1, n: 1, k: 1, price: price.toString(), tasksTotal: plan.length, createdAt, spec: JSON.stringify(spec) });
    await reserveJob(q, ctx, { customerId, jobId: id, price, tasks: plan.length });
    for (const t of plan) {
      await tasksStore.insertTask(q, {
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
  });
  return checkOutput(JobCreatedSchema, { id, tasks: plan.length, price: price.toString() });
}


/** A done hashsearch job's result: `{ nonces }` ascending. */
export async function hashsearchJobResult(ctx: HubContext, job: jobsStore.JobRow): Promise<JobResult> {
  const nonces: string[] = [];
  // Carved tasks are numbered in the order they were leased, not of their ranges.
  const parts = (await tasksStore.jobResults(ctx.db, job.id)).map((p) => ({ ...p, from: BigInt(p.start ?? '0') }));
  parts.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  for (const p of parts) {
    if (!p.result) throw new Error(`job ${job.id} is done but task ${p.row0} has no result`);
    nonces.push(...HashsearchOutputSchema.parse(JSON.parse(p.result.toString('utf8'))).nonces);
  }
  return { type: 'json', body: { nonces } };
}

