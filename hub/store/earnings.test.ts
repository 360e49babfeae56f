import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshDatabase } from '../postgres/testing.js';
import { openHubDb } from './db.js';
import { balanceOf, insertEarning, listEarnings } from './earnings.js';

test('balances are exact bigint sums, far past 2^64, and pages are ordered by id', async (t) => {
  const fresh = await freshDatabase(t);
  const db = await openHubDb(fresh.url);
  t.after(() => db.close());
  const now = new Date().toISOString();
  await db.query("INSERT INTO customers VALUES ('cus_1', 'c', ?, ?)", ['b'.repeat(64), now]);
  await db.query("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0xW', ?, ?)", [now, now]);
  await db.query(
    "INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'matmul', 1, 1, 1, '\\x00000000'::bytea, '\\x00000000'::bytea, 'queued', '0', 1, ?)",
    [now],
  );
  const big = 123456789012345678901234567890n;
  const statuses = ['verified', 'verified', 'pending', 'paid', 'rejected'] as const;
  for (const [i, status] of statuses.entries()) {
    await db.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES (?, 'job_1', 'matmul', 0, 1, 'queued', '0', ?)", [`task_${i}`, now]);
    await insertEarning(db, { taskId: `task_${i}`, worker: '0xW', kind: 'matmul', amount: status === 'rejected' ? '0' : (big + BigInt(i)).toString(), status, createdAt: now });
  }
  assert.deepEqual(await balanceOf(db, '0xW'), { verified: 2n * big + 1n, pending: big + 2n, paid: big + 3n });
  assert.deepEqual(await balanceOf(db, '0xNobody'), { verified: 0n, pending: 0n, paid: 0n });
  const first = await listEarnings(db, '0xW', 0n, 2);
  assert.deepEqual(
    first.map((r) => r.task_id),
    ['task_0', 'task_1'],
  );
  const rest = await listEarnings(db, '0xW', BigInt(first[1]!.id), 10);
  assert.deepEqual(
    rest.map((r) => r.task_id),
    ['task_2', 'task_3', 'task_4'],
  );
});
