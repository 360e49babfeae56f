/**
 * Migration 7 (receipts) on a database of version 6: its ledger entries stay and are listed with
 * no check and no reason (the hub did not record them then); the check's method is checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openHubDb } from '../../store/db.js';
import { checkOf, insertEarning, listEarnings } from '../../store/earnings.js';
import { listPayoutsTo } from '../../store/payouts.js';
import { freshDatabase } from '../testing.js';
import { migratePg } from './index.js';

const now = '2030-01-01T00:00:00.000Z';

describe('PostgreSQL migration 8: receipts', () => {
  it('keeps entries of version 7 without a check, records new ones with theirs, and finds payouts by address', async (t) => {
    const fresh = await freshDatabase(t, { empty: true });
    await migratePg(fresh.url, { target: 7 });
    const db = await openHubDb(fresh.url, { targetVersion: false });
    t.after(() => db.close());
    const w = '0x1111111111111111111111111111111111111111';
    await db.query('INSERT INTO workers (address, first_seen, last_seen) VALUES (?, ?, ?)', [w, now, now]);
    await db.query("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_1', 'c', ?, ?)", ['a'.repeat(64), now]);
    await db.query("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'matmul', 1, 1, 1, ''::bytea, ''::bytea, 'running', '10', 2, ?)", [now]);
    for (const id of ['task_old', 'task_new']) {
      await db.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES (?, 'job_1', 'matmul', 0, 1, 'queued', '5', ?)", [id, now]);
    }
    await db.query("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_old', ?, 'matmul', '5', 'verified', ?)", [w, now]);
    await migratePg(fresh.url, { target: 8 });
    await insertEarning(db, { taskId: 'task_new', worker: w, kind: 'hashsearch', amount: '0', status: 'rejected', createdAt: now, check: { method: 'rehash', size: 1024 }, reason: 'a nonce above the target' });
    const rows = await listEarnings(db, w, 0n, 10);
    assert.deepEqual(
      rows.map((r) => [r.task_id, checkOf(r), r.reason]),
      [
        ['task_old', undefined, null],
        ['task_new', { method: 'rehash', nonces: 1024 }, 'a nonce above the target'],
      ],
    );
    await assert.rejects(db.query("UPDATE earnings SET check_method = 'trust-me' WHERE task_id = 'task_old'"), /check constraint/);
    assert.deepEqual(await listPayoutsTo(db, w), []);
  });
});
