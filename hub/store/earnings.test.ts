import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshDatabase } from '../postgres/testing.js';
import { openHubDb } from './db.js';
import { attachToPayout, balanceOf, insertEarning, listChanges, listEarnings, markPaid, rejectPending, verifyPending } from './earnings.js';

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
  assert.deepEqual(await balanceOf(db, '0xW'), { verified: 2n * big + 1n, pending: big + 2n, paid: big + 3n, seq: 5n });
  assert.deepEqual(await balanceOf(db, '0xNobody'), { verified: 0n, pending: 0n, paid: 0n, seq: 0n });
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

test('every insert and change of status or amount takes the worker\'s next change number; the balance kept beside stays the exact sum', async (t) => {
  const fresh = await freshDatabase(t);
  const db = await openHubDb(fresh.url);
  t.after(() => db.close());
  const now = new Date().toISOString();
  await db.query("INSERT INTO customers VALUES ('cus_1', 'c', ?, ?)", ['b'.repeat(64), now]);
  for (const w of ['0xA', '0xB']) await db.query('INSERT INTO workers (address, first_seen, last_seen) VALUES (?, ?, ?)', [w, now, now]);
  await db.query(
    "INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'matmul', 1, 1, 1, '\\x00000000'::bytea, '\\x00000000'::bytea, 'queued', '0', 1, ?)",
    [now],
  );
  const big = 10n ** 40n;
  const ids: number[] = [];
  const statuses = ['pending', 'pending', 'verified', 'verified', 'pending', 'rejected'] as const;
  for (const [i, status] of statuses.entries()) {
    await db.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES (?, 'job_1', 'matmul', 0, 1, 'queued', '0', ?)", [`task_${i}`, now]);
    // Two workers interleaved: each counts its own changes.
    ids.push(await insertEarning(db, { taskId: `task_${i}`, worker: i % 2 ? '0xB' : '0xA', kind: 'matmul', amount: status === 'rejected' ? '0' : (big + BigInt(i)).toString(), status, createdAt: now }));
  }
  const seqs = async (w: string, after = 0n): Promise<Array<[number, string, number]>> => (await listChanges(db, w, after, 100)).map((r) => [r.id, r.status, r.change_seq]);
  assert.deepEqual(await seqs('0xA'), [
    [ids[0]!, 'pending', 1],
    [ids[2]!, 'verified', 2],
    [ids[4]!, 'pending', 3],
  ]);
  assert.deepEqual(await seqs('0xB'), [
    [ids[1]!, 'pending', 1],
    [ids[3]!, 'verified', 2],
    [ids[5]!, 'rejected', 3],
  ]);
  /** The balance must equal the worker's entries summed in JS, exactly. */
  const check = async (w: string): Promise<void> => {
    const rows = (await db.query<{ status: string; amount: string }>('SELECT status, amount FROM earnings WHERE worker = ?', [w])).rows;
    const sums = { pending: 0n, verified: 0n, paid: 0n };
    for (const r of rows) if (r.status !== 'rejected') sums[r.status as keyof typeof sums] += BigInt(r.amount);
    const { seq: _seq, ...b } = await balanceOf(db, w);
    assert.deepEqual(b, sums);
  };
  await check('0xA');
  await check('0xB');

  // Status changes: a replica agrees, another is proven wrong (amount 0), a payout is confirmed.
  assert.ok(await verifyPending(db, ids[0]!, { method: 'replica' }));
  assert.ok(await rejectPending(db, ids[4]!, { method: 'replica' }, 'another worker proved it wrong'));
  assert.deepEqual(await seqs('0xA', 3n), [
    [ids[0]!, 'verified', 4],
    [ids[4]!, 'rejected', 5],
  ]);
  await db.query("INSERT INTO payouts (id, worker, to_address, amount, status, chain_id, token, treasury, tx_nonce, created_at, updated_at) VALUES ('pay_1', '0xA', '0xA', '1', 'pending', 1, '0xT', '0xT', 0, ?, ?)", [now, now]);
  assert.equal(await attachToPayout(db, [ids[0]!, ids[2]!], 'pay_1'), 2);
  assert.deepEqual(await seqs('0xA', 5n), [], 'joining a payout is not a change the worker sees');
  assert.equal(await markPaid(db, 'pay_1'), 2);
  // One statement changes both, in an order of its own: numbers 6 and 7.
  const paid = await seqs('0xA', 5n);
  assert.deepEqual(paid.map(([id, st]) => [id, st]).sort((a, b) => Number(a[0]) - Number(b[0])), [
    [ids[0]!, 'paid'],
    [ids[2]!, 'paid'],
  ]);
  assert.deepEqual(paid.map((r) => r[2]), [6, 7]);
  await check('0xA');
  await check('0xB');
  assert.deepEqual(await balanceOf(db, '0xA'), { pending: 0n, verified: 0n, paid: 2n * big + 2n, seq: 7n });
  assert.equal((await balanceOf(db, '0xB')).seq, 3n, "one worker's changes do not move another's numbers");
  // A page of changes is a range of the index on (worker, change_seq), not a scan of the ledger.
  // (A table this small is read whole whatever its indexes: the planner is asked to pass on that.)
  const plan = await db.tx(async (q) => {
    await q.query('SET LOCAL enable_seqscan = off');
    const r = await q.query<{ 'QUERY PLAN': string }>("EXPLAIN SELECT id FROM earnings WHERE worker = '0xA' AND change_seq > 5 ORDER BY change_seq LIMIT 10");
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  });
  assert.match(plan, /earnings_changes/);
});
