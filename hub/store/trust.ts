/**
 * Trust and its limits: checked work per worker and kind, tasks' rejections, the replica the hub
 * assigns, and what a worker holds (leases, pending results, unpaid credit). See hub/trust.ts.
 */
import { stmt, type HubDb } from './db.js';

export interface TrustRow {
  checked_units: number;
  checked_tasks: number;
  first_checked_at: string;
}

/** Work units of `worker`'s results of `kind` that someone else checked. */
export function trustOf(db: HubDb, worker: string, kind: string): TrustRow | undefined {
  return stmt<[string, string], TrustRow>(db, 'SELECT checked_units, checked_tasks, first_checked_at FROM worker_trust WHERE worker = ? AND kind = ?').get(worker, kind);
}

export function recordChecked(db: HubDb, worker: string, kind: string, units: number, now: string): void {
  stmt<[string, string, number, string]>(
    db,
    `INSERT INTO worker_trust (worker, kind, checked_units, checked_tasks, first_checked_at) VALUES (?, ?, ?, 1, ?)
     ON CONFLICT (worker, kind) DO UPDATE SET checked_units = checked_units + excluded.checked_units, checked_tasks = checked_tasks + 1`,
  ).run(worker, kind, units, now);
}

/** A proven cheat starts the worker's trust in that kind over. */
export function resetTrust(db: HubDb, worker: string, kind: string): void {
  stmt<[string, string]>(db, 'DELETE FROM worker_trust WHERE worker = ? AND kind = ?').run(worker, kind);
}

export function insertRejection(db: HubDb, r: { taskId: string; worker: string; certain: boolean; reason: string; createdAt: string }): void {
  stmt<[string, string, number, string, string]>(
    db,
    `INSERT INTO task_rejections (task_id, worker, certain, reason, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (task_id, worker) DO UPDATE SET certain = max(certain, excluded.certain)`,
  ).run(r.taskId, r.worker, r.certain ? 1 : 0, r.reason, r.createdAt);
}

/** How many workers with at least `minChecked` checked results the task rejected. */
export function establishedRejections(db: HubDb, taskId: string, minChecked: number): number {
  return (
    stmt<[string, number], { n: number }>(
      db,
      `SELECT count(*) AS n FROM task_rejections x
       WHERE x.task_id = ? AND (SELECT coalesce(sum(checked_tasks), 0) FROM worker_trust t WHERE t.worker = x.worker) >= ?`,
    ).get(taskId, minChecked)?.n ?? 0
  );
}

/** The rejections of a task that were not yet counted as strikes become certain; returns their workers. */
export function confirmRejections(db: HubDb, taskId: string): string[] {
  return stmt<[string], { worker: string }>(db, 'UPDATE task_rejections SET certain = 1 WHERE task_id = ? AND certain = 0 RETURNING worker')
    .all(taskId)
    .map((r) => r.worker);
}

/** Results of `worker` still waiting for a second worker. */
export function pendingResults(db: HubDb, worker: string): number {
  return stmt<[string], { n: number }>(db, "SELECT count(*) AS n FROM replicas WHERE worker = ? AND status = 'pending'").get(worker)?.n ?? 0;
}

/** What `worker` is owed and not yet paid: pending and verified credit outside any confirmed payout. */
export function unpaidCredit(db: HubDb, worker: string): bigint {
  let sum = 0n;
  for (const r of stmt<[string], { amount: string }>(db, "SELECT amount FROM earnings WHERE worker = ? AND status IN ('pending', 'verified')").iterate(worker)) {
    sum += BigInt(r.amount);
  }
  return sum;
}

export interface CandidateRow {
  address: string;
  first_seen: string;
  origin: string | null;
  first_origin: string | null;
  payout: string;
}

const CANDIDATE_COLUMNS = 'address, first_seen, origin, first_origin, coalesce(payout_address, address) AS payout';

export function candidateOf(db: HubDb, worker: string): CandidateRow | undefined {
  return stmt<[string], CandidateRow>(db, `SELECT ${CANDIDATE_COLUMNS} FROM workers WHERE address = ?`).get(worker);
}

/**
 * Workers seen since `since`, not cut off, that have not answered `taskId` (in a replica or a
 * rejection): who a replica may go to, before the hub's operator rules.
 */
export function onlineCandidates(db: HubDb, taskId: string, since: string, limit: number): CandidateRow[] {
  return stmt<[{ since: string; taskId: string; limit: number }], CandidateRow>(
    db,
    `SELECT ${CANDIDATE_COLUMNS} FROM workers w
     WHERE w.last_seen >= @since AND w.suspended_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.task_id = @taskId AND r.worker = w.address)
       AND NOT EXISTS (SELECT 1 FROM task_rejections x WHERE x.task_id = @taskId AND x.worker = w.address)
     ORDER BY w.last_seen DESC LIMIT @limit`,
  ).all({ since, taskId, limit });
}

/** The task waits for a second worker: `worker` (or, when null, one picked later) until `until`. */
export function assignReplica(db: HubDb, taskId: string, worker: string | null, until: string | null): void {
  stmt<[string | null, string | null, string]>(db, 'UPDATE tasks SET needs_replica = 1, quorum = 2, replica_for = ?, replica_until = ? WHERE id = ?').run(worker, until, taskId);
}

