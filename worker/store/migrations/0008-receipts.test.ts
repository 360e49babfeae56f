/**
 * Migration 8 (receipts) on a worker.db of version 7: its ledger entries and task times stay and
 * read back as history (no receipt recorded then: check and reason null); new runs that earned no
 * entry are rows of their own; the outcomes are checked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, schemaVersion } from '../../../lib/sqlite.js';
import { WORKER_DB_FILE, WorkerStore } from '../index.js';
import { WORKER_MIGRATIONS } from './index.js';

describe('worker migration 8: receipts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-m8-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the entries and task times of version 7, and adds runs with their outcome', () => {
    const v7 = openDatabase(join(dir, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 7 });
    const at = '2026-01-05T10:00:00.000Z';
    v7.prepare("INSERT INTO earnings (hub, entry_id, task_id, kind, amount, status, created_at, updated_at) VALUES ('h', '1', 'task_a', 'matmul', '5', 'verified', ?, ?)").run(at, at);
    v7.prepare("INSERT INTO task_times (hub, task_id, kind, started_at, gpu_ms) VALUES ('h', 'task_a', 'matmul', ?, 1200)").run(at);
    v7.close();

    const store = WorkerStore.open(dir);
    try {
      assert.equal(schemaVersion(store.db), WORKER_MIGRATIONS.length);
      assert.deepEqual(store.ledger.history(), [
        { hub: 'h', id: '1', taskId: 'task_a', kind: 'matmul', amount: '5', status: 'verified', createdAt: at, gpuMs: 1200, work: null, check: null, reason: null },
      ]);
      store.taskTimes.outcome('h', { taskId: 'task_b', kind: 'hashsearch', outcome: 'given-back', reason: 'paused', gpuMs: 40.4 });
      const [run] = store.ledger.history();
      assert.deepEqual([run?.status, run?.taskId, run?.amount, run?.gpuMs, run?.reason], ['given-back', 'task_b', '0', 40, 'paused']);
      assert.throws(
        () => store.db.prepare("INSERT INTO task_attempts (hub, task_id, kind, at, outcome, reason) VALUES ('h', 't', 'k', ?, 'vanished', 'x')").run(at),
        /CHECK constraint failed/,
      );
    } finally {
      store.close();
    }
  });
});
