import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { HUB_PG_SCHEMA_VERSION, pgSchemaVersion } from './migrations/index.js';
import { TEMPLATE_DB, freshDatabase, testClusterUrl } from './testing.js';

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const exists = async (name: string): Promise<boolean> =>
  (await query(await testClusterUrl(), 'SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;

describe('freshDatabase', () => {
  let droppedByTest = '';

  it('gives each test its own migrated, empty database', async (t) => {
    const [a, b] = await Promise.all([freshDatabase(t), freshDatabase(t)]);
    assert.notEqual(a.name, b.name);
    for (const db of [a, b]) {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      assert.equal(await pgSchemaVersion(c), HUB_PG_SCHEMA_VERSION);
      await c.end();
    }
    await query(a.url, "INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_a', 'a', $1, '2030-01-01T00:00:00.000Z')", ['a'.repeat(64)]);
    assert.deepEqual(await query(a.url, 'SELECT id FROM customers'), [{ id: 'cus_a' }]);
    assert.deepEqual(await query(b.url, 'SELECT id FROM customers'), [], 'a row of one test is not in another');
    const again = await freshDatabase(t);
    assert.deepEqual(await query(again.url, 'SELECT id FROM customers'), [], 'nor in a later one: the template is untouched');
    assert.deepEqual(await query(await testClusterUrl(), 'SELECT datistemplate FROM pg_database WHERE datname = $1', [TEMPLATE_DB]), [{ datistemplate: true }]);
    droppedByTest = a.name;
  });

  it('drops the databases of a test when it ends, and on drop()', async () => {
    assert.ok(droppedByTest !== '');
    assert.equal(await exists(droppedByTest), false, "the last test's database is gone");
    const db = await freshDatabase();
    const open = new pg.Client({ connectionString: db.url });
    await open.connect();
    open.on('error', () => undefined);
    assert.equal(await exists(db.name), true);
    await db.drop();
    assert.equal(await exists(db.name), false, 'dropped even with a connection still open');
    await db.drop();
    await open.end().catch(() => undefined);
  });

  it('gives an empty database (no schema) when asked', async (t) => {
    const db = await freshDatabase(t, { empty: true });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    assert.equal(await pgSchemaVersion(c), 0);
    await c.end();
  });
});
