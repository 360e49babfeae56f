import type { Migration } from '../../../lib/sqlite.js';

/**
 * Receipts: the hub's word on each entry (how it checked the result, as the protocol's JSON
 * `check`, and why it was rejected), each task's size in its kind's unit of work, and every run
 * of a task here that earned no entry (`task_attempts`: its lease lapsed, it was given back, it
 * failed on the GPU, the hub refused the result), with why. A task may run here more than once
 * (given back, then leased again): each run that went nowhere is a row of its own. Nothing the
 * worker ran disappears from its history.
 */
export const m0008: Migration = {
  version: 8,
  name: '0008-receipts',
  up(db) {
    db.exec(`
      ALTER TABLE earnings ADD COLUMN check_json TEXT;
      ALTER TABLE earnings ADD COLUMN reason TEXT;
      ALTER TABLE task_times ADD COLUMN units TEXT;
      ALTER TABLE task_times ADD COLUMN unit TEXT;
      CREATE TABLE task_attempts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hub TEXT NOT NULL,
        task_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        gpu_ms INTEGER CHECK (gpu_ms IS NULL OR gpu_ms >= 0),
        units TEXT,
        unit TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('lapsed', 'given-back', 'failed', 'refused')),
        reason TEXT NOT NULL
      );
      -- The history is read newest first: runs by their time, entries by theirs (earnings_created, migration 3).
      CREATE INDEX task_attempts_at ON task_attempts (at);
    `);
  },
};
