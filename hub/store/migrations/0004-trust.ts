/**
 * Version 4: trust that is earned, replicas the hub assigns, credit it can take back.
 *
 * - workers: `origin` (the /24 or /64 network a worker signs in from; NULL where unknown, or for
 *   loopback on a hub told to treat loopback clients as distinct) and `first_origin`, the one it
 *   first came from; `lease_penalty`, lapsed leases not yet worked off (each lowers the worker's
 *   lease cap by one and keeps it from being trusted; a valid result works one off).
 * - worker_trust: per worker and kind, the work units of its results that someone checked (the
 *   hub, or another worker's agreeing replica) and when the first was checked. Trust is earned
 *   by checked work over time, not by a count of agreements (hub/trust.ts).
 * - task_rejections: which workers' results a task rejected. A task is never leased again to a
 *   worker it rejected; `certain` says whether the hub knows that worker was wrong (a strike)
 *   or only that its answer did not check out (three such for different workers fail the job).
 * - tasks: `needs_replica` (a result waits for a second worker) and `replica_for`, the worker the
 *   hub picked at random for it, until `replica_until`. Only that worker may lease it.
 * - earnings: `alone`, a credit nobody else checked (a trusted worker's lone result, or one the
 *   hub spot-checked), and `held_until`: such a credit is paid only after it, and is taken back
 *   before then if a later check proves its worker wrong.
 */
import type { Migration } from '../../../lib/sqlite.js';

export const migration0004: Migration = {
  version: 4,
  name: 'trust',
  up(db) {
    db.exec(`
      ALTER TABLE workers ADD COLUMN origin TEXT;
      ALTER TABLE workers ADD COLUMN first_origin TEXT;
      ALTER TABLE workers ADD COLUMN lease_penalty INTEGER NOT NULL DEFAULT 0 CHECK (lease_penalty >= 0);
      CREATE INDEX workers_last_seen ON workers (last_seen);

      CREATE TABLE worker_trust (
        worker TEXT NOT NULL REFERENCES workers (address),
        kind TEXT NOT NULL,
        checked_units INTEGER NOT NULL DEFAULT 0 CHECK (checked_units >= 0),
        checked_tasks INTEGER NOT NULL DEFAULT 0 CHECK (checked_tasks >= 0),
        first_checked_at TEXT NOT NULL,
        PRIMARY KEY (worker, kind)
      ) STRICT;

      CREATE TABLE task_rejections (
        task_id TEXT NOT NULL REFERENCES tasks (id),
        worker TEXT NOT NULL REFERENCES workers (address),
        certain INTEGER NOT NULL CHECK (certain IN (0, 1)),
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (task_id, worker)
      ) STRICT;

      ALTER TABLE tasks ADD COLUMN needs_replica INTEGER NOT NULL DEFAULT 0 CHECK (needs_replica IN (0, 1));
      ALTER TABLE tasks ADD COLUMN replica_for TEXT;
      ALTER TABLE tasks ADD COLUMN replica_until TEXT;
      CREATE INDEX tasks_replica_for ON tasks (replica_for, seq) WHERE replica_for IS NOT NULL;
      CREATE INDEX tasks_awaiting_replica ON tasks (seq) WHERE needs_replica = 1 AND status = 'queued';
      CREATE INDEX tasks_leased_by ON tasks (lease_worker) WHERE status = 'leased';
      -- Tasks that waited for any second worker now wait for one the hub picks.
      UPDATE tasks SET needs_replica = 1
        WHERE status = 'queued' AND EXISTS (SELECT 1 FROM replicas r WHERE r.task_id = tasks.id AND r.status = 'pending');

      ALTER TABLE earnings ADD COLUMN alone INTEGER NOT NULL DEFAULT 0 CHECK (alone IN (0, 1));
      ALTER TABLE earnings ADD COLUMN held_until TEXT;
      -- The held lone credits the hub re-checks (every second) and a proven cheat takes back.
      CREATE INDEX earnings_held ON earnings (kind, held_until) WHERE alone = 1 AND status = 'verified' AND payout_id IS NULL;
    `);
  },
};
