import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../../testkit.js';
import type { Db as HubDb } from '../../../lib/sqlite.js';
import { openSqliteHubFile as openHubDb } from '../sqlite-file.js';
import { HUB_SCHEMA_VERSION, migrate, schemaVersion } from './index.js';

const TABLES_V1 = ['auth_nonces', 'customers', 'earnings', 'jobs', 'payouts', 'sessions', 'tasks', 'workers'];

function tables(db: HubDb): string[] {
  return (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
    (r) => r.name,
  );
}

describe('migration 0001-init', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.remove());

  it('migrates a fresh file to exactly version 1', () => {
    const db = openHubDb(join(dir.path, 'v1.db'), { targetVersion: 1 });
    try {
      assert.equal(schemaVersion(db), 1);
      assert.deepEqual(tables(db), TABLES_V1);
      const cols = (t: string) => (db.prepare(`SELECT name FROM pragma_table_info('${t}')`).all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(cols('earnings'), ['id', 'task_id', 'worker', 'kind', 'amount', 'status', 'created_at']);
      assert.ok(cols('tasks').includes('lease_expires_at'));
      assert.ok(cols('customers').includes('api_key_hash'));
    } finally {
      db.close();
    }
  });

  it('opens with WAL, synchronous=FULL, foreign keys and a busy timeout', () => {
    const db = openHubDb(join(dir.path, 'pragmas.db'));
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
      assert.equal(schemaVersion(db), HUB_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('is idempotent and stops at version 0 when asked', () => {
    const path = join(dir.path, 'again.db');
    openHubDb(path).close();
    const db = openHubDb(path);
    try {
      assert.equal(migrate(db), HUB_SCHEMA_VERSION);
    } finally {
      db.close();
    }
    const empty = openHubDb(join(dir.path, 'v0.db'), { targetVersion: 0 });
    try {
      assert.equal(schemaVersion(empty), 0);
      assert.deepEqual(tables(empty), []);
    } finally {
      empty.close();
    }
  });

  it('refuses a file from a newer hub', () => {
    const path = join(dir.path, 'newer.db');
    const db = openHubDb(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => openHubDb(path), /schema version 99, newer than this program knows/);
  });

  it('credits a task at most once and keeps amounts whole decimal strings', () => {
    const db = openHubDb(join(dir.path, 'ledger.db'), { targetVersion: 1 });
    try {
      const now = new Date().toISOString();
      db.prepare("INSERT INTO customers VALUES ('cus_1', 'c', ?, ?)").run('a'.repeat(64), now);
      db.prepare("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0xW', ?, ?)").run(now, now);
      db.prepare("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'matmul', 1, 1, 1, x'00000000', x'00000000', 'queued', '2', 1, ?)").run(now);
      db.prepare("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES ('task_1', 'job_1', 'matmul', 0, 1, 'queued', '2', ?)").run(now);
      const credit = db.prepare("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_1', '0xW', 'matmul', ?, ?, ?)");
      credit.run('0', 'rejected', now);
      credit.run('0', 'rejected', now);
      credit.run('2', 'verified', now);
      assert.throws(() => credit.run('2', 'verified', now), /UNIQUE constraint failed/);
      assert.throws(() => credit.run('2', 'pending', now), /UNIQUE constraint failed/);
      credit.run('0', 'rejected', now);
      for (const bad of ['1.5', '-1', '', '1e18', ' 1']) {
        assert.throws(() => db.prepare("UPDATE tasks SET reward = ? WHERE id = 'task_1'").run(bad), /CHECK constraint failed/, bad);
      }
      assert.throws(
        () => db.prepare("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_x', '0xW', 'matmul', '1', 'verified', ?)").run(now),
        /FOREIGN KEY constraint failed/,
      );
      assert.throws(() => db.prepare("UPDATE tasks SET status = 'leased' WHERE id = 'task_1'").run(), /CHECK constraint failed/, 'a lease needs a worker and an expiry');
    } finally {
      db.close();
    }
  });
});
