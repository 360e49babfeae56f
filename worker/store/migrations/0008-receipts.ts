import type { Migration } from '../../../lib/sqlite.js';

/**
 * Receipts: the hub's word on each entry (how it checked the result, as the protocol's JSON
 * `check`, and why it was rejected), and what this machine knows of each task it ran: its size
 * in its kind's unit of work, and, for work the hub has no entry of, what became of it (its lease
 * lapsed, it was given back, it failed on the GPU, the hub refused the result) and why. Nothing
 * the worker ran disappears from its history.
 */
export const m0008: Migration = {
  version: 8,
  name: '0008-receipts',
  up(db) {
    db.exec(`
      ALTER TABLE earnings ADD COLUMN check_json TEXT;
      ALTER TABLE earnings ADD COLUMN reason TEXT;
      CREATE INDEX earnings_hub_task ON earnings (hub, task_id);
      ALTER TABLE task_times ADD COLUMN units TEXT;
      ALTER TABLE task_times ADD COLUMN unit TEXT;
      ALTER TABLE task_times ADD COLUMN outcome TEXT CHECK (outcome IS NULL OR outcome IN ('lapsed', 'given-back', 'failed', 'refused'));
      ALTER TABLE task_times ADD COLUMN outcome_reason TEXT;
    `);
  },
};
