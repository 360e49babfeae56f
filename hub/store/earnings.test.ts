import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../testkit.js';
import { openHubDb } from './db.js';
import { balanceOf, insertEarning, listEarnings } from './earnings.js';

test('balances are exact bigint sums, far past 2^64, and pages are ordered by id', async () => {
  const dir = await tempDir();
  const db = openHubDb(join(dir.path, 'hub.db'));
  try {
    const now = new Date().toISOString();
    db.prepare("INSERT INTO customers VALUES ('cus_1', 'c', ?, ?)").run('b'.repeat(64), now);
    db.prepare("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0xW', ?, ?)").run(now, now);
    db.prepare("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'matmul', 1, 1, 1, x'00000000', x'00000000', 'queued', '0', 1, ?)").run(now);
    const big = 123456789012345678901234567890n;
    const statuses = ['verified', 'verified', 'pending', 'paid', 'rejected'] as const;
    statuses.forEach((status, i) => {
      db.prepare("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES (?, 'job_1', 'matmul', 0, 1, 'queued', '0', ?)").run(`task_${i}`, now);
      insertEarning(db, { taskId: `task_${i}`, worker: '0xW', kind: 'matmul', amount: status === 'rejected' ? '0' : (big + BigInt(i)).toString(), status, createdAt: now });
    });
    assert.deepEqual(balanceOf(db, '0xW'), { verified: 2n * big + 1n, pending: big + 2n, paid: big + 3n });
    assert.deepEqual(balanceOf(db, '0xNobody'), { verified: 0n, pending: 0n, paid: 0n });
    const first = listEarnings(db, '0xW', 0n, 2);
    assert.deepEqual(
      first.map((r) => r.task_id),
      ['task_0', 'task_1'],
    );
    const rest = listEarnings(db, '0xW', BigInt(first[1]!.id), 10);
    assert.deepEqual(
      rest.map((r) => r.task_id),
      ['task_2', 'task_3', 'task_4'],
    );
  } finally {
    db.close();
    await dir.remove();
  }
});
