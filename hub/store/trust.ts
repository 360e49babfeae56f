/**
 * Trust and its limits: checked work per worker and kind, tasks' rejections, the replica the hub
 * assigns, and what a worker holds (leases, pending results, unpaid credit). See hub/trust.ts.
 */
import { stmt, type Sql } from './db.js';
import { countInShard, jobDoneCount } from './jobs.js';

export interface TrustRow {
  checked_units: number;
  checked_tasks: number;
  first_checked_at: string;
}

/** Work units of `worker`'s results of `kind` that someone else checked. */
export async function trustOf(db: Sql, worker: string, kind: string): Promise<TrustRow | undefined> {
  return stmt<[string, string], TrustRow>(db, 'SELECT checked_units, checked_tasks, first_checked_at FROM worker_trust WHERE worker = ? AND kind = ?').get(worker, kind);
}

/** Adds one checked result of `units` to a worker's trust in a kind (ON CONFLICT of an insert into worker_trust); shared with store/credit.ts. */
export const CHECKED_UPSERT = `ON CONFLICT (worker, kind) DO UPDATE SET checked_units = worker_trust.checked_units + excluded.checked_units, checked_tasks = worker_trust.checked_tasks + 1`;

export async function recordChecked(db: Sql, worker: string, kind: string, units: number, now: string): Promise<void> {
  await stmt<[string, string, number, string]>(
    db,
    `INSERT INTO worker_trust (worker, kind, checked_units, checked_tasks, first_checked_at) VALUES (?, ?, ?, 1, ?) ${CHECKED_UPSERT}`,
  ).run(worker, kind, units, now);
}

/** A proven cheat starts the worker's trust in that kind over. */
export async function resetTrust(db: Sql, worker: string, kind: string): Promise<void> {
  await stmt<[string, string]>(db, 'DELETE FROM worker_trust WHERE worker = ? AND kind = ?').run(worker, kind);
}

export async function insertRejection(db: Sql, r: { taskId: string; worker: string; certain: boolean; reason: string; createdAt: string }): Promise<void> {
  await stmt<[string, string, number, string, string]>(
    db,
    `INSERT INTO task_rejections (task_id, worker, certain, reason, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (task_id, worker) DO UPDATE SET certain = greatest(task_rejections.certain, excluded.certain)`,
  ).run(r.taskId, r.worker, r.certain ? 1 : 0, r.reason, r.createdAt);
}

/** How many workers with at least `minChecked` checked results the task rejected. */
export async function establishedRejections(db: Sql, taskId: string, minChecked: number): Promise<number> {
  return (
    (
      await stmt<[string, number], { n: number }>(
        db,
        `SELECT count(*) AS n FROM task_rejections x
         WHERE x.task_id = ? AND (SELECT coalesce(sum(checked_tasks), 0)::bigint FROM worker_trust t WHERE t.worker = x.worker) >= ?`,
      ).get(taskId, minChecked)
    )?.n ?? 0
  );
}

/** The rejections of a task that were not yet counted as strikes become certain; returns their workers. */
export async function confirmRejections(db: Sql, taskId: string): Promise<string[]> {
  return (await stmt<[string], { worker: string }>(db, 'UPDATE task_rejections SET certain = 1 WHERE task_id = ? AND certain = 0 RETURNING worker').all(taskId)).map((r) => r.worker);
}

/** Results of `worker` still waiting for a second worker. */
export async function pendingResults(db: Sql, worker: string): Promise<number> {
  return (await stmt<[string], { n: number }>(db, "SELECT count(*) AS n FROM replicas WHERE worker = ? AND status = 'pending'").get(worker))?.n ?? 0;
}

