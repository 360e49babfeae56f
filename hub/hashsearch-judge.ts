/**
 * Judging hashsearch results with adaptive replication (as BOINC does it).
 *
 * A result is first rehashed on its own (every claimed nonce and `best`); one that fails is
 * rejected. One that passes is accepted alone only when its worker is trusted (enough valid
 * results in a row) and the task was not drawn for a spot check; otherwise the task needs two
 * agreeing workers (`quorum` 2): the result waits as `pending` (its ledger entry too), the task
 * goes back to the queue, and the next worker who is not its author gets it. When that second
 * result arrives:
 * - it agrees: both workers are credited (`verified`) and the task is done;
 * - it differs: whichever is provably wrong (see `replication.ts`) is rejected, a survivor waits
 *   as the new pending result, and the task is queued again for yet another worker.
 * A worker never answers the same task twice.
 *
 * When no second worker takes the task within `replicaTimeoutMs`, the hub searches small ranges
 * (`selfCheckMaxCount`) itself and settles the pending result against its own answer, so a lone
 * worker still earns. Larger ranges wait for a second worker.
 */
import { ResultRequestSchemas, type ResultResponse } from '../protocol/index.js';
import { hashsearch } from '../kernels/index.js';
import type { HubContext } from './context.js';
import { notFound, parseInput } from './errors.js';
import { hashsearchSpecOf } from './jobs.js';
import { assertLeaseHeld } from './leases.js';
import { deserialize, fromOutput, provablyWrong, searchRange, serialize, specOf } from './replication.js';
import { countRejected, countValid, needsReplica } from './standing.js';
import { earningsStore, jobsStore, replicasStore, tasksStore } from './store/index.js';
import { iso } from './util.js';

export function judgeHashsearch(ctx: HubContext, worker: string, task: tasksStore.TaskRow, job: jobsStore.JobRow, body: unknown, nowIso: string): Promise<ResultResponse> {
  const { output } = parseInput(ResultRequestSchemas.hashsearch, body);
  const spec = specOf(hashsearchSpecOf(job), task);
  const result = fromOutput(output);
  // Rehashing needs no lock: the range and the claim are fixed.
  const verdict = hashsearch.verifyHashsearch(spec, result);
  const stored = serialize(result);
  const taskId = task.id;

  return ctx.write((): ResultResponse => {
    const current = tasksStore.getTask(ctx.db, taskId);
    if (!current) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
    assertLeaseHeld(ctx, current, worker, nowIso);
    const reject = (reason: string): ResultResponse => {
      if (!tasksStore.releaseTask(ctx.db, taskId, worker)) throw new Error(`task ${taskId} changed under the write lock`);
      const entryId = earningsStore.insertEarning(ctx.db, { taskId, worker, kind: 'hashsearch', amount: '0', status: 'rejected', createdAt: nowIso });
      replicasStore.insertReplica(ctx.db, { taskId, worker, output: stored, status: 'rejected', earningId: entryId, createdAt: nowIso });
      countRejected(ctx, worker, nowIso);
      return { status: 'rejected', credited: '0', entryId: String(entryId), reason };
    };
    const wait = (): ResultResponse => {
      if (!tasksStore.releaseTask(ctx.db, taskId, worker)) throw new Error(`task ${taskId} changed under the write lock`);
      const entryId = earningsStore.insertEarning(ctx.db, { taskId, worker, kind: 'hashsearch', amount: current.reward, status: 'pending', createdAt: nowIso });
      replicasStore.insertReplica(ctx.db, { taskId, worker, output: stored, status: 'pending', earningId: entryId, createdAt: nowIso });
      return { status: 'pending', credited: '0', entryId: String(entryId) };
    };
    const accept = (): ResultResponse => {
      if (!tasksStore.completeTask(ctx.db, taskId, worker, Buffer.from(stored), nowIso)) throw new Error(`task ${taskId} changed under the write lock`);
      const entryId = earningsStore.insertEarning(ctx.db, { taskId, worker, kind: 'hashsearch', amount: current.reward, status: 'verified', createdAt: nowIso });
      replicasStore.insertReplica(ctx.db, { taskId, worker, output: stored, status: 'agreed', earningId: entryId, createdAt: nowIso });
      jobsStore.countTaskDone(ctx.db, current.job_id, nowIso);
      countValid(ctx, worker);
      return { status: 'accepted', credited: current.reward, entryId: String(entryId) };
    };

    if (!verdict.ok) return reject(verdict.reason);
    const [candidate] = replicasStore.pendingOf(ctx.db, taskId);
    if (!candidate) {
      if (current.quorum === 1 && !needsReplica(ctx, worker)) return accept();
      tasksStore.requireReplica(ctx.db, taskId);
      return wait();
    }
    const wrong = provablyWrong(deserialize(candidate.output), result);
    if (wrong.x === null && wrong.y === null) {
      settleCandidate(ctx, candidate, 'agreed', nowIso);
      return accept();
    }
    if (wrong.x !== null) settleCandidate(ctx, candidate, 'rejected', nowIso);
    if (wrong.y !== null) return reject(wrong.y);
    return wait();
  });
}

