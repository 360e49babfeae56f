import type { Migration } from '../../../lib/sqlite.js';

/** The worker's first schema: the ledger mirror, saved results, and the state log. */
export const m0001: Migration = {
  version: 1,
  name: '0001-init',
  up(db) {
    db.exec(`
      CREATE TABLE earnings (
        hub TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        amount TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'paid', 'rejected')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (hub, entry_id)
      );
      CREATE INDEX earnings_task ON earnings (task_id);

      CREATE TABLE results (
        hub TEXT NOT NULL,
        task_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        lease_expires_at TEXT NOT NULL,
        output TEXT NOT NULL,
        saved_at TEXT NOT NULL,
        submitted_at TEXT,
        outcome TEXT,
        PRIMARY KEY (hub, task_id)
      );

      CREATE TABLE state_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL
      );
    `);
  },
};
