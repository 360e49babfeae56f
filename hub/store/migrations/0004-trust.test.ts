import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../testkit.js';
import { openSqliteHubFile as openHubDb } from '../sqlite-file.js';
import { schemaVersion } from './index.js';

const now = '2030-01-01T00:00:00.000Z';
const W = '0x1111111111111111111111111111111111111111';

describe('migration 0004-trust', () => {
  it('migrates a version 3 file to exactly version 4: a task that waited for any second worker now waits for one the hub picks', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir.path, 'hub.db');
      const v3 = openHubDb(path, { targetVersion: 3 });
      v3.prepare("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_1', 'c', ?, ?)").run('a'.repeat(64), now);
      v3.prepare("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'hashsearch', 1, 1, 1, x'', x'', 'running', '2', 2, ?)").run(now);
      for (const id of ['task_waiting', 'task_plain']) {
        v3.prepare("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at, start, count) VALUES (?, 'job_1', 'hashsearch', 0, 1, 'queued', '1', ?, '0', 16)").run(id, now);
      }
      v3.prepare('INSERT INTO workers (address, first_seen, last_seen) VALUES (?, ?, ?)').run(W, now, now);
      v3.prepare("INSERT INTO replicas (task_id, worker, output, status, created_at) VALUES ('task_waiting', ?, '{}', 'pending', ?)").run(W, now);
      v3.close();
      const db = openHubDb(path, { targetVersion: 4 });
      assert.equal(schemaVersion(db), 4);
      const rows = db.prepare('SELECT id, needs_replica, replica_for FROM tasks ORDER BY id').all();
      assert.deepEqual(rows, [
        { id: 'task_plain', needs_replica: 0, replica_for: null },
        { id: 'task_waiting', needs_replica: 1, replica_for: null },
      ]);
      assert.deepEqual(db.prepare('SELECT origin, first_origin, lease_penalty FROM workers').get(), { origin: null, first_origin: null, lease_penalty: 0 });
      assert.throws(() => db.prepare("INSERT INTO task_rejections (task_id, worker, certain, reason, created_at) VALUES ('task_plain', ?, 2, 'r', ?)").run(W, now), /CHECK/);
      db.close();
    } finally {
      await dir.remove();
    }
  });
});