/** Credits (agreed) or rejects a pending result and counts it for its worker's standing. */
function settleCandidate(ctx: HubContext, candidate: replicasStore.ReplicaRow, outcome: 'agreed' | 'rejected', nowIso: string): void {
  if (!replicasStore.settle(ctx.db, candidate.id, outcome, nowIso)) throw new Error(`replica ${candidate.id} changed under the write lock`);
  if (candidate.earning_id === null) throw new Error(`pending replica ${candidate.id} has no ledger entry`);
  if (outcome === 'agreed') {
    if (!earningsStore.verifyPending(ctx.db, candidate.earning_id)) throw new Error(`entry ${candidate.earning_id} was not pending`);
    countValid(ctx, candidate.worker);
  } else {
    if (!earningsStore.rejectPending(ctx.db, candidate.earning_id)) throw new Error(`entry ${candidate.earning_id} was not pending`);
    countRejected(ctx, candidate.worker, nowIso);
  }
}

/**
 * Settles pending results that waited longer than `replicaTimeoutMs` for a second worker, by the
 * hub's own search of their (small) range. One at a time; returns how many it settled.
 */
export async function selfCheckOverdue(ctx: HubContext, signal?: AbortSignal, limit = 4): Promise<number> {
  const before = iso(ctx.now() - ctx.replication.replicaTimeoutMs);
  let settled = 0;
  for (const candidate of replicasStore.overdue(ctx.db, before, ctx.replication.selfCheckMaxCount, limit)) {
    if (signal?.aborted) break;
    const task = tasksStore.getTask(ctx.db, candidate.task_id);
    if (!task) continue;
    const job = jobsStore.getJob(ctx.db, task.job_id);
    if (!job) continue;
    const truth = await searchRange(specOf(hashsearchSpecOf(job), task), signal);
    const nowIso = iso(ctx.now());
    const credited = ctx.db
      .transaction((): boolean => {
        // Still pending, and still nobody working on the task?
        const now = tasksStore.getTask(ctx.db, task.id);
        const [still] = replicasStore.pendingOf(ctx.db, task.id);
        if (!now || now.status !== 'queued' || still?.id !== candidate.id) return false;
        const claim = deserialize(candidate.output);
        if (hashsearch.sameHashsearchResult(claim, truth)) {
          settleCandidate(ctx, candidate, 'agreed', nowIso);
          if (!tasksStore.completeQueuedTask(ctx.db, task.id, candidate.worker, Buffer.from(serialize(truth)), nowIso)) throw new Error(`task ${task.id} changed under the write lock`);
          jobsStore.countTaskDone(ctx.db, task.job_id, nowIso);
          return true;
        }
        // The hub's own search proves the claim wrong; the task waits for another worker.
        settleCandidate(ctx, candidate, 'rejected', nowIso);
        return false;
      })
      .immediate();
    settled += 1;
    if (credited) ctx.onCredited();
  }
  return settled;
}
