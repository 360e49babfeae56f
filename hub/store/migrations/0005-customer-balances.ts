/**
 * Version 5: customers pay for what they order.
 *
 * - customer_accounts: a customer's balance in base units: `available` (free to spend on new
 *   jobs) and `reserved` (held by its open jobs). available + reserved = everything deposited or
 *   credited minus everything charged. A customer without a row has 0 and 0.
 * - customer_ledger: every change of a balance, append-only: `deposit` (a token transfer from a
 *   registered address to the treasury), `credit` (the operator's, with a reason; `ref` makes it
 *   idempotent), `reserve` (a job's price, when it is accepted), `charge` (a task's reward, when
 *   it is credited to a worker), `release` (what a job still held when it ended). Unique
 *   indexes make each happen at most once: one deposit entry per deposit, one charge per task,
 *   one reserve and one release per job, one credit per ref.
 * - job_reservations: what a job reserved, and once it ended (`settled_at`) what of it was left
 *   (`remaining`, then 0); jobs accepted before this version have none and are never charged.
 * - customer_addresses: the addresses a customer proved it pays from (an EIP-191 signature);
 *   an address belongs to one customer at most.
 * - customer_address_nonces: single-use nonces of those proofs, bound to the customer who asked
 *   (kept apart from the workers' sign-in nonces, so that neither message can stand in for the other).
 * - deposits: every token Transfer to the treasury the hub has seen, once per (transaction hash,
 *   log index). `customer_id` is NULL when the sender was not a registered address: such a
 *   transfer is kept aside, not credited.
 * - deposit_cursors: the next block the deposit watcher reads, per chain, token and treasury.
 * - jobs_open: the open jobs of a customer, for its quotas.
 */
import type { Migration } from '../../../lib/sqlite.js';

const AMOUNT = (col: string): string => `CHECK (length(${col}) > 0 AND ${col} NOT GLOB '*[^0-9]*')`;

export const migration0005: Migration = {
  version: 5,
  name: 'customer-balances',
  up(db) {
    db.exec(`
      CREATE TABLE customer_accounts (
        customer_id TEXT PRIMARY KEY REFERENCES customers (id),
        available TEXT NOT NULL ${AMOUNT('available')},
        reserved TEXT NOT NULL ${AMOUNT('reserved')},
        updated_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE customer_addresses (
        address TEXT PRIMARY KEY CHECK (length(address) = 42),
        customer_id TEXT NOT NULL REFERENCES customers (id),
        registered_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX customer_addresses_customer ON customer_addresses (customer_id);

      CREATE TABLE customer_address_nonces (
        nonce TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL REFERENCES customers (id),
        address TEXT NOT NULL CHECK (length(address) = 42),
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
      ) STRICT;
      CREATE INDEX customer_address_nonces_expiry ON customer_address_nonces (expires_at);

      CREATE TABLE deposits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chain_id INTEGER NOT NULL,
        token TEXT NOT NULL CHECK (length(token) = 42),
        tx_hash TEXT NOT NULL CHECK (length(tx_hash) = 66),
        log_index INTEGER NOT NULL CHECK (log_index >= 0),
        block_number INTEGER NOT NULL CHECK (block_number >= 0),
        from_address TEXT NOT NULL CHECK (length(from_address) = 42),
        to_address TEXT NOT NULL CHECK (length(to_address) = 42),
        amount TEXT NOT NULL ${AMOUNT('amount')},
        customer_id TEXT REFERENCES customers (id),
        created_at TEXT NOT NULL,
        UNIQUE (tx_hash, log_index)
      ) STRICT;
      CREATE INDEX deposits_customer ON deposits (customer_id, id) WHERE customer_id IS NOT NULL;

      CREATE TABLE deposit_cursors (
        chain_id INTEGER NOT NULL,
        token TEXT NOT NULL,
        treasury TEXT NOT NULL,
        next_block INTEGER NOT NULL CHECK (next_block >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (chain_id, token, treasury)
      ) STRICT;

      CREATE TABLE job_reservations (
        job_id TEXT PRIMARY KEY REFERENCES jobs (id),
        customer_id TEXT NOT NULL REFERENCES customers (id),
        amount TEXT NOT NULL ${AMOUNT('amount')},
        remaining TEXT NOT NULL ${AMOUNT('remaining')},
        settled_at TEXT
      ) STRICT;
      CREATE INDEX job_reservations_open ON job_reservations (customer_id) WHERE settled_at IS NULL;

      CREATE TABLE customer_ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        customer_id TEXT NOT NULL REFERENCES customers (id),
        type TEXT NOT NULL CHECK (type IN ('deposit', 'credit', 'reserve', 'charge', 'release')),
        amount TEXT NOT NULL ${AMOUNT('amount')},
        job_id TEXT REFERENCES jobs (id),
        task_id TEXT REFERENCES tasks (id),
        deposit_id INTEGER REFERENCES deposits (id),
        ref TEXT,
        reason TEXT,
        created_at TEXT NOT NULL,
        CHECK ((type = 'deposit') = (deposit_id IS NOT NULL)),
        CHECK ((type IN ('reserve', 'charge', 'release')) = (job_id IS NOT NULL)),
        CHECK (type != 'credit' OR (reason IS NOT NULL AND length(reason) > 0)),
        CHECK (ref IS NULL OR type = 'credit')
      ) STRICT;
      CREATE INDEX customer_ledger_customer ON customer_ledger (customer_id, id);
      CREATE UNIQUE INDEX customer_ledger_deposit_once ON customer_ledger (deposit_id) WHERE type = 'deposit';
      -- A task is charged by the very update that credits it (tasks.charged_at, set once); the
      -- ledger records what a job was charged in all when it ends, once per job.
      CREATE UNIQUE INDEX customer_ledger_charge_once ON customer_ledger (job_id) WHERE type = 'charge';
      ALTER TABLE tasks ADD COLUMN charged_at TEXT;
      CREATE UNIQUE INDEX customer_ledger_reserve_once ON customer_ledger (job_id) WHERE type = 'reserve';
      CREATE UNIQUE INDEX customer_ledger_release_once ON customer_ledger (job_id) WHERE type = 'release';
      CREATE UNIQUE INDEX customer_ledger_credit_once ON customer_ledger (ref) WHERE ref IS NOT NULL;

      CREATE INDEX jobs_open ON jobs (customer_id) WHERE status IN ('queued', 'running');
    `);
  },
};
