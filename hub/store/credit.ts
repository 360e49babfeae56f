/**
 * The accepted result's bookkeeping in one statement: on the machine this project measures, a
 * round trip to PostgreSQL costs more CPU than anything the hub does with a result, so the writes
 * of an accepted, checked result go together. One statement, only if the task is still leased to
 * the worker and the lease lives (its row is locked by the UPDATE, so no other result for it is
 * judged meanwhile):
 * the task done with its result; its input forgotten; the ledger entry (verified); the job's
 * count (done with its last task); the worker's run of valid results and its trust in the kind;
 * earlier rejections of the task confirmed (another worker's answer passed); then, after the
 * job's last task, the job settled. Run it in a transaction: the caller counts the confirmed
 * rejections in it. The SET
 * clauses are those of the functions doing each step alone (tasks, jobs, workers, trust).
 */
import { settleJob } from './billing.js';
import { stmt, type Sql } from './db.js';
import { TASK_COUNTABLE, TASK_COUNTED_SET } from './jobs.js';
import { TASK_DONE_SET } from './tasks.js';
import { CHECKED_UPSERT } from './trust.js';
import { VALID_RESULT_SET } from './workers.js';

export interface CreditedTask {
  entryId: number;
  /** Whether this was the job's last task (then settled here, in the caller's transaction). */
  jobDone: boolean;
  /** Workers whose earlier answers to this task are now known wrong. */
  confirmed: string[];
}

export async function creditVerified(
  db: Sql,
  c: { taskId: string; jobId: string; worker: string; kind: string; reward: string; result: Buffer; units: number; forgiveEvery: number; now: string },
): Promise<CreditedTask | undefined> {
  const row = await stmt<[Record<string, unknown>], { entry_id: number; job_status: string | null; confirmed: string[] | null }>(
    db,
    `WITH done AS (
       UPDATE tasks SET ${TASK_DONE_SET}
       WHERE id = @id AND status = 'leased' AND lease_worker = @worker AND lease_expires_at > @now::text
       RETURNING id
     ), input AS (
       DELETE FROM task_inputs WHERE task_id IN (SELECT id FROM done)
     ), entry AS (
       INSERT INTO earnings (task_id, worker, kind, amount, status, created_at)
       SELECT id, @worker::text, @kind::text, @reward::numeric, 'verified', @now::text FROM done RETURNING id
     ), job AS (
       UPDATE jobs SET ${TASK_COUNTED_SET} WHERE id = @job AND ${TASK_COUNTABLE} AND EXISTS (SELECT 1 FROM done) RETURNING status
     ), standing AS (
       UPDATE workers SET ${VALID_RESULT_SET} WHERE address = @worker AND EXISTS (SELECT 1 FROM done)
     ), trust AS (
       INSERT INTO worker_trust (worker, kind, checked_units, checked_tasks, first_checked_at)
       SELECT @worker::text, @kind::text, @units::bigint, 1, @now::text FROM done ${CHECKED_UPSERT}
     ), confirmed AS (
       UPDATE task_rejections SET certain = 1 WHERE task_id IN (SELECT id FROM done) AND certain = 0 RETURNING worker
     )
     SELECT (SELECT id FROM entry) AS entry_id, (SELECT status FROM job) AS job_status, (SELECT array_agg(worker) FROM confirmed) AS confirmed`,
  ).get({ id: c.taskId, worker: c.worker, now: c.now, result: c.result, kind: c.kind, reward: c.reward, job: c.jobId, units: c.units, every: c.forgiveEvery });
  if (!row || row.entry_id === null) return undefined;
  const jobDone = row.job_status === 'done';
  // The job's last task: it is settled in the same transaction, as countTaskDone does.
  if (jobDone) await settleJob(db, c.jobId, c.now);
  return { entryId: row.entry_id, jobDone, confirmed: row.confirmed ?? [] };
}
