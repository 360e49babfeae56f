import type { Migration } from '../../../lib/sqlite.js';
import { rebuildRollups } from '../rollups.js';

/**
 * A year of history (3 million entries) stays fast:
 * - `created_ms`: each entry's time in ms since the epoch, exact whatever offset its ISO text was
 *   written with (the hub may write `+01:00`), indexed for the chart's edges and the CSV's pages
 *   (it replaces the index on the text);
 * - `earnings_hourly` and `earnings_daily`: sums and counts of entries by UTC hour or day and
 *   status, amounts as decimal TEXT kept exact with bigint in JavaScript (store/rollups.ts) on
 *   every write; SQL never sums an amount (an 18-decimal amount overflows 64-bit integers and
 *   turns to a double in SUM);
 * - indexes for the history's pages, newest first, each in time order: by status, by kind, by
 *   both; the runs that earned no entry (task_attempts, migration 8) by their time in ms too;
 * - `payouts_created`: the payouts' pages, newest first; `payouts_open`: the oldest open one;
 * - `mirror_cursors`: where the mirror's last read of each hub's changes ended (GET /v1/earnings
 *   `changedAfter`).
 */
export const m0009: Migration = {
  version: 9,
  name: '0009-ledger-rollups',
  up(db) {
    db.exec(`
      ALTER TABLE earnings ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE task_attempts ADD COLUMN at_ms INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE earnings_hourly (
        hour INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'paid', 'rejected')),
        amount TEXT NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (hour, status)
      ) WITHOUT ROWID;
      CREATE TABLE earnings_daily (
        day INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'verified', 'paid', 'rejected')),
        amount TEXT NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (day, status)
      ) WITHOUT ROWID;
      CREATE TABLE mirror_cursors (
        hub TEXT PRIMARY KEY,
        ledger_seq TEXT NOT NULL
      );
    `);
    const rows = db.prepare<[], { rowid: number; created_at: string }>('SELECT rowid, created_at FROM earnings').all();
    const set = db.prepare<[number, number]>('UPDATE earnings SET created_ms = ? WHERE rowid = ?');
    for (const r of rows) set.run(Date.parse(r.created_at), r.rowid);
    const runs = db.prepare<[], { id: number; at: string }>('SELECT id, at FROM task_attempts').all();
    const setRun = db.prepare<[number, number]>('UPDATE task_attempts SET at_ms = ? WHERE id = ?');
    for (const r of runs) setRun.run(Date.parse(r.at), r.id);
    db.exec(`
      DROP INDEX earnings_created;
      CREATE INDEX earnings_created_ms ON earnings (created_ms);
      CREATE INDEX earnings_status_ms ON earnings (status, created_ms);
      CREATE INDEX earnings_kind_ms ON earnings (kind, created_ms);
      CREATE INDEX earnings_kind_status_ms ON earnings (kind, status, created_ms);
      DROP INDEX task_attempts_at;
      CREATE INDEX task_attempts_at_ms ON task_attempts (at_ms);
      CREATE INDEX payouts_created ON payouts (created_at, payout_id);
      CREATE INDEX payouts_open ON payouts (hub, created_at) WHERE status IN ('pending', 'sent');
    `);
    rebuildRollups(db);
  },
};
