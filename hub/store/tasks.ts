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
  /** Which part of its job the task is, kept when it is carved (render: its tile); null for the other kinds. */
  part: number | null;
  /** Work units per unit of `count` (1 for hashsearch; render: the tile's pixels × operations per sample). */
  weight: number;
  /**
   * Its input bytes (a matmul's A), where the statement read them with the row (the lease's
   * claim, `claimNext`: one round trip fewer); null when it has none, absent when not read.
   */
  input?: Buffer | null;
}

const TASK_COLUMNS = 'seq, id, job_id, kind, row0, rows, status, lease_worker, lease_expires_at, leases, reward, done_by, start, count, quorum, part, weight';

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
  /** See TaskRow: render's tile. */
  part?: number;
  /** See TaskRow; 1 when left out. */
  weight?: number;
}

export async function insertTask(db: Sql, t: NewTask): Promise<void> {
  await stmt<[string, string, string, number, number, string, string, string | null, number | null, number | null, number]>(
    db,
    `INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at, start, count, part, weight) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`,
  ).run(t.id, t.jobId, t.kind, t.row0, t.rows, t.reward, t.createdAt, t.start ?? null, t.count ?? null, t.part ?? null, t.weight ?? 1);
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

/** Why a lease found nothing for its worker (hub_lease's `limit_code`; hub/standing.ts words it). */
export type LeaseLimit = { code: 'cap'; cap: number } | { code: 'unpaid' } | { code: 'pending' };

/** What a lease may give a worker: the standing policy's numbers (hub/standing.ts). */
export interface LeasePolicy {
  leaseCap: number;
  newKey: { checkedTasks: number; leases: number; unpaid: bigint; pending: number };
}

/**
 * How `claimNext` carves the head task of each kind in `kinds` (migrations 11 and 13,
 * hub/sizing.ts): a task of about `seconds` of the worker's work, in work units within
 * [`minSize`, `maxSize`] and at most `newSize` while its rate is not observed, then over the
 * task's weight into units of its `count` (at least 1); a task that was answered goes only to a
 * worker that would do it within `slack` × `seconds`. `id` names the task carved, when one is.
 */
export interface CarvePolicy {
  kinds: readonly { kind: string; newSize: number; minSize: number; maxSize: number }[];
  id: string;
  seconds: number;
  slack: number;
}

/**
 * The lease, one statement: `hub_lease`, whose steps are written down once, in
 * hub/postgres/migrations/0011-task-sizing.ts (and the steps it keeps from migration 7, in
 * 0007-lease-function.ts; what migrations 12 and 13 changed, in theirs). Returns the task leased, with its input bytes (`input`); else the
 * limit that stopped it; neither when there is no task for the worker.
 */
export async function claimNext(
  db: Sql,
  a: { worker: string; kinds: readonly string[]; replicated: readonly string[]; now: string; expiresAt: string; policy: LeasePolicy; carve: CarvePolicy },
): Promise<{ task?: TaskRow; limit?: LeaseLimit }> {
  const rows = await stmt<[{ [k: string]: unknown }], TaskRow & { limit_code: LeaseLimit['code'] | null; limit_cap: number | null }>(
    db,
    `SELECT * FROM hub_lease(@worker, @kinds::text[], @replicated::text[], @now, @expiresAt, @cap, @newChecked, @newLeases, @newUnpaid::numeric, @newPending,
       @carved::text[], @carveId, @seconds::float8, @newSize::bigint[], @minSize::bigint[], @maxSize::bigint[], @slack::float8, @async::boolean)`,
  ).all({
    worker: a.worker,
    kinds: [...new Set(a.kinds)],
    replicated: a.replicated,
    now: a.now,
    expiresAt: a.expiresAt,
    cap: a.policy.leaseCap,
    newChecked: a.policy.newKey.checkedTasks,
    newLeases: a.policy.newKey.leases,
    newUnpaid: a.policy.newKey.unpaid.toString(),
    newPending: a.policy.newKey.pending,
    carved: a.carve.kinds.map((k) => k.kind),
    carveId: a.carve.id,
    seconds: a.carve.seconds,
    newSize: a.carve.kinds.map((k) => k.newSize),
    minSize: a.carve.kinds.map((k) => k.minSize),
    maxSize: a.carve.kinds.map((k) => k.maxSize),
    slack: a.carve.slack,
    // A lease on its own commits without waiting for its flush (migration 14); in a transaction, the transaction decides.
    async: !db.inTransaction,
  });
  const row = rows[0];
  if (!row) return {};
  const { limit_code, limit_cap, ...task } = row;
  if (limit_code === 'cap') return { limit: { code: 'cap', cap: limit_cap ?? 0 } };
  if (limit_code) return { limit: { code: limit_code } };
  return { task: task as TaskRow };
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

/** A done task's part of its job's result. */
export interface TaskResult {
  row0: number;
  rows: number;
  start: string | null;
  count: number | null;
  part: number | null;
  result: Buffer | null;
}

/** Results of a job's tasks in row (task index) order (only done tasks have one). */
export async function jobResults(db: Sql, jobId: string): Promise<TaskResult[]> {
  return await stmt<[string], TaskResult>(db, 'SELECT row0, rows, start, count, part, result FROM tasks WHERE job_id = ? ORDER BY row0').all(jobId);
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
