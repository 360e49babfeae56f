/**
 * Version 12: fewer index writes on the lease's hot rows (docs/DESIGN.md, "What the hub costs on
 * PostgreSQL").
 *
 * - `hub_lease` (migration 11's, restated with one change): the worker's `last_seen` moves only
 *   when it is 10 seconds old or more. The upsert still locks the worker's row first, as every
 *   step after relies on; but `last_seen` is indexed (`workers_last_seen`, for the replica rule's
 *   "seen lately"), so writing a new value made every lease a non-HOT update of the worker's row,
 *   with an entry in each of its three indexes. Written back unchanged, the row's new version
 *   stays on its page and no index is touched (a HOT update). Nothing reads `last_seen` finer
 *   than minutes.
 * - `hub_lease` claims the task it picked by its `id` (unique, indexed already) instead of its
 *   `seq`, so the hash index on `seq` (migration 7) goes: one index entry fewer at each lease and
 *   each result. `seq` keeps the queue's order through `tasks_leasable`.
 * - A lease that is a transaction of its own (the statement alone, as the hub sends it: its
 *   transaction began with this statement) commits asynchronously (`synchronous_commit` off for
 *   that transaction only): it returns without waiting for the disk to flush its log. A crash can
 *   then lose the last leases acknowledged, never a credit: a lease moves no money, and every
 *   credit, which commits synchronously, flushes the log up to itself and so every lease before
 *   it. A lease lost that way leaves its task queued; the worker's result for it is refused as a
 *   lapsed lease would be (409), and nothing is paid twice. Inside a larger transaction (a test's,
 *   or any future caller's) the lease leaves the commit to it. On this project's machine a flush
 *   takes 0.3–2 ms, and each of a process's 4 connections waited for one at every lease. (Its
 *   test of "a transaction of its own" fails for statements sent with the extended protocol, as
 *   the hub sends them: migration 14 has the caller say so instead.)
 * - `tasks_queue` (status, kind, seq), on every task, gave way to `tasks_open` (kind, status) on
 *   the queued and leased ones only: every change of a task's status wrote an entry in it, and
 *   its one reader, the queue-depth metric, counts only open tasks.
 */
import { HUB_LEASE_11 } from './0011-task-sizing.js';
import { restate, type TextChange } from './restate.js';
import type { PgMigration } from './index.js';

/** Migration 11's text of `hub_lease` and this version's, each change made exactly as often as written. */
const CHANGES: readonly TextChange[] = [
  // Before step 1: a lease that is a transaction of its own commits without waiting for its flush.
  {
    from: '  BEGIN\n    INSERT INTO workers',
    to: `  BEGIN
    IF transaction_timestamp() = statement_timestamp() THEN
      PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    INSERT INTO workers`,
    times: 1,
  },
  // Step 1: the worker's row, locked and seen.
  {
    from: 'ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen',
    to: `ON CONFLICT (address) DO UPDATE SET last_seen = CASE
        WHEN workers.last_seen::timestamptz > excluded.last_seen::timestamptz - interval '10 seconds' THEN workers.last_seen
        ELSE excluded.last_seen END`,
    times: 1,
  },
  // The claims: the picked task by its id (unique index) rather than its seq (hash index, dropped below).
  { from: 'WHERE seq = (SELECT t.seq FROM tasks t', to: 'WHERE tasks.id = (SELECT t.id FROM tasks t', times: 2 },
  { from: 'WHERE seq = (v_head.seq)', to: 'WHERE tasks.id = (v_head.id)', times: 1 },
  { from: 'WHERE tasks.seq = v_head.seq;', to: 'WHERE tasks.id = v_head.id;', times: 1 },
  { from: 'CREATE FUNCTION hub_lease(', to: 'CREATE OR REPLACE FUNCTION hub_lease(', times: 1 },
];


/** This version's `CREATE OR REPLACE FUNCTION hub_lease(...)`, which later versions restate with their changes (0013). */
export const HUB_LEASE_12 = restate(HUB_LEASE_11, CHANGES, "migration 12, in migration 11's hub_lease");

export const migration0012: PgMigration = {
  version: 12,
  name: 'write-costs',
  sql: `
  ${HUB_LEASE_12};
  DROP INDEX tasks_queue;
  DROP INDEX tasks_seq;
  CREATE INDEX tasks_open ON tasks (kind, status) WHERE status IN ('queued', 'leased');`,
};
