import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WalSync } from './durability.js';
import { openHubDb } from './store/index.js';
import { tempDir } from './testkit.js';
import { WriteBatcher } from './writes.js';

describe('group commit and the WAL fsync', () => {
  it('commits a turn’s writes together; one that throws rolls back alone', async () => {
    const dir = await tempDir();
    const db = openHubDb(join(dir.path, 'hub.db'));
    const wal = new WalSync(db, join(dir.path, 'hub.db'));
    try {
      assert.equal(db.pragma('synchronous', { simple: true }), 1, 'NORMAL: the fsync is done by WalSync');
      const writes = new WriteBatcher(db);
      const add = (name: string) => () => db.prepare('INSERT INTO customers (id, name, api_key_hash, created_at) VALUES (?, ?, ?, ?)').run(name, name, name.padEnd(64, '0'), 'now').changes;
      const results = await Promise.allSettled([
        writes.run(add('a')),
        writes.run(() => {
          add('b')();
          throw new Error('no');
        }),
        writes.run(add('c')),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal(writes.largest, 3, 'one transaction for all three');
      const names = (db.prepare('SELECT name FROM customers ORDER BY name').all() as { name: string }[]).map((r) => r.name);
      assert.deepEqual(names, ['a', 'c']);
      assert.equal(wal.dirty, true);
      await wal.flush();
      assert.equal(wal.dirty, false);
      await Promise.all([writes.run(add('d')).then(() => wal.flush()), writes.run(add('e')).then(() => wal.flush())]);
      assert.equal(wal.dirty, false);
    } finally {
      await wal.close();
      db.close();
      await dir.remove();
    }
  });
});
