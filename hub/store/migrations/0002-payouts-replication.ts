/**
 * Version 2: payouts on chain, hashsearch jobs with replication, and worker standing.
 *
 * - workers: `consecutive_valid` (trust: valid results in a row, back to 0 on a rejection),
 *   `strikes` (rejections not yet forgiven) and the suspension that too many strikes bring.
 * - job inputs move out of the `jobs` row: B to `job_inputs`, each task's rows of A to
 *   `task_inputs`. (SQLite rewrites a whole row, BLOBs included, on every update, and reads a
 *   whole BLOB for any substr of it: counting one task done rewrote all of A and B.) Both are
 *   deleted once no longer needed. `jobs.a` and `jobs.b` stay, empty.
 * - jobs: `spec`, the JSON parameters of kinds that have no matrices (hashsearch). m, n, k are
 *   matmul's; a hashsearch job keeps them at 1.
 * - tasks: `start` and `count`, a hashsearch task's nonce range (its `row0` is the task's index
 *   in the job, `rows` 1), and `quorum`: how many workers must be credited for it (2 when its
 *   result is replicated).
 * - replicas: every hashsearch result, kept until the task is settled, one per task and worker.
 * - earnings: credited once per task *and worker* (a replicated task pays each agreeing worker),
 *   never more often than the task's quorum (a trigger), and `payout_id` once a payout holds it.
 * - payouts: rebuilt (version 1 never wrote to it) with everything crash-safe sending needs: the
 *   treasury nonce reserved for the payout and the signed transaction, stored before it is sent.
 */
import type { Migration } from '../../../lib/sqlite.js';

const AMOUNT = (col: string): string => `CHECK (length(${col}) > 0 AND ${col} NOT GLOB '*[^0-9]*')`;

export const migration0002: Migration = {
  version: 2,
  name: 'payouts-replication',
  up(db) {
    db.exec(`
      ALTER TABLE workers ADD COLUMN consecutive_valid INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_valid >= 0);
      ALTER TABLE workers ADD COLUMN strikes INTEGER NOT NULL DEFAULT 0 CHECK (strikes >= 0);
      ALTER TABLE workers ADD COLUMN suspended_at TEXT;
      ALTER TABLE workers ADD COLUMN suspended_reason TEXT;

      ALTER TABLE jobs ADD COLUMN spec TEXT;

      CREATE TABLE job_inputs (
        job_id TEXT PRIMARY KEY REFERENCES jobs (id),
        b BLOB NOT NULL
      ) STRICT;
      CREATE TABLE task_inputs (
        task_id TEXT PRIMARY KEY REFERENCES tasks (id),
        a BLOB NOT NULL
      ) STRICT;
      INSERT INTO job_inputs (job_id, b) SELECT id, b FROM jobs WHERE kind = 'matmul' AND status != 'done';
      INSERT INTO task_inputs (task_id, a)
        SELECT t.id, substr(j.a, t.row0 * j.k * 4 + 1, t.rows * j.k * 4)
        FROM tasks t JOIN jobs j ON j.id = t.job_id
        WHERE t.kind = 'matmul' AND t.status != 'done';
      UPDATE jobs SET a = x'', b = x'';

      ALTER TABLE tasks ADD COLUMN start TEXT CHECK (start IS NULL OR (length(start) > 0 AND start NOT GLOB '*[^0-9]*'));
      ALTER TABLE tasks ADD COLUMN count INTEGER CHECK (count IS NULL OR count > 0);
      ALTER TABLE tasks ADD COLUMN quorum INTEGER NOT NULL DEFAULT 1 CHECK (quorum IN (1, 2));

      CREATE TABLE replicas (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL REFERENCES tasks (id),
        worker TEXT NOT NULL REFERENCES workers (address),
        output TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'agreed', 'rejected')),
        earning_id INTEGER REFERENCES earnings (id),
        created_at TEXT NOT NULL,
        settled_at TEXT,
        UNIQUE (task_id, worker)
      ) STRICT;
      CREATE INDEX replicas_pending ON replicas (created_at) WHERE status = 'pending';

      DROP INDEX earnings_task_once;
      CREATE UNIQUE INDEX earnings_task_worker_once ON earnings (task_id, worker) WHERE status != 'rejected';
      CREATE TRIGGER earnings_quorum BEFORE INSERT ON earnings
        WHEN NEW.status != 'rejected'
          AND (SELECT count(*) FROM earnings WHERE task_id = NEW.task_id AND status != 'rejected')
            >= (SELECT quorum FROM tasks WHERE id = NEW.task_id)
      BEGIN
        SELECT RAISE(ABORT, 'the task is already credited as often as its quorum allows');
      END;

      DROP TABLE payouts;
      CREATE TABLE payouts (
        id TEXT PRIMARY KEY,
        worker TEXT NOT NULL REFERENCES workers (address),
        to_address TEXT NOT NULL,
        amount TEXT NOT NULL ${AMOUNT('amount')},
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'confirmed', 'failed')),
        chain_id INTEGER NOT NULL,
        token TEXT NOT NULL,
        treasury TEXT NOT NULL,
        tx_nonce INTEGER NOT NULL CHECK (tx_nonce >= 0),
        raw_tx TEXT,
        tx_hash TEXT,
        block_number INTEGER,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        CHECK ((raw_tx IS NULL) = (tx_hash IS NULL)),
        CHECK (status IN ('pending', 'failed') OR tx_hash IS NOT NULL),
        UNIQUE (chain_id, treasury, tx_nonce)
      ) STRICT;
      CREATE INDEX payouts_worker ON payouts (worker, created_at);
      CREATE INDEX payouts_open ON payouts (tx_nonce) WHERE status IN ('pending', 'sent');

      ALTER TABLE earnings ADD COLUMN payout_id TEXT REFERENCES payouts (id);
      CREATE INDEX earnings_unpaid ON earnings (worker) WHERE status = 'verified' AND payout_id IS NULL;
      CREATE INDEX earnings_payout ON earnings (payout_id) WHERE payout_id IS NOT NULL;
    `);
  },
};
