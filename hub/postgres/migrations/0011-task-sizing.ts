/**
 * Version 11: tasks sized to the card (docs/DESIGN.md, "Tasks sized to the card"; hub/sizing.ts).
 *
 * - `worker_rates`: per worker and kind, the work units a second its results took (`rate`,
 *   smoothed, null before its first result) and its heartbeat's benchmark in the same units
 *   (`benchmark_rate`, the starting point while there is no `rate`). Floats: speeds, never money.
 * - `tasks.leased_at`: when the task's current lease began; `workers.last_result_at`: when the
 *   worker's last result came. A result's time on the GPU is from the later of the two (a worker
 *   leasing ahead starts a task when it finishes the one before) to its arrival.
 * - `hub_task_size(...)`: how many units a task for this worker and kind should hold: its rate ×
 *   the target seconds; for a key with no observed rate, its benchmark's, at most `p_new_size`
 *   (`p_new_size` when it reported none); always within [`p_min_size`, `p_max_size`].
 * - `hub_lease(...)` again, with every step of migration 7 kept in the same order (the worker's
 *   row locked before its standing is read, the caps, the replica owed first, SKIP LOCKED claims),
 *   and one more: for a kind of `p_carved`, the head task is carved. When the oldest leasable task
 *   holds more than this worker's size and was never answered (no replica row, no rejection), its
 *   first `size` units become a new task (`p_carve_id`), leased to the worker, with the share of
 *   the reward its units are of the whole (rounded down); the rest keeps the row, its place in the
 *   queue and the rest of the reward. Its job counts one more task (`tasks_total`) in the same
 *   statement, so a job is never done while a part of it is unleased. A task that was answered
 *   keeps its range: replicas must search the same nonces.
 */
import { LEASABLE } from './0007-lease-function.js';
import type { PgMigration } from './index.js';

const RETURNED = `tasks.seq, tasks.id, tasks.job_id, tasks.kind, tasks.row0, tasks.rows, tasks.status, tasks.lease_worker,
                tasks.lease_expires_at, tasks.leases, tasks.reward, tasks.done_by, tasks.start, tasks.count, tasks.quorum`;

/** Leases the task whose seq `pick` selects (locked by it) and returns it with its input (as migration 7's, and `leased_at`). */
const CLAIM = (pick: string): string => `RETURN QUERY WITH picked AS (
      UPDATE tasks SET status = 'leased', lease_worker = p_worker, lease_expires_at = p_expires, leases = leases + 1, leased_at = p_now
      WHERE seq = (${pick})
      RETURNING ${RETURNED}
    ), running AS (
      UPDATE jobs SET status = 'running' WHERE jobs.id = (SELECT job_id FROM picked) AND jobs.status = 'queued'
    )
    SELECT NULL::text, NULL::bigint, p.seq, p.id, p.job_id, p.kind, p.row0, p.rows, p.status, p.lease_worker,
           p.lease_expires_at::text, p.leases, p.reward::numeric, p.done_by, p.start::numeric, p.count, p.quorum, i.a
    FROM picked p LEFT JOIN task_inputs i ON i.task_id = p.id;
    IF FOUND THEN RETURN; END IF;`;

