/**
 * Version 1: customers, sign-in (nonces, sessions), workers, jobs, tasks, the earnings ledger,
 * and an empty payouts table. Amounts are TEXT holding a non-negative decimal integer (base
 * units); times are ISO 8601 UTC strings with milliseconds, which sort correctly as text.
 */
import type { Migration } from '../../../lib/sqlite.js';

const AMOUNT = (col: string): string => `CHECK (length(${col}) > 0 AND ${col} NOT GLOB '*[^0-9]*')`;

export const migration0001: Migration = {
  version: 1,
  name: 'init',
  up(db) {
    db.exec(`
      CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        api_key_hash TEXT NOT NULL UNIQUE CHECK (length(api_key_hash) = 64),
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE auth_nonces (
        nonce TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
      ) STRICT;
      CREATE INDEX auth_nonces_expiry ON auth_nonces (expires_at);

      CREATE TABLE workers (
        address TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        last_heartbeat TEXT,
        tasks_accepted INTEGER NOT NULL DEFAULT 0,
        tasks_rejected INTEGER NOT NULL DEFAULT 0,
        leases_expired INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
        address TEXT NOT NULL REFERENCES workers (address),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX sessions_expiry ON sessions (expires_at);

      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers (id),
        kind TEXT NOT NULL,
        m INTEGER NOT NULL CHECK (m > 0),
        n INTEGER NOT NULL CHECK (n > 0),
        k INTEGER NOT NULL CHECK (k > 0),
        a BLOB NOT NULL,
        b BLOB NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        price TEXT NOT NULL ${AMOUNT('price')},
        tasks_total INTEGER NOT NULL CHECK (tasks_total > 0),
        tasks_done INTEGER NOT NULL DEFAULT 0 CHECK (tasks_done >= 0 AND tasks_done <= tasks_total),
        created_at TEXT NOT NULL,
        done_at TEXT
      ) STRICT;
      CREATE INDEX jobs_customer ON jobs (customer_id, created_at);

      -- seq is the queue order: leases go to the lowest seq first (oldest task first).
      CREATE TABLE tasks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        job_id TEXT NOT NULL REFERENCES jobs (id),
        kind TEXT NOT NULL,
        row0 INTEGER NOT NULL CHECK (row0 >= 0),
        rows INTEGER NOT NULL CHECK (rows > 0),
        status TEXT NOT NULL CHECK (status IN ('queued', 'leased', 'done')),
        lease_worker TEXT REFERENCES workers (address),
        lease_expires_at TEXT,
        leases INTEGER NOT NULL DEFAULT 0,
        reward TEXT NOT NULL ${AMOUNT('reward')},
        result BLOB,
        done_by TEXT REFERENCES workers (address),
        created_at TEXT NOT NULL,
        done_at TEXT,
        CHECK ((status = 'leased') = (lease_worker IS NOT NULL AND lease_expires_at IS NOT NULL)),
        CHECK ((status = 'done') = (result IS NOT NULL AND done_by IS NOT NULL))
      ) STRICT;
      CREATE INDEX tasks_queue ON tasks (status, kind, seq);
      CREATE INDEX tasks_job ON tasks (job_id, row0);
      CREATE INDEX tasks_lease_expiry ON tasks (lease_expires_at) WHERE status = 'leased';

      -- The ledger. A task is credited at most once: the partial unique index allows any number
      -- of rejected entries for a task but only one that is not rejected.
      CREATE TABLE earnings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL REFERENCES tasks (id),
        worker TEXT NOT NULL REFERENCES workers (address),
        kind TEXT NOT NULL,
        amount TEXT NOT NULL ${AMOUNT('amount')},
        status TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'paid', 'rejected')),
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX earnings_task_once ON earnings (task_id) WHERE status != 'rejected';
      CREATE INDEX earnings_worker ON earnings (worker, id);

      CREATE TABLE payouts (
        id TEXT PRIMARY KEY,
        worker TEXT NOT NULL REFERENCES workers (address),
        amount TEXT NOT NULL ${AMOUNT('amount')},
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'confirmed', 'failed')),
        tx_hash TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX payouts_worker ON payouts (worker, created_at);
    `);
  },
};
