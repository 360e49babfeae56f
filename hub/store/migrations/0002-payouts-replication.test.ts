import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../testkit.js';
import type { Db as HubDb } from '../../../lib/sqlite.js';
import { openSqliteHubFile as openHubDb } from '../sqlite-file.js';
import { migrate, schemaVersion } from './index.js';

const now = '2026-11-26T04:00:00.000Z';

function seedV1(db: HubDb): void {
  db.prepare("INSERT INTO customers VALUES ('cus_1', 'c', ?, ?)").run('a'.repeat(64), now);
  db.prepare("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0xW', ?, ?)").run(now, now);
  db.prepare("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0xV', ?, ?)").run(now, now);
  // A 3×2 · 2×1 matmul job, split in two tasks of rows [0, 2) and [2, 3).
  const a = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const b = Buffer.from(new Float32Array([7, 8]).buffer);
  db.prepare("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'matmul', 3, 1, 2, ?, ?, 'running', '2', 2, ?)").run(a, b, now);
  db.prepare("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES ('task_1', 'job_1', 'matmul', 0, 2, 'queued', '1', ?)").run(now);
  db.prepare("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES ('task_2', 'job_1', 'matmul', 2, 1, 'queued', '1', ?)").run(now);
  db.prepare("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_1', '0xW', 'matmul', '0', 'rejected', ?)").run(now);
}

describe('migration 0002-payouts-replication', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.remove());

  it('migrates a version 1 file with data: inputs move out of the job row, task by task', () => {
    const path = join(dir.path, 'v1.db');
    const v1 = openHubDb(path, { targetVersion: 1 });
    seedV1(v1);
    v1.close();
    const db = openHubDb(path, { targetVersion: 2 });
    try {
      assert.equal(schemaVersion(db), 2);
      const f32 = (buf: Buffer): number[] => Array.from(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)));
      const inputs = db.prepare('SELECT task_id, a FROM task_inputs ORDER BY task_id').all() as { task_id: string; a: Buffer }[];
      assert.deepEqual(
        inputs.map((r) => [r.task_id, f32(r.a)]),
        [
          ['task_1', [1, 2, 3, 4]],
          ['task_2', [5, 6]],
        ],
      );
      assert.deepEqual(f32((db.prepare("SELECT b FROM job_inputs WHERE job_id = 'job_1'").get() as { b: Buffer }).b), [7, 8]);
      const job = db.prepare("SELECT length(a) AS la, length(b) AS lb, spec FROM jobs WHERE id = 'job_1'").get() as { la: number; lb: number; spec: null };
      assert.deepEqual(job, { la: 0, lb: 0, spec: null });
      const w = db.prepare("SELECT consecutive_valid, strikes, suspended_at FROM workers WHERE address = '0xW'").get();
      assert.deepEqual(w, { consecutive_valid: 0, strikes: 0, suspended_at: null });
      assert.equal((db.prepare("SELECT quorum FROM tasks WHERE id = 'task_1'").get() as { quorum: number }).quorum, 1);
      assert.equal(migrate(db, 2), 2, 'idempotent');
    } finally {
      db.close();
    }
  });

  it('credits a task once per worker and never more often than its quorum', () => {
    const db = openHubDb(join(dir.path, 'quorum.db'), { targetVersion: 1 });
    seedV1(db);
    migrate(db, 2);
    try {
      const credit = db.prepare("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES (?, ?, 'matmul', '1', ?, ?)");
      credit.run('task_2', '0xW', 'verified', now);
      assert.throws(() => credit.run('task_2', '0xV', 'verified', now), /already credited as often as its quorum allows/);
      db.prepare("UPDATE tasks SET quorum = 2 WHERE id = 'task_2'").run();
      assert.throws(() => credit.run('task_2', '0xW', 'pending', now), /UNIQUE constraint failed/, 'once per worker');
      credit.run('task_2', '0xV', 'pending', now);
      credit.run('task_2', '0xV', 'rejected', now);
      assert.throws(() => db.prepare("UPDATE tasks SET quorum = 3 WHERE id = 'task_2'").run(), /CHECK constraint failed/);
    } finally {
      db.close();
    }
  });

  it('gives every payout its own treasury nonce and keeps the signed transaction with its hash', () => {
    const db = openHubDb(join(dir.path, 'payouts.db'));
    try {
      db.prepare("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0xW', ?, ?)").run(now, now);
      const insert = db.prepare(
        "INSERT INTO payouts (id, worker, to_address, amount, status, chain_id, token, treasury, tx_nonce, created_at, updated_at) VALUES (?, '0xW', '0xW', '5', 'pending', 31337, '0xT', '0xTreasury', ?, ?, ?)",
      );
      insert.run('pay_1', 7, now, now);
      assert.throws(() => insert.run('pay_2', 7, now, now), /UNIQUE constraint failed/);
      assert.throws(() => db.prepare("UPDATE payouts SET status = 'sent' WHERE id = 'pay_1'").run(), /CHECK constraint failed/, 'sent needs a transaction');
      assert.throws(() => db.prepare("UPDATE payouts SET raw_tx = '0x01' WHERE id = 'pay_1'").run(), /CHECK constraint failed/, 'raw and hash go together');
      db.prepare("UPDATE payouts SET raw_tx = '0x01', tx_hash = '0xab', status = 'sent' WHERE id = 'pay_1'").run();
    } finally {
      db.close();
    }
  });
});