/** This version's `CREATE FUNCTION hub_lease(...)`, which later versions restate with their changes (0012). */
export const HUB_LEASE_11 = `CREATE FUNCTION hub_lease(
    p_worker TEXT, p_kinds TEXT[], p_replicated TEXT[], p_now TEXT, p_expires TEXT,
    p_lease_cap BIGINT, p_new_checked BIGINT, p_new_leases BIGINT, p_new_unpaid NUMERIC, p_new_pending BIGINT,
    p_carved TEXT[], p_carve_id TEXT, p_seconds DOUBLE PRECISION, p_new_size BIGINT, p_min_size BIGINT, p_max_size BIGINT
  ) RETURNS TABLE (
    limit_code TEXT, limit_cap BIGINT,
    seq BIGINT, id TEXT, job_id TEXT, kind TEXT, row0 BIGINT, rows BIGINT, status TEXT, lease_worker TEXT,
    lease_expires_at TEXT, leases BIGINT, reward NUMERIC, done_by TEXT, start NUMERIC, count BIGINT, quorum BIGINT, input BYTEA
  ) LANGUAGE plpgsql VOLATILE AS $fn$
  #variable_conflict use_column
  DECLARE
    v_penalty BIGINT;
    v_checked BIGINT;
    v_held BIGINT;
    v_cap BIGINT;
    v_unpaid NUMERIC;
    v_pending BIGINT;
    v_limited BOOLEAN := false;
    v_kinds TEXT[] := p_kinds;
    v_kind TEXT;
    v_head RECORD;
    v_size BIGINT;
    v_part NUMERIC;
    v_index BIGINT;
  BEGIN
    INSERT INTO workers (address, first_seen, last_seen) VALUES (p_worker, p_now, p_now)
      ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen
      RETURNING workers.lease_penalty INTO v_penalty;
    SELECT coalesce(sum(w.checked_tasks), 0) INTO v_checked FROM worker_trust w WHERE w.worker = p_worker;
    SELECT count(*) INTO v_held FROM tasks t WHERE t.status = 'leased' AND t.lease_worker = p_worker;
    v_cap := CASE WHEN v_checked < p_new_checked THEN p_new_leases ELSE greatest(1, p_lease_cap - v_penalty) END;
    IF v_held >= v_cap THEN
      limit_code := 'cap'; limit_cap := v_cap; RETURN NEXT; RETURN;
    END IF;
    IF v_checked < p_new_checked THEN
      SELECT coalesce(sum(e.amount), 0) INTO v_unpaid FROM earnings e WHERE e.worker = p_worker AND e.status IN ('pending', 'verified');
      IF v_unpaid >= p_new_unpaid THEN
        limit_code := 'unpaid'; RETURN NEXT; RETURN;
      END IF;
      SELECT count(*) INTO v_pending FROM replicas r WHERE r.worker = p_worker AND r.status = 'pending';
      v_limited := v_pending >= p_new_pending;
    END IF;

    IF p_kinds && p_replicated THEN
      ${CLAIM(`SELECT t.seq FROM tasks t WHERE t.replica_for = p_worker AND t.status = 'queued' AND t.kind = ANY (p_kinds)
                ORDER BY t.seq LIMIT 1 FOR UPDATE SKIP LOCKED`)}
    END IF;

    IF v_limited THEN
      SELECT coalesce(array_agg(k), '{}') INTO v_kinds FROM unnest(p_kinds) AS k WHERE NOT (k = ANY (p_replicated));
    END IF;
    IF cardinality(v_kinds) > 1 THEN
      SELECT coalesce(array_agg(c.k ORDER BY c.head), '{}') INTO v_kinds FROM (
        SELECT k, (SELECT t.seq FROM tasks t WHERE ${LEASABLE('k')} ORDER BY t.seq LIMIT 1) AS head
        FROM unnest(v_kinds) AS k
      ) c WHERE c.head IS NOT NULL;
    END IF;
    FOREACH v_kind IN ARRAY v_kinds LOOP
      IF v_kind = ANY (p_carved) THEN
        SELECT t.seq, t.id, t.job_id, t.start, t.count, t.reward INTO v_head FROM tasks t
          WHERE ${LEASABLE('v_kind')} ORDER BY t.seq LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
          v_size := hub_task_size(p_worker, v_kind, p_seconds, p_new_size, p_min_size, p_max_size);
          IF v_head.count > v_size
             AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.task_id = v_head.id)
             AND NOT EXISTS (SELECT 1 FROM task_rejections x WHERE x.task_id = v_head.id) THEN
            v_part := floor(v_head.reward * v_size / v_head.count);
            UPDATE jobs SET tasks_total = tasks_total + 1, status = CASE WHEN jobs.status = 'queued' THEN 'running' ELSE jobs.status END
              WHERE jobs.id = v_head.job_id RETURNING tasks_total - 1 INTO v_index;
            UPDATE tasks SET start = tasks.start + v_size, count = tasks.count - v_size, reward = tasks.reward - v_part WHERE tasks.seq = v_head.seq;
            RETURN QUERY INSERT INTO tasks (id, job_id, kind, row0, rows, status, lease_worker, lease_expires_at, leases, reward, created_at, start, count, leased_at)
              VALUES (p_carve_id, v_head.job_id, v_kind, v_index, 1, 'leased', p_worker, p_expires, 1, v_part, p_now, v_head.start, v_size, p_now)
              RETURNING NULL::text, NULL::bigint, ${RETURNED.replace('tasks.lease_expires_at', 'tasks.lease_expires_at::text').replace('tasks.reward', 'tasks.reward::numeric').replace('tasks.start', 'tasks.start::numeric')}, NULL::bytea;
            RETURN;
          END IF;
          ${CLAIM('v_head.seq')}
        END IF;
      ELSE
        ${CLAIM(`SELECT t.seq FROM tasks t WHERE ${LEASABLE('v_kind')} ORDER BY t.seq LIMIT 1 FOR UPDATE SKIP LOCKED`)}
      END IF;
    END LOOP;
    IF v_limited THEN
      limit_code := 'pending'; RETURN NEXT;
    END IF;
    RETURN;
  END
  $fn$`;

export const migration0011: PgMigration = {
  version: 11,
  name: 'task-sizing',
  sql: `
  CREATE TABLE worker_rates (
    worker TEXT NOT NULL REFERENCES workers (address),
    kind TEXT NOT NULL,
    rate DOUBLE PRECISION CHECK (rate IS NULL OR rate > 0),
    results BIGINT NOT NULL DEFAULT 0 CHECK (results >= 0),
    benchmark_rate DOUBLE PRECISION CHECK (benchmark_rate IS NULL OR benchmark_rate > 0),
    updated_at utc_time NOT NULL,
    PRIMARY KEY (worker, kind)
  );
  ALTER TABLE tasks ADD COLUMN leased_at utc_time;
  ALTER TABLE workers ADD COLUMN last_result_at utc_time;

  CREATE FUNCTION hub_task_size(p_worker TEXT, p_kind TEXT, p_seconds DOUBLE PRECISION, p_new_size BIGINT, p_min_size BIGINT, p_max_size BIGINT)
  RETURNS BIGINT LANGUAGE sql STABLE AS $fn$
    SELECT greatest(p_min_size, least(p_max_size, coalesce(
      (SELECT CASE WHEN r.rate IS NOT NULL THEN floor(r.rate * p_seconds) ELSE least(p_new_size, floor(r.benchmark_rate * p_seconds)) END
       FROM worker_rates r WHERE r.worker = p_worker AND r.kind = p_kind),
      p_new_size)))::bigint
  $fn$;

  DROP FUNCTION hub_lease(TEXT, TEXT[], TEXT[], TEXT, TEXT, BIGINT, BIGINT, BIGINT, NUMERIC, BIGINT);
  ${HUB_LEASE_11};`,
};
