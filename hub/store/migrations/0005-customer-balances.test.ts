import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../testkit.js';
import { openSqliteHubFile as openHubDb } from '../sqlite-file.js';
import { schemaVersion } from './index.js';

const now = '2030-01-01T00:00:00.000Z';

describe('migration 0005-customer-balances', () => {
  it('migrates a version 4 file to exactly version 5 and keeps its jobs, with no reservation', async () => {
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
      // Its old job is kept, with no reservation (never charged); the store's once-only rules on
      // this schema are tested on PostgreSQL (postgres/migrations/store-on-migrated.test.ts).
      assert.deepEqual(db.prepare("SELECT id, status FROM jobs").all(), [{ id: 'job_old', status: 'queued' }]);
      assert.deepEqual(db.prepare('SELECT count(*) AS n FROM job_reservations').get(), { n: 0 });
      assert.throws(() => db.prepare("INSERT INTO customer_accounts (customer_id, available, reserved, updated_at) VALUES ('cus_1', '-1', '0', ?)").run(now), /CHECK/);
      db.close();
    } finally {
      await dir.remove();
    }
  });
});
