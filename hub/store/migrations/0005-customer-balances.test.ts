import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../testkit.js';
import { chargedSoFar, insertDeposit, insertLedger, reservation, settleJob } from '../billing.js';
import { openSqliteHubFile as openHubDb } from '../sqlite-file.js';
import { countTaskDone } from '../jobs.js';
import { schemaVersion } from './index.js';

const now = '2030-01-01T00:00:00.000Z';

describe('migration 0005-customer-balances', () => {
  it('migrates a version 4 file, keeps its jobs (never charged), and enforces once-only deposits, job charges and credits', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir.path, 'hub.db');
      const v4 = openHubDb(path, { targetVersion: 4 });
      v4.prepare("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_1', 'c', ?, ?)").run('a'.repeat(64), now);
      v4.prepare("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_old', 'cus_1', 'matmul', 1, 1, 1, x'', x'', 'queued', '5', 1, ?)").run(now);
      v4.prepare("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES ('task_old', 'job_old', 'matmul', 0, 1, 'queued', '5', ?)").run(now);
      v4.close();

      const db = openHubDb(path, { targetVersion: 5 });
      assert.equal(schemaVersion(db), 5);
      // A job from before billing has no reservation: it finishes without charging anyone.
      db.prepare("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0x1111111111111111111111111111111111111111', ?, ?)").run(now, now);
      db.prepare("UPDATE tasks SET status = 'done', result = x'00', done_by = '0x1111111111111111111111111111111111111111' WHERE id = 'task_old'").run();
      assert.equal(chargedSoFar(db, 'job_old'), 0n, 'done before billing: its task was never charged');
      assert.equal(reservation(db, 'job_old'), undefined);
      assert.equal(countTaskDone(db, 'job_old', now), true);
      assert.deepEqual(db.prepare('SELECT count(*) AS n FROM customer_ledger').get(), { n: 0 });

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
      const id = insertDeposit(db, deposit);
      assert.ok(id !== null);
      assert.equal(insertDeposit(db, deposit), null, 'a (tx hash, log index) is recorded once');
      assert.equal(insertDeposit(db, { ...deposit, chainId: 1, customerId: null }), null);
      assert.ok(insertDeposit(db, { ...deposit, logIndex: 5 }) !== null);
      assert.throws(() => db.prepare("INSERT INTO deposits (chain_id, token, tx_hash, log_index, block_number, from_address, to_address, amount, created_at) SELECT chain_id, token, tx_hash, log_index, block_number, from_address, to_address, amount, created_at FROM deposits WHERE id = ?").run(id), /UNIQUE/);

      assert.ok(insertLedger(db, { customerId: 'cus_1', type: 'deposit', amount: 10n ** 30n, depositId: id, createdAt: now }) !== null);
      assert.equal(insertLedger(db, { customerId: 'cus_1', type: 'deposit', amount: 10n ** 30n, depositId: id, createdAt: now }), null);
      assert.ok(insertLedger(db, { customerId: 'cus_1', type: 'credit', amount: 1n, ref: 'x', reason: 'r', createdAt: now }) !== null);
      assert.equal(insertLedger(db, { customerId: 'cus_1', type: 'credit', amount: 2n, ref: 'x', reason: 'r', createdAt: now }), null);
      assert.throws(() => insertLedger(db, { customerId: 'cus_1', type: 'credit', amount: 1n, createdAt: now }), /CHECK/, 'a credit has a reason');
      assert.throws(() => insertLedger(db, { customerId: 'cus_1', type: 'charge', amount: 1n, createdAt: now }), /CHECK/, 'a charge names its job');
      assert.equal(insertLedger(db, { customerId: 'cus_1', type: 'charge', amount: 1n, jobId: 'job_old', createdAt: now }) !== null, true);
      assert.equal(insertLedger(db, { customerId: 'cus_1', type: 'charge', amount: 1n, jobId: 'job_old', createdAt: now }), null, 'a job is charged once');
      assert.throws(() => db.prepare("INSERT INTO customer_accounts (customer_id, available, reserved, updated_at) VALUES ('cus_1', '-1', '0', ?)").run(now), /CHECK/);
      assert.equal(settleJob(db, 'job_old', now), 0n);
      db.close();
    } finally {
      await dir.remove();
    }
  });
});
