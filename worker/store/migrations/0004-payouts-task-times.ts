import type { Migration } from '../../../lib/sqlite.js';

/**
 * The hub's payouts mirrored (GET /v1/payouts: amount, status, transaction hash), and the GPU time
 * this machine spent on each task, for the dashboard's history and progress estimate.
 */
export const m0004: Migration = {
  version: 4,
  name: '0004-payouts-task-times',
  up(db) {
    db.exec(`
      CREATE TABLE payouts (
        hub TEXT NOT NULL,
        payout_id TEXT NOT NULL,
        amount TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'confirmed', 'failed')),
        tx_hash TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (hub, payout_id)
      );

      CREATE TABLE task_times (
        hub TEXT NOT NULL,
        task_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        started_at TEXT NOT NULL,
        gpu_ms INTEGER NOT NULL CHECK (gpu_ms >= 0),
        PRIMARY KEY (hub, task_id)
      );
      CREATE INDEX task_times_kind ON task_times (kind, started_at);
    `);
  },
};
