/**
 * The store on databases migrated from older versions (the PostgreSQL forms of the SQLite
 * migration tests 0003 and 0005): rows written at version N - 1 stay, and the store's once-only
 * rules hold on the migrated schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chargedSoFar, insertDeposit, insertLedger, reservation, settleJob } from '../../store/billing.js';
import { openHubDb } from '../../store/db.js';
import { countTaskDone } from '../../store/jobs.js';
import { payoutAddressOf, setPayoutAddress } from '../../store/workers.js';
import { freshDatabase } from '../testing.js';
import { migratePg, pgSchemaVersion } from './index.js';

const now = '2030-01-01T00:00:00.000Z';

describe('the store on migrated PostgreSQL databases', () => {
  it('0003: workers of version 2 are paid to themselves; a payout address is checked', async (t) => {
    const fresh = await freshDatabase(t, { empty: true });
    await migratePg(fresh.url, { target: 2 });
    const db = await openHubDb(fresh.url, { targetVersion: false });
    t.after(() => db.close());
    const w = '0x1111111111111111111111111111111111111111';
    await db.query('INSERT INTO workers (address, first_seen, last_seen) VALUES (?, ?, ?)', [w, now, now]);
    await migratePg(fresh.url, { target: 3 });
    assert.equal(await pgSchemaVersion(db.pool), 3);
    assert.equal(await payoutAddressOf(db, w), w);
    await setPayoutAddress(db, w, '0x2222222222222222222222222222222222222222', now);
    assert.equal(await payoutAddressOf(db, w), '0x2222222222222222222222222222222222222222');
    await assert.rejects(setPayoutAddress(db, w, '0x22', now), /check constraint/);
  });

  it('0005: jobs of version 4 are never charged; deposits, job charges and credits are recorded once', async (t) => {
    const fresh = await freshDatabase(t, { empty: true });
    await migratePg(fresh.url, { target: 4 });
    const db = await openHubDb(fresh.url, { targetVersion: false });
    t.after(() => db.close());
    await db.query("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_1', 'c', ?, ?)", ['a'.repeat(64), now]);
    await db.query("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_old', 'cus_1', 'matmul', 1, 1, 1, ''::bytea, ''::bytea, 'queued', '5', 1, ?)", [now]);
    await db.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES ('task_old', 'job_old', 'matmul', 0, 1, 'queued', '5', ?)", [now]);
    await migratePg(fresh.url, { target: 5 });
    assert.equal(await pgSchemaVersion(db.pool), 5);

    const w = '0x1111111111111111111111111111111111111111';
    await db.query('INSERT INTO workers (address, first_seen, last_seen) VALUES (?, ?, ?)', [w, now, now]);
    await db.query("UPDATE tasks SET status = 'done', result = '\\x00'::bytea, done_by = ? WHERE id = 'task_old'", [w]);
    assert.equal(await chargedSoFar(db, 'job_old'), 0n, 'done before billing: its task was never charged');
    assert.equal(await reservation(db, 'job_old'), undefined);
    // From here, the newest schema, as a hub migrates it when it starts: today's count of tasks
    // done needs migration 15's table.
    await migratePg(fresh.url);
    assert.equal(await countTaskDone(db, 'job_old', now), true);
    assert.equal((await db.query<{ n: number }>('SELECT count(*) AS n FROM customer_ledger')).rows[0]!.n, 0);

    const deposit = {
      chainId: 31337,
      token: `0x${'2'.repeat(40)}`,
      txHash: `0x${'3'.repeat(64)}`,
      logIndex: 4,
      blockNumber: 9,
      from: `0x${'5'.repeat(40)}`,
      to: `0x${'6'.repeat(40)}`,
      amount: 10n ** 30n,
      customerId: 'cus_1',
      createdAt: now,
    };
    const id = await insertDeposit(db, deposit);
    assert.ok(id !== null);
    assert.equal(await insertDeposit(db, deposit), null, 'a (tx hash, log index) is recorded once');
    assert.equal(await insertDeposit(db, { ...deposit, chainId: 1, customerId: null }), null);
    assert.ok((await insertDeposit(db, { ...deposit, logIndex: 5 })) !== null);

    assert.ok((await insertLedger(db, { customerId: 'cus_1', type: 'deposit', amount: 10n ** 30n, depositId: id, createdAt: now })) !== null);
    assert.equal(await insertLedger(db, { customerId: 'cus_1', type: 'deposit', amount: 10n ** 30n, depositId: id, createdAt: now }), null);
    assert.ok((await insertLedger(db, { customerId: 'cus_1', type: 'credit', amount: 1n, ref: 'x', reason: 'r', createdAt: now })) !== null);
    assert.equal(await insertLedger(db, { customerId: 'cus_1', type: 'credit', amount: 2n, ref: 'x', reason: 'r', createdAt: now }), null);
    await assert.rejects(insertLedger(db, { customerId: 'cus_1', type: 'credit', amount: 1n, createdAt: now }), /check constraint/, 'a credit has a reason');
    await assert.rejects(insertLedger(db, { customerId: 'cus_1', type: 'charge', amount: 1n, createdAt: now }), /check constraint/, 'a charge names its job');
    assert.ok((await insertLedger(db, { customerId: 'cus_1', type: 'charge', amount: 1n, jobId: 'job_old', createdAt: now })) !== null);
    assert.equal(await insertLedger(db, { customerId: 'cus_1', type: 'charge', amount: 1n, jobId: 'job_old', createdAt: now }), null, 'a job is charged once');
    await assert.rejects(db.query("INSERT INTO customer_accounts (customer_id, available, reserved, updated_at) VALUES ('cus_1', '-1', '0', ?)", [now]), /check constraint|uint256/);
    assert.equal(await settleJob(db, 'job_old', now), 0n);
  });
});