/** What `worker` is owed and not yet paid: pending and verified credit outside any confirmed payout (summed exactly, as NUMERIC). */
export async function unpaidCredit(db: Sql, worker: string): Promise<bigint> {
  const r = await stmt<[string], { sum: string }>(db, "SELECT coalesce(sum(amount), 0) AS sum FROM earnings WHERE worker = ? AND status IN ('pending', 'verified')").get(worker);
  return BigInt(r?.sum ?? 0);
}

export interface CandidateRow {
  address: string;
  first_seen: string;
  origin: string | null;
  first_origin: string | null;
  payout: string;
}

const CANDIDATE_COLUMNS = 'address, first_seen, origin, first_origin, coalesce(payout_address, address) AS payout';

export async function candidateOf(db: Sql, worker: string): Promise<CandidateRow | undefined> {
  return stmt<[string], CandidateRow>(db, `SELECT ${CANDIDATE_COLUMNS} FROM workers WHERE address = ?`).get(worker);
}

/**
 * Workers seen since `since`, not cut off, that have not answered `taskId` (in a replica or a
 * rejection): who a replica may go to, before the hub's operator rules.
 */
export async function onlineCandidates(
  db: Sql,
  taskId: string,
  since: string,
  limit: number,
  speed: { kind: string; minRate: number; unknownRate: number } = { kind: '', minRate: 0, unknownRate: 0 },
): Promise<CandidateRow[]> {
  // `speed`: only workers whose rate in `kind` (observed, else benchmarked, else `unknownRate`:
  // `hub_worker_rate`, migration 13, as the lease reads it) is at least `minRate` (hub/sizing.ts,
  // the replica rule).
  return stmt<[{ since: string; taskId: string; limit: number; kind: string; minRate: number; unknownRate: number }], CandidateRow>(
    db,
    `SELECT ${CANDIDATE_COLUMNS} FROM workers w
     WHERE w.last_seen >= @since AND w.suspended_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.task_id = @taskId AND r.worker = w.address)
       AND NOT EXISTS (SELECT 1 FROM task_rejections x WHERE x.task_id = @taskId AND x.worker = w.address)
       AND hub_worker_rate(w.address, @kind, @unknownRate::float8) >= @minRate::float8
     ORDER BY w.last_seen DESC LIMIT @limit`,
  ).all({ since, taskId, limit, ...speed });
}

/** The task waits for a second worker: `worker` (or, when null, one picked later) until `until`. */
export async function assignReplica(db: Sql, taskId: string, worker: string | null, until: string | null): Promise<void> {
  await stmt<[string | null, string | null, string]>(db, 'UPDATE tasks SET needs_replica = 1, quorum = 2, replica_for = ?, replica_until = ? WHERE id = ?').run(worker, until, taskId);
}

/** Queued tasks waiting for a replica with nobody assigned, or whose assignee let the time pass. */
export async function replicasToAssign(db: Sql, now: string, limit: number): Promise<string[]> {
  return (
    await stmt<[string, number], { id: string }>(
      db,
      `SELECT id FROM tasks WHERE needs_replica = 1 AND status = 'queued' AND (replica_for IS NULL OR replica_until <= ?) ORDER BY seq LIMIT ?`,
    ).all(now, limit)
  ).map((r) => r.id);
}

/** The address a worker signs in from: its network (/24 or /64), recorded once as its first. */
export async function recordOrigin(db: Sql, worker: string, origin: string | null): Promise<void> {
  await stmt<[{ origin: string | null; worker: string }]>(db, 'UPDATE workers SET origin = @origin, first_origin = coalesce(first_origin, @origin) WHERE address = @worker').run({ origin, worker });
}

export async function leasePenaltyOf(db: Sql, worker: string): Promise<number> {
  return (await stmt<[string], { p: number }>(db, 'SELECT lease_penalty AS p FROM workers WHERE address = ?').get(worker))?.p ?? 0;
}

/** A credit nobody else checked: paid only after `heldUntil`, taken back before then if its worker is caught. */
export async function markAlone(db: Sql, earningId: number, heldUntil: string): Promise<void> {
  await stmt<[string, number]>(db, 'UPDATE earnings SET alone = 1, held_until = ? WHERE id = ?').run(heldUntil, earningId);
}

