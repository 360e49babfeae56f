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
 * - `hub_lease(...)` again (migration 7's text restated with checked changes), with every step of migration 7 kept in the same order (the worker's
 *   row locked before its standing is read, the caps, the replica owed first, SKIP LOCKED claims),
 *   and one more: for a kind of `p_carved`, the head task is carved. When the oldest leasable task
 *   holds more than this worker's size and was never answered (no replica row, no rejection), its
 *   first `size` units become a new task (`p_carve_id`), leased to the worker, with the share of
 *   the reward its units are of the whole (rounded down); the rest keeps the row, its place in the
 *   queue and the rest of the reward. Its job counts one more task (`tasks_total`) in the same
 *   statement, so a job is never done while a part of it is unleased. A task that was answered
 *   keeps its range: replicas must search the same nonces.
 */
import { CLAIM as CLAIM_7, HUB_LEASE_7, LEASABLE } from './0007-lease-function.js';
import { restate, type TextChange } from './restate.js';
import type { PgMigration } from './index.js';

/** A claim records when its lease began. */
const LEASED_AT: TextChange = { from: 'leases = leases + 1\n', to: 'leases = leases + 1, leased_at = p_now\n', times: 1 };

const RETURNED = `tasks.seq, tasks.id, tasks.job_id, tasks.kind, tasks.row0, tasks.rows, tasks.status, tasks.lease_worker,
                tasks.lease_expires_at, tasks.leases, tasks.reward, tasks.done_by, tasks.start, tasks.count, tasks.quorum`;

/** Leases the task whose seq `pick` selects (locked by it) and returns it with its input (migration 7's, and `leased_at`). */
const CLAIM = (pick: string): string => restate(CLAIM_7(pick), [LEASED_AT], "migration 11, in migration 7's claim");

/** Migration 7's `hub_lease` and this version's (see the header's list), each change made exactly as often as written. */
const CHANGES: readonly TextChange[] = [
  { from: 'p_new_pending BIGINT\n', to: 'p_new_pending BIGINT,\n    p_carved TEXT[], p_carve_id TEXT, p_seconds DOUBLE PRECISION, p_new_size BIGINT, p_min_size BIGINT, p_max_size BIGINT\n', times: 1 },
  { from: '    v_kind TEXT;\n', to: '    v_kind TEXT;\n    v_head RECORD;\n    v_size BIGINT;\n    v_part NUMERIC;\n    v_index BIGINT;\n', times: 1 },
  { ...LEASED_AT, times: 2 },
  // The kind's head carved for a kind of `p_carved`; any other kind claimed as before.
  {
    from: '    FOREACH v_kind IN ARRAY v_kinds LOOP\n      RETURN QUERY',
    to: `    FOREACH v_kind IN ARRAY v_kinds LOOP
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
        RETURN QUERY`,
    times: 1,
  },
  { from: '    IF FOUND THEN RETURN; END IF;\n    END LOOP;', to: '    IF FOUND THEN RETURN; END IF;\n      END IF;\n    END LOOP;', times: 1 },
];

/** This version's `CREATE FUNCTION hub_lease(...)`, which later versions restate with their changes (0012). */
export const HUB_LEASE_11 = restate(HUB_LEASE_7, CHANGES, "migration 11, in migration 7's hub_lease");


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
