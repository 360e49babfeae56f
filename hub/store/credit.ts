/**
 * The accepted result's bookkeeping in one statement, run on its own (not inside a transaction):
 * on the machine this project measures, a round trip to PostgreSQL costs more CPU than anything
 * the hub does with a result. Inside a transaction its rows stayed locked until the hub, busy with
 * other requests, came back to commit; alone, the statement holds them only while it runs and
 * commits (403–439 → 459–477 cycles/s in `bench hub`, alternated: docs/DESIGN.md). The job's count
 * goes to a shard of its own (migration 15), so one job's credits do not meet on its row. Only if the task is still
 * leased to the worker and the lease lives, and no earlier answer to it awaits confirmation (such a
 * result takes the judge's full path, which counts the confirmed rejections):
 * the task done with its result; its input forgotten; the ledger entry (verified); the job's
 * count; the worker's run of valid results and its trust in the kind. A deadlock or
 * serialization failure reruns it (HubDb.query). The job it may complete is closed and settled
 * next, apart (billing.ts `finishIfDone`; the leader's round closes and settles one whose hub
 * died in between). The SET clauses are those of the functions doing each step alone (tasks,
 * jobs, workers, trust).
 */
import { stmt, type Sql } from './db.js';
import type { EntryCheck } from './earnings.js';
import { countInShard, mayBeDone } from './jobs.js';
import { TASK_DONE_SET } from './tasks.js';
import { CHECKED_UPSERT } from './trust.js';
import { VALID_RESULT_SET } from './workers.js';

export interface CreditedTask {
  entryId: number;
  /**
   * Whether this may have been the job's last task: then the caller checks, in a statement of
   * its own that sees every credit committed before, and settles it (billing.ts `finishIfDone`).
   */
  mayBeDone: boolean;
}

export async function creditVerified(
  db: Sql,
  c: { taskId: string; jobId: string; worker: string; kind: string; reward: string; result: Buffer; units: number; forgiveEvery: number; now: string; check?: EntryCheck },
): Promise<CreditedTask | undefined> {
  const row = await stmt<[Record<string, unknown>], { entry_id: number | null; may_be_done: boolean | null }>(
    db,
    `WITH done AS (
       UPDATE tasks SET ${TASK_DONE_SET}
       WHERE id = @id AND status = 'leased' AND lease_worker = @worker AND lease_expires_at > @now::text
         AND NOT EXISTS (SELECT 1 FROM task_rejections x WHERE x.task_id = @id AND x.certain = 0)
       RETURNING id
     ), input AS (
       DELETE FROM task_inputs WHERE task_id IN (SELECT id FROM done)
     ), entry AS (
       INSERT INTO earnings (task_id, worker, kind, amount, status, created_at, check_method, check_size)
       SELECT id, @worker::text, @kind::text, @reward::numeric, 'verified', @now::text, @method::text, @size::bigint FROM done RETURNING id
     ), counted AS (
       ${countInShard('done', 1)}
     ), standing AS (
       UPDATE workers SET ${VALID_RESULT_SET} WHERE address = @worker AND EXISTS (SELECT 1 FROM done)
     ), trust AS (
       INSERT INTO worker_trust (worker, kind, checked_units, checked_tasks, first_checked_at)
       SELECT @worker::text, @kind::text, @units::bigint, 1, @now::text FROM done ${CHECKED_UPSERT}
     )
     SELECT (SELECT id FROM entry) AS entry_id, ${mayBeDone(1)} AS may_be_done`,
  ).get({ id: c.taskId, worker: c.worker, now: c.now, result: c.result, kind: c.kind, reward: c.reward, job: c.jobId, units: c.units, every: c.forgiveEvery, method: c.check?.method ?? null, size: c.check?.size ?? null });
  if (!row || row.entry_id === null) return undefined;
  return { entryId: row.entry_id, mayBeDone: row.may_be_done === true };
}
