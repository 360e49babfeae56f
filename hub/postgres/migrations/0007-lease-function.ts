/**
 * Version 7: the lease as one statement, `hub_lease(...)`, a PL/pgSQL function: the home of what
 * a lease decides (hub/worker-requests.ts `claimTask` calls it; the words for its limits are in
 * hub/standing.ts).
 *
 * A lease was a READ COMMITTED transaction of five round trips (BEGIN, the worker's upsert that
 * locks its row, its standing, the claim, COMMIT; eight for a worker asking for two kinds). In a
 * function the same steps run in one round trip and commit on their own. Each statement of a
 * VOLATILE function takes a fresh snapshot, so the standing is read after the worker's row is
 * locked, as in the transaction: one worker's leases at once are still counted against its cap
 * one after the other (hub/trust.test.ts, 40 at once). Lapsed leases go back to the queue before,
 * in a statement of their own, as before (at most once a second per process).
 *
 * The steps, in order:
 * 1. the worker's row is upserted and locked (`last_seen`), returning its lease penalty;
 * 2. its standing: checked results, leases held; for a new key (fewer than `p_new_checked`
 *    checked results) also what it is owed and its results waiting for a second worker;
 * 3. a limit stops it (`limit_code` 'cap' with `limit_cap`, or 'unpaid'), or, for 'pending',
 *    only the kinds that need a second worker;
 * 4. a task waiting for this worker as its second worker (replica_for), of a kind it asked for;
 * 5. else the oldest leasable task of its kinds: each kind's head looked at without a lock, then
 *    claimed in the order of their oldest candidate with FOR UPDATE SKIP LOCKED (a task another
 *    lease holds is passed over), its job marked running, its input A returned with it.
 * Nothing leased and limited by 'pending': one row with that code. Nothing at all: no row.
 *
 * The same migration takes the primary key off `seq` (`id` stays unique, and every reference is to
 * it) and looks `seq` up through a hash index instead. With a B-tree in `seq` order, the planner
 * could walk it from the first task ever to find the oldest queued task of a kind, filtering out
 * every task done since (it judges by row counts, not by where in that order the queued rows
 * are): with 3,700 tasks done and 107,000 queued, 3–16 ms a look for the kind most tasks are, and
 * 59–135 ms for a kind with none queued, which walked the whole table, on every lease of a worker
 * asking for both. Migration 6's bound (`seq >=` the queue's head) was itself planned that way.
 * Without that order to walk, every look goes through `tasks_leasable`, under generic and custom
 * plans alike: 0.03–0.3 ms on the same table.
 */
import type { PgMigration } from './index.js';

/** What makes a queued task of kind `k` one worker `w` may lease (the alias is `t`); exported for its plan's test. */
export const LEASABLE = (k: string, w = 'p_worker'): string => `t.status = 'queued' AND t.kind = ${k} AND t.needs_replica = 0
        AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.task_id = t.id AND r.worker = ${w})
        AND NOT EXISTS (SELECT 1 FROM task_rejections x WHERE x.task_id = t.id AND x.worker = ${w})
        AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = t.job_id AND j.status = 'failed')`;

/** Leases the task whose seq `pick` selects (locked by it) and returns it with its input. */
export const CLAIM = (pick: string): string => `RETURN QUERY WITH picked AS (
      UPDATE tasks SET status = 'leased', lease_worker = p_worker, lease_expires_at = p_expires, leases = leases + 1
      WHERE seq = (${pick})
      RETURNING tasks.seq, tasks.id, tasks.job_id, tasks.kind, tasks.row0, tasks.rows, tasks.status, tasks.lease_worker,
                tasks.lease_expires_at, tasks.leases, tasks.reward, tasks.done_by, tasks.start, tasks.count, tasks.quorum
    ), running AS (
      UPDATE jobs SET status = 'running' WHERE jobs.id = (SELECT job_id FROM picked) AND jobs.status = 'queued'
    )
    SELECT NULL::text, NULL::bigint, p.seq, p.id, p.job_id, p.kind, p.row0, p.rows, p.status, p.lease_worker,
           p.lease_expires_at::text, p.leases, p.reward::numeric, p.done_by, p.start::numeric, p.count, p.quorum, i.a
    FROM picked p LEFT JOIN task_inputs i ON i.task_id = p.id;
    IF FOUND THEN RETURN; END IF;`;

/** This version's `CREATE FUNCTION hub_lease(...)`, which migration 11 restates with its changes. */
export const HUB_LEASE_7 = `CREATE FUNCTION hub_lease(
    p_worker TEXT, p_kinds TEXT[], p_replicated TEXT[], p_now TEXT, p_expires TEXT,
    p_lease_cap BIGINT, p_new_checked BIGINT, p_new_leases BIGINT, p_new_unpaid NUMERIC, p_new_pending BIGINT
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
      ${CLAIM(`SELECT t.seq FROM tasks t WHERE ${LEASABLE('v_kind')} ORDER BY t.seq LIMIT 1 FOR UPDATE SKIP LOCKED`)}
    END LOOP;
    IF v_limited THEN
      limit_code := 'pending'; RETURN NEXT;
    END IF;
    RETURN;
  END
  $fn$`;

export const migration0007: PgMigration = {
  version: 7,
  name: 'lease-function',
  sql: `ALTER TABLE tasks DROP CONSTRAINT tasks_pkey;
  CREATE INDEX tasks_seq ON tasks USING hash (seq);

  ${HUB_LEASE_7};`,
};
