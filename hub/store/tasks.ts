/**
 * Tasks: slices of a job (rows of C for matmul, nonce ranges for hashsearch), the lease queue
 * and their verified results.
 *
 * Queue order is `seq`, the order tasks were created: the oldest waiting task is leased first,
 * and a task that comes back (lease expired, result rejected, waiting for a replica) keeps its
 * place at the front.
 */
import { stmt, type Sql } from './db.js';

export type TaskStatusValue = 'queued' | 'leased' | 'done';

export interface TaskRow {
  seq: number;
  id: string;
  job_id: string;
  kind: string;
  row0: number;
  rows: number;
  status: TaskStatusValue;
  lease_worker: string | null;
  lease_expires_at: string | null;
  leases: number;
  reward: string;
  done_by: string | null;
  /** hashsearch: the first nonce (decimal) and how many. */
  start: string | null;
  count: number | null;
  /** Workers to credit: 1, or 2 once the task's result is replicated. */
  quorum: number;
  /**
   * Its input bytes (a matmul's A), where the statement read them with the row (the lease's
   * claim, `leaseNextQueued`: one round trip fewer); null when it has none, absent when not read.
   */
  input?: Buffer | null;
}

const TASK_COLUMNS = 'seq, id, job_id, kind, row0, rows, status, lease_worker, lease_expires_at, leases, reward, done_by, start, count, quorum';

export interface NewTask {
  id: string;
  jobId: string;
  kind: string;
  /** matmul: first row of C; other kinds: the task's index in its job. */
  row0: number;
  rows: number;
  reward: string;
  createdAt: string;
  start?: string;
  count?: number;
}

