/**
 * Version 4 (as hub/store/migrations/0004-trust.ts, whose header says what each change is for):
 * worker origins and lease penalties, per-kind trust, task rejections, replicas the hub assigns,
 * lone credits held before they are paid.
 */
import type { PgMigration } from './index.js';

export const migration0004: PgMigration = {
  version: 4,
  name: 'trust',
  sql: `
    ALTER TABLE workers ADD COLUMN origin TEXT;
    ALTER TABLE workers ADD COLUMN first_origin TEXT;
    ALTER TABLE workers ADD COLUMN lease_penalty BIGINT NOT NULL DEFAULT 0 CHECK (lease_penalty >= 0);
    CREATE INDEX workers_last_seen ON workers (last_seen);

    CREATE TABLE worker_trust (
      worker TEXT NOT NULL REFERENCES workers (address),
      kind TEXT NOT NULL,
      checked_units BIGINT NOT NULL DEFAULT 0 CHECK (checked_units >= 0),
      checked_tasks BIGINT NOT NULL DEFAULT 0 CHECK (checked_tasks >= 0),
      first_checked_at utc_time NOT NULL,
      PRIMARY KEY (worker, kind)
    );

    CREATE TABLE task_rejections (
      task_id TEXT NOT NULL REFERENCES tasks (id),
      worker TEXT NOT NULL REFERENCES workers (address),
      certain BIGINT NOT NULL CHECK (certain IN (0, 1)),
      reason TEXT NOT NULL,
      created_at utc_time NOT NULL,
      PRIMARY KEY (task_id, worker)
    );

    ALTER TABLE tasks ADD COLUMN needs_replica BIGINT NOT NULL DEFAULT 0 CHECK (needs_replica IN (0, 1));
    ALTER TABLE tasks ADD COLUMN replica_for TEXT;
    ALTER TABLE tasks ADD COLUMN replica_until utc_time;
    CREATE INDEX tasks_replica_for ON tasks (replica_for, seq) WHERE replica_for IS NOT NULL;
    CREATE INDEX tasks_awaiting_replica ON tasks (seq) WHERE needs_replica = 1 AND status = 'queued';
    CREATE INDEX tasks_leased_by ON tasks (lease_worker) WHERE status = 'leased';
    -- Tasks that waited for any second worker now wait for one the hub picks.
    UPDATE tasks SET needs_replica = 1
      WHERE status = 'queued' AND EXISTS (SELECT 1 FROM replicas r WHERE r.task_id = tasks.id AND r.status = 'pending');

    ALTER TABLE earnings ADD COLUMN alone BIGINT NOT NULL DEFAULT 0 CHECK (alone IN (0, 1));
    ALTER TABLE earnings ADD COLUMN held_until utc_time;
    -- The held lone credits the hub re-checks (every second) and a proven cheat takes back.
    CREATE INDEX earnings_held ON earnings (kind, held_until) WHERE alone = 1 AND status = 'verified' AND payout_id IS NULL;
  `,
};