/** Queued tasks waiting for a replica with nobody assigned, or whose assignee let the time pass. */
export function replicasToAssign(db: HubDb, now: string, limit: number): string[] {
  return stmt<[string, number], { id: string }>(
    db,
    `SELECT id FROM tasks WHERE needs_replica = 1 AND status = 'queued' AND (replica_for IS NULL OR replica_until <= ?) ORDER BY seq LIMIT ?`,
  )
    .all(now, limit)
    .map((r) => r.id);
}

/** The address a worker signs in from: its network (/24 or /64), recorded once as its first. */
export function recordOrigin(db: HubDb, worker: string, origin: string | null): void {
  stmt<[{ origin: string | null; worker: string }]>(db, 'UPDATE workers SET origin = @origin, first_origin = coalesce(first_origin, @origin) WHERE address = @worker').run({ origin, worker });
}

export function leasePenaltyOf(db: HubDb, worker: string): number {
  return stmt<[string], { p: number }>(db, 'SELECT lease_penalty AS p FROM workers WHERE address = ?').get(worker)?.p ?? 0;
}

/** A credit nobody else checked: paid only after `heldUntil`, taken back before then if its worker is caught. */
export function markAlone(db: HubDb, earningId: number, heldUntil: string): void {
  stmt<[string, number]>(db, 'UPDATE earnings SET alone = 1, held_until = ? WHERE id = ?').run(heldUntil, earningId);
}

/** Unpaid lone credits of `worker` for `kind` (not in any payout): the ones a proven cheat takes back. */
export function revocableOf(db: HubDb, worker: string, kind: string): { id: number; task_id: string }[] {
  return stmt<[string, string], { id: number; task_id: string }>(
    db,
    "SELECT id, task_id FROM earnings WHERE worker = ? AND kind = ? AND alone = 1 AND status = 'verified' AND payout_id IS NULL",
  ).all(worker, kind);
}

export function revokeEarning(db: HubDb, id: number): boolean {
  return stmt<[number]>(db, "UPDATE earnings SET status = 'rejected', amount = '0' WHERE id = ? AND status = 'verified' AND payout_id IS NULL").run(id).changes === 1;
}

/** A done task whose credit was taken back goes back to the queue, to be done again. */
export function reopenTask(db: HubDb, taskId: string): boolean {
  return (
    stmt<[string]>(
      db,
      `UPDATE tasks SET status = 'queued', result = NULL, done_by = NULL, done_at = NULL, needs_replica = 0, replica_for = NULL, replica_until = NULL
       WHERE id = ? AND status = 'done'`,
    ).run(taskId).changes === 1
  );
}

/** A task of the job was taken back: the job is running again. */
export function uncountTaskDone(db: HubDb, jobId: string): void {
  stmt<[string]>(db, "UPDATE jobs SET tasks_done = tasks_done - 1, status = 'running', done_at = NULL WHERE id = ? AND tasks_done > 0 AND status != 'failed'").run(jobId);
}

/** The job cannot be done (a task no worker's answer passes): it ends as failed. Returns whether it did now. */
export function failJob(db: HubDb, jobId: string, now: string): boolean {
  return stmt<[string, string]>(db, "UPDATE jobs SET status = 'failed', done_at = ? WHERE id = ? AND status IN ('queued', 'running')").run(now, jobId).changes === 1;
}

/** The task no longer waits for a second worker (the result waiting was rejected). */
export function clearReplica(db: HubDb, taskId: string): void {
  stmt<[string]>(db, 'UPDATE tasks SET needs_replica = 0, replica_for = NULL, replica_until = NULL WHERE id = ?').run(taskId);
}

/** One unpaid lone credit of `kind` still held at `now`, the one at share `r` (0..1) of them. */
export function heldLoneCredit(db: HubDb, kind: string, now: string, r: number): { id: number; task_id: string; worker: string; result: Buffer | null } | undefined {
  const where = "e.kind = ? AND e.alone = 1 AND e.status = 'verified' AND e.payout_id IS NULL AND e.held_until > ?";
  const n = stmt<[string, string], { n: number }>(db, `SELECT count(*) AS n FROM earnings e WHERE ${where}`).get(kind, now)?.n ?? 0;
  if (n === 0) return undefined;
  return stmt<[string, string, number], { id: number; task_id: string; worker: string; result: Buffer | null }>(
    db,
    `SELECT e.id, e.task_id, e.worker, t.result FROM earnings e JOIN tasks t ON t.id = e.task_id WHERE ${where} ORDER BY e.id LIMIT 1 OFFSET ?`,
  ).get(kind, now, Math.min(n - 1, Math.floor(r * n)));
}

/** What a lease request needs to know of its worker, in one read. */
export function leaseStanding(db: HubDb, worker: string): { checked: number; penalty: number; held: number } {
  return stmt<[{ w: string }], { checked: number; penalty: number; held: number }>(
    db,
    `SELECT (SELECT coalesce(sum(checked_tasks), 0) FROM worker_trust WHERE worker = @w) AS checked,
            coalesce((SELECT lease_penalty FROM workers WHERE address = @w), 0) AS penalty,
            (SELECT count(*) FROM tasks WHERE status = 'leased' AND lease_worker = @w) AS held`,
  ).get({ w: worker })!;
}
