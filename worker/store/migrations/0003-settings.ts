import type { Migration } from '../../../lib/sqlite.js';

/** Settings and the manual pause, kept across restarts (JSON values, parsed on every read); an index for earnings by time. */
export const m0003: Migration = {
  version: 3,
  name: '0003-settings',
  up(db) {
    db.exec(`
      CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- "earned today / this week" on the dashboard.
      CREATE INDEX earnings_created ON earnings (created_at);
    `);
  },
};