/** Unpaid lone credits of `worker` for `kind` (not in any payout): the ones a proven cheat takes back. */
export async function revocableOf(db: Sql, worker: string, kind: string): Promise<{ id: number; task_id: string }[]> {
  return stmt<[string, string], { id: number; task_id: string }>(
    db,
    "SELECT id, task_id FROM earnings WHERE worker = ? AND kind = ? AND alone = 1 AND status = 'verified' AND payout_id IS NULL",
  ).all(worker, kind);
}

/** A lone credit taken back (rejected, amount 0), with why in plain words (the receipt's reason). */
export async function revokeEarning(db: Sql, id: number, reason = 'taken back: a later check proved this worker wrong, so its unchecked credits were cancelled'): Promise<boolean> {
  return (
    (await stmt<[string, number]>(db, "UPDATE earnings SET status = 'rejected', amount = '0', reason = ? WHERE id = ? AND status = 'verified' AND payout_id IS NULL").run(reason, id))
      .changes === 1
  );
}

/** A done task whose credit was taken back goes back to the queue, to be done again. */
export async function reopenTask(db: Sql, taskId: string): Promise<boolean> {
  return (
    (
      await stmt<[string]>(
        db,
        `UPDATE tasks SET status = 'queued', result = NULL, done_by = NULL, done_at = NULL, needs_replica = 0, replica_for = NULL, replica_until = NULL
         WHERE id = ? AND status = 'done'`,
      ).run(taskId)
    ).changes === 1
  );
}

/** A task of the job was taken back: the job is running again. */
export async function uncountTaskDone(db: Sql, jobId: string): Promise<void> {
  await stmt<[{ job: string }]>(
    db,
    `WITH open AS (
       UPDATE jobs j SET status = 'running', done_at = NULL WHERE j.id = @job AND j.status != 'failed' AND ${jobDoneCount('j')} > 0 RETURNING j.id
     )
     ${countInShard('open', -1)}`,
  ).run({ job: jobId });
}

/** The job cannot be done (a task no worker's answer passes): it ends as failed. Returns whether it did now. */
export async function failJob(db: Sql, jobId: string, now: string): Promise<boolean> {
  return (await stmt<[string, string]>(db, "UPDATE jobs SET status = 'failed', done_at = ? WHERE id = ? AND status IN ('queued', 'running')").run(now, jobId)).changes === 1;
}

/** The task no longer waits for a second worker (the result waiting was rejected). */
export async function clearReplica(db: Sql, taskId: string): Promise<void> {
  await stmt<[string]>(db, 'UPDATE tasks SET needs_replica = 0, replica_for = NULL, replica_until = NULL WHERE id = ?').run(taskId);
}

/** One unpaid lone credit of `kind` still held at `now`, the one at share `r` (0..1) of them. */
export async function heldLoneCredit(db: Sql, kind: string, now: string, r: number): Promise<{ id: number; task_id: string; worker: string; result: Buffer | null } | undefined> {
  const where = "e.kind = ? AND e.alone = 1 AND e.status = 'verified' AND e.payout_id IS NULL AND e.held_until > ?";
  const n = (await stmt<[string, string], { n: number }>(db, `SELECT count(*) AS n FROM earnings e WHERE ${where}`).get(kind, now))?.n ?? 0;
  if (n === 0) return undefined;
  return stmt<[string, string, number], { id: number; task_id: string; worker: string; result: Buffer | null }>(
    db,
    `SELECT e.id, e.task_id, e.worker, t.result FROM earnings e JOIN tasks t ON t.id = e.task_id WHERE ${where} ORDER BY e.id LIMIT 1 OFFSET ?`,
  ).get(kind, now, Math.min(n - 1, Math.floor(r * n)));
}