export async function insertTask(db: Sql, t: NewTask): Promise<void> {
  await stmt<[string, string, string, number, number, string, string, string | null, number | null]>(
    db,
    `INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at, start, count) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
  ).run(t.id, t.jobId, t.kind, t.row0, t.rows, t.reward, t.createdAt, t.start ?? null, t.count ?? null);
}

/** The task's rows of A (matmul), kept apart from the task row, which is updated on every lease. */
export async function insertTaskInput(db: Sql, taskId: string, a: Buffer): Promise<void> {
  await stmt<[string, Buffer]>(db, 'INSERT INTO task_inputs (task_id, a) VALUES (?, ?)').run(taskId, a);
}

export async function readTaskInput(db: Sql, taskId: string): Promise<Buffer> {
  const a = (await stmt<[string], { a: Buffer }>(db, 'SELECT a FROM task_inputs WHERE task_id = ?').get(taskId))?.a;
  if (!a) throw new Error(`task ${taskId} has no input`);
  return a;
}

/** Forgets a done task's input. */
export async function deleteTaskInput(db: Sql, taskId: string): Promise<void> {
  await stmt<[string]>(db, 'DELETE FROM task_inputs WHERE task_id = ?').run(taskId);
}

export async function getTask(db: Sql, id: string): Promise<TaskRow | undefined> {
  return await stmt<[string], TaskRow>(db, `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`).get(id);
}

/**
 * The task, its row locked until the transaction ends (`FOR UPDATE`): read inside the transaction
 * that judges a result for it or credits it, before anything about it is decided, so that two
 * transactions never judge or credit one task side by side (see postgres/migrations/0002).
 */
export async function lockTask(db: Sql, id: string): Promise<TaskRow | undefined> {
  return await stmt<[string], TaskRow>(db, `SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ? FOR UPDATE`).get(id);
}

/**
 * Puts every task whose lease ran out by `now` back in the queue and counts the lapse against
 * the worker that held it (its lease cap and trust, never a strike). Returns how many came back.
 */
export async function requeueExpiredLeases(db: Sql, now: string): Promise<number> {
  // One statement that claims each lapsed lease with a row lock (SKIP LOCKED: one another
  // transaction is putting back already is left to it), puts it back and counts it against its
  // worker by increments: safe at READ COMMITTED (the lease's), each lapse counted once.
  const rows = await stmt<[string], { n: number }>(
    db,
    `WITH expired AS (
       SELECT seq, lease_worker FROM tasks WHERE status = 'leased' AND lease_expires_at <= ?::text FOR UPDATE SKIP LOCKED
     ), requeued AS (
       UPDATE tasks t SET status = 'queued', lease_worker = NULL, lease_expires_at = NULL
       FROM expired e WHERE t.seq = e.seq RETURNING e.lease_worker AS worker
     ), lapses AS (
       SELECT worker, count(*) AS n FROM requeued GROUP BY worker
     )
     UPDATE workers w SET leases_expired = w.leases_expired + l.n, lease_penalty = w.lease_penalty + l.n
     FROM lapses l WHERE w.address = l.worker RETURNING l.n`,
  ).all(now);
  return rows.reduce((sum, r) => sum + r.n, 0);
}

/**
 * What makes a queued task one `worker` may lease (see `nextQueuedTask`); parameters @kind and
 * @worker. The queue's head of the kind (`seq >=` the lowest queued, read from the
 * `tasks_leasable` index alone) bounds the walk: without it, with most tasks queued, the planner
 * walked the primary key from the first task ever and filtered out every task done since (15 ms a
 * lease with 16,000 done; migration 6).
 */
const LEASABLE = `FROM tasks
     WHERE status = 'queued' AND kind = @kind AND needs_replica = 0
       AND seq >= (SELECT min(seq) FROM tasks WHERE status = 'queued' AND kind = @kind AND needs_replica = 0)
       AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.task_id = tasks.id AND r.worker = @worker)
       AND NOT EXISTS (SELECT 1 FROM task_rejections x WHERE x.task_id = tasks.id AND x.worker = @worker)
       AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = tasks.job_id AND j.status = 'failed')
     ORDER BY seq LIMIT 1`;

/**
 * The oldest queued task of one of `kinds` that `worker` has not already answered (a replica
 * must come from another worker), its row locked for the caller's transaction. A task another
 * transaction (another hub process, or another request) has locked is passed over: it is being
 * leased there.
 */
export async function nextQueuedTask(db: Sql, kinds: readonly string[], worker: string): Promise<TaskRow | undefined> {
  // One query per kind walks the (status, kind, seq) index in order and stops at the first hit;
  // a single query over several kinds would sort every queued task. A task waiting for a second
  // worker goes only to the one the hub picked (`replicaFor`); a task never goes back to a worker
  // whose result it rejected, nor to one of a failed job. The kinds are first looked at without
  // a lock, and only the task returned is locked (FOR UPDATE SKIP LOCKED, in the kinds in order of
  // their oldest candidate), so that a lease locks no task it does not take.
  const peek = stmt<[{ kind: string; worker: string }], { seq: number }>(db, `SELECT seq ${LEASABLE}`);
  const take = stmt<[{ kind: string; worker: string }], TaskRow>(db, `SELECT ${TASK_COLUMNS} ${LEASABLE} FOR UPDATE SKIP LOCKED`);
  const candidates: { kind: string; seq: number }[] = [];
  for (const kind of new Set(kinds)) {
    const t = await peek.get({ kind, worker });
    if (t) candidates.push({ kind, seq: t.seq });
  }
  candidates.sort((a, b) => a.seq - b.seq);
  for (const { kind } of candidates) {
    const t = await take.get({ kind, worker });
    if (t) return t;
  }
  return undefined;
}

/**
 * Leases the oldest queued task of `kinds` that `worker` may have (as `nextQueuedTask` picks it,
 * locked with SKIP LOCKED) to `worker` until `expiresAt`, and marks its job running, in one
 * statement; returns the task as leased with its input bytes (`input`), or undefined when there
 * is none.
 */
export async function leaseNextQueued(db: Sql, kinds: readonly string[], worker: string, expiresAt: string): Promise<TaskRow | undefined> {
  const distinct = [...new Set(kinds)];
  let order = distinct;
  if (distinct.length > 1) {
    // Several kinds: the oldest candidate of each first, without a lock (see nextQueuedTask).
    const peek = stmt<[{ kind: string; worker: string }], { seq: number }>(db, `SELECT seq ${LEASABLE}`);
    const candidates: { kind: string; seq: number }[] = [];
    for (const kind of distinct) {
      const t = await peek.get({ kind, worker });
      if (t) candidates.push({ kind, seq: t.seq });
    }
    order = candidates.sort((a, b) => a.seq - b.seq).map((c) => c.kind);
  }
  const claim = stmt<[{ kind: string; worker: string; expiresAt: string }], TaskRow>(
    db,
    `WITH picked AS (
       UPDATE tasks SET status = 'leased', lease_worker = @worker, lease_expires_at = @expiresAt, leases = leases + 1
       WHERE seq = (SELECT seq ${LEASABLE} FOR UPDATE SKIP LOCKED)
       RETURNING ${TASK_COLUMNS}
     ), running AS (
       UPDATE jobs SET status = 'running' WHERE id = (SELECT job_id FROM picked) AND status = 'queued'
     )
     SELECT picked.*, i.a AS input FROM picked LEFT JOIN task_inputs i ON i.task_id = picked.id`,
  );
  for (const kind of order) {
    const t = await claim.get({ kind, worker, expiresAt });
    if (t) return t;
  }
  return undefined;
}

/**
 * The oldest queued task of `kinds` that waits for `worker` as its second worker, its row locked
 * for the caller's transaction (one locked elsewhere is passed over, like `nextQueuedTask`).
 */
export async function replicaFor(db: Sql, kinds: readonly string[], worker: string): Promise<TaskRow | undefined> {
  const t = await stmt<[string], TaskRow>(
    db,
    `SELECT ${TASK_COLUMNS} FROM tasks WHERE replica_for = ? AND status = 'queued' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED`,
  ).get(worker);
  return t && kinds.includes(t.kind) ? t : undefined;
}

/** Marks a task as needing two agreeing workers. */
export async function requireReplica(db: Sql, id: string): Promise<void> {
  await stmt<[string]>(db, 'UPDATE tasks SET quorum = 2 WHERE id = ?').run(id);
}

/** Completes a queued task that the hub settled itself (its result checked by the hub). */
export async function completeQueuedTask(db: Sql, id: string, doneBy: string, result: Buffer, now: string): Promise<boolean> {
  return (
    (
      await stmt<[{ result: Buffer; doneBy: string; now: string; id: string }]>(
        db,
        `UPDATE tasks SET status = 'done', result = @result, done_by = @doneBy, done_at = @now::text, needs_replica = 0, replica_for = NULL, replica_until = NULL,
           charged_at = coalesce(charged_at, @now::text)
         WHERE id = @id AND status = 'queued'`,
      ).run({ result, doneBy, now, id })
    ).changes === 1
  );
}

/** Returns every task leased to `worker` to the queue (the worker was cut off). */
export async function releaseLeasesOf(db: Sql, worker: string): Promise<number> {
  return (
    await stmt<[string]>(
      db,
      `UPDATE tasks SET status = 'queued', lease_worker = NULL, lease_expires_at = NULL WHERE status = 'leased' AND lease_worker = ?`,
    ).run(worker)
  ).changes;
}

/** Leases a queued task; false when it was no longer queued. */
export async function leaseTask(db: Sql, id: string, worker: string, expiresAt: string): Promise<boolean> {
  return (
    (
      await stmt<[string, string, string]>(
        db,
        `UPDATE tasks SET status = 'leased', lease_worker = ?, lease_expires_at = ?, leases = leases + 1
         WHERE id = ? AND status = 'queued'`,
      ).run(worker, expiresAt, id)
    ).changes === 1
  );
}

/**
 * Stores a verified result; false unless the task was still leased to `worker`. The same update
 * charges the task to its job's customer (`charged_at`, set once: a task done again after its
 * credit was taken back is not charged twice; see store/billing.ts).
 */
/** A leased task done by `@worker` with `@result` at `@now`; shared with store/credit.ts. */
export const TASK_DONE_SET = `status = 'done', result = @result, done_by = @worker, done_at = @now::text, lease_worker = NULL, lease_expires_at = NULL,
           needs_replica = 0, replica_for = NULL, replica_until = NULL, charged_at = coalesce(charged_at, @now::text)`;

export async function completeTask(db: Sql, id: string, worker: string, result: Buffer, now: string): Promise<boolean> {
  return (
    (
      await stmt<[{ result: Buffer; worker: string; now: string; id: string }]>(db, `UPDATE tasks SET ${TASK_DONE_SET} WHERE id = @id AND status = 'leased' AND lease_worker = @worker`).run({
        result,
        worker,
        now,
        id,
      })
    ).changes === 1
  );
}

/** Returns a leased task to the queue (its result was rejected, or it waits for a replica). */
export async function releaseTask(db: Sql, id: string, worker: string): Promise<boolean> {
  return (
    (
      await stmt<[string, string]>(
        db,
        `UPDATE tasks SET status = 'queued', lease_worker = NULL, lease_expires_at = NULL
         WHERE id = ? AND status = 'leased' AND lease_worker = ?`,
      ).run(id, worker)
    ).changes === 1
  );
}

/** Results of a job's tasks in row (task index) order (only done tasks have one). */
export async function jobResults(db: Sql, jobId: string): Promise<{ row0: number; rows: number; result: Buffer | null }[]> {
  return await stmt<[string], { row0: number; rows: number; result: Buffer | null }>(
    db,
    'SELECT row0, rows, result FROM tasks WHERE job_id = ? ORDER BY row0',
  ).all(jobId);
}

export async function countTasksByStatus(db: Sql, jobId: string): Promise<Record<TaskStatusValue, number>> {
  const counts: Record<TaskStatusValue, number> = { queued: 0, leased: 0, done: 0 };
  for (const r of await stmt<[string], { status: TaskStatusValue; c: number }>(db, 'SELECT status, count(*) AS c FROM tasks WHERE job_id = ? GROUP BY status').all(jobId)) {
    counts[r.status] = r.c;
  }
  return counts;
}

/**
 * Open tasks by kind and status (queued, leased), for the hub's metrics: read off the queue
 * index, so it costs what the open tasks are, not the table.
 */
export async function openTasksByKind(db: Sql): Promise<{ kind: string; status: 'queued' | 'leased'; n: number }[]> {
  return await stmt<[], { kind: string; status: 'queued' | 'leased'; n: number }>(
    db,
    "SELECT kind, status, count(*) AS n FROM tasks WHERE status IN ('queued', 'leased') GROUP BY kind, status",
  ).all();
}

/** The earliest expiry of a lease still held (expired ones not yet requeued included), or null. */
export async function earliestLeaseExpiry(db: Sql): Promise<string | null> {
  return (await stmt<[], { t: string | null }>(db, "SELECT min(lease_expires_at) AS t FROM tasks WHERE status = 'leased'").get())?.t ?? null;
}
