import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import pg from 'pg';
import { openSqliteHubFile as openHubDb } from '../../store/sqlite-file.js';
import { HUB_MIGRATIONS, HUB_SCHEMA_VERSION } from '../../store/migrations/index.js';
import { hubClient } from '../db.js';
import { freshDatabase } from '../testing.js';
import { LEASABLE } from './0007-lease-function.js';
import { HUB_PG_MIGRATIONS, HUB_PG_SCHEMA_VERSION, MIGRATION_LOCK, migratePg, pgSchemaVersion } from './index.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const now = '2030-01-01T00:00:00.000Z';

interface Column {
  notNull: boolean;
}
interface Index {
  unique: boolean;
  partial: boolean;
}
interface Schema {
  tables: Map<string, Map<string, Column>>;
  indexes: Map<string, Index>;
}

function sqliteSchema(): Schema {
  const db = openHubDb(':memory:');
  try {
    const tables = new Map<string, Map<string, Column>>();
    const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
    for (const name of names) {
      const cols = db.pragma(`table_info(${name})`) as { name: string; notnull: number; pk: number }[];
      tables.set(name, new Map(cols.map((c) => [c.name, { notNull: c.notnull === 1 || c.pk === 1 }])));
    }
    const indexes = new Map<string, Index>();
    const rows = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as { name: string; sql: string }[];
    for (const r of rows) indexes.set(r.name, { unique: /^CREATE UNIQUE/i.test(r.sql), partial: /\sWHERE\s/i.test(r.sql) });
    return { tables, indexes };
  } finally {
    db.close();
  }
}

async function pgSchema(c: pg.ClientBase): Promise<Schema> {
  const tables = new Map<string, Map<string, Column>>();
  const cols = await c.query<{ table_name: string; column_name: string; is_nullable: string }>(
    `SELECT table_name, column_name, is_nullable FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name != 'schema_migrations' ORDER BY table_name, ordinal_position`,
  );
  for (const r of cols.rows) {
    if (!tables.has(r.table_name)) tables.set(r.table_name, new Map());
    tables.get(r.table_name)!.set(r.column_name, { notNull: r.is_nullable === 'NO' });
  }
  // Named indexes only: those of PRIMARY KEY and UNIQUE constraints are SQLite's sqlite_autoindex_*.
  const idx = await c.query<{ indexname: string; indexdef: string }>(
    `SELECT i.indexname, i.indexdef FROM pg_indexes i
     WHERE i.schemaname = current_schema() AND i.tablename != 'schema_migrations'
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)`,
  );
  const indexes = new Map<string, Index>(idx.rows.map((r) => [r.indexname, { unique: /^CREATE UNIQUE/i.test(r.indexdef), partial: /\sWHERE\s/i.test(r.indexdef) }]));
  return { tables, indexes };
}

/** Runs migratePg on `url` in a new process; resolves with what it printed (the version). */
function migrateInProcess(url: string): Promise<string> {
  const code = "const { migratePg } = await import('./hub/postgres/migrations/index.ts'); console.log(await migratePg(process.env.PG_URL));";
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, env: { ...process.env, PG_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`migration process exited ${code}: ${err}`))));
  });
}

describe('PostgreSQL migrations', () => {
  it('number the SQLite versions first, with their names, then PostgreSQL’s own', () => {
    assert.ok(HUB_PG_SCHEMA_VERSION >= HUB_SCHEMA_VERSION);
    HUB_PG_MIGRATIONS.forEach((m, i) => assert.equal(m.version, i + 1));
    assert.deepEqual(HUB_PG_MIGRATIONS.slice(0, HUB_SCHEMA_VERSION).map((m) => m.name), HUB_MIGRATIONS.map((m) => m.name.replace(/^\d{4}-/, '')));
  });

  it('make every table, column, NOT NULL and index of the SQLite schema at its last version, and nothing else', async (t) => {
    const db = await freshDatabase(t, { empty: true });
    assert.equal(await migratePg(db.url, { target: HUB_SCHEMA_VERSION }), HUB_SCHEMA_VERSION);
    const c = await hubClient(db.url);
    try {
      const want = sqliteSchema();
      const got = await pgSchema(c);
      assert.deepEqual([...got.tables.keys()].sort(), [...want.tables.keys()].sort(), 'the same tables');
      for (const [table, cols] of want.tables) {
        const pgCols = got.tables.get(table)!;
        assert.deepEqual([...pgCols.keys()], [...cols.keys()], `${table}: the same columns in the same order`);
        for (const [col, { notNull }] of cols) assert.equal(pgCols.get(col)!.notNull, notNull, `${table}.${col}: NOT NULL as in SQLite`);
      }
      assert.deepEqual([...got.indexes.keys()].sort(), [...want.indexes.keys()].sort(), 'the same named indexes');
      for (const [name, idx] of want.indexes) assert.deepEqual(got.indexes.get(name), idx, `${name}: unique and partial as in SQLite`);
      const trig = await c.query("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname = 'earnings_quorum'");
      assert.equal(trig.rowCount, 1, 'the quorum trigger');
    } finally {
      await c.end();
    }
  });

  it('keep amounts as exact decimal strings, times sorted bytewise, and the checks and trigger of SQLite', async (t) => {
    const db = await freshDatabase(t);
    const c = await hubClient(db.url);
    try {
      const big = (2n ** 256n - 1n).toString();
      await c.query("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_1', 'c', $1, $2)", ['a'.repeat(64), now]);
      await c.query('INSERT INTO workers (address, first_seen, last_seen) VALUES ($1, $2, $2), ($3, $2, $2), ($4, $2, $2)', ['0xa', now, '0xb', '0xc']);
      await c.query("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'hashsearch', 1, 1, 1, ''::bytea, ''::bytea, 'queued', $1, 2, $2)", [big, now]);
      const seq = await c.query<{ seq: number }>("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at, start, count) VALUES ('task_1', 'job_1', 'hashsearch', 0, 1, 'queued', '5', $1, $2, 10) RETURNING seq", [now, big]);
      assert.equal(typeof seq.rows[0]!.seq, 'number', 'BIGINT reads as a number');
      const row = await c.query<{ price: string; start: string }>("SELECT j.price, t.start FROM jobs j JOIN tasks t ON t.job_id = j.id WHERE j.id = 'job_1'");
      assert.deepEqual(row.rows[0], { price: big, start: big }, 'a uint256 comes back as the string that went in');
      for (const bad of ['-1', '1.5', '5.0', '1' + '0'.repeat(78)]) {
        await assert.rejects(c.query("UPDATE jobs SET price = $1 WHERE id = 'job_1'", [bad]), /violates check constraint "uint256_check"/, `price ${bad}`);
      }
      await assert.rejects(c.query("UPDATE jobs SET price = 'x' WHERE id = 'job_1'"), /invalid input syntax/);
      // Times are ISO strings sorted as in SQLite (bytewise: 'Z' after '.' and digits).
      const times = ['2030-01-01T00:00:00.000Z', '2030-01-01T00:00:00.001Z', '2029-12-31T23:59:59.999Z'];
      for (const [i, at] of times.entries()) await c.query('INSERT INTO auth_nonces (nonce, address, issued_at, expires_at) VALUES ($1, $2, $3, $3)', [`n${i}`, '0xa', at]);
      const sorted = await c.query<{ expires_at: string }>('SELECT expires_at FROM auth_nonces ORDER BY expires_at');
      assert.deepEqual(sorted.rows.map((r) => r.expires_at), [...times].sort());
      // A task is credited at most `quorum` times (1 here), whoever asks.
      await c.query("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_1', '0xa', 'hashsearch', '5', 'verified', $1)", [now]);
      await assert.rejects(
        c.query("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_1', '0xb', 'hashsearch', '5', 'verified', $1)", [now]),
        /already credited as often as its quorum allows/,
      );
      await c.query("UPDATE tasks SET quorum = 2 WHERE id = 'task_1'");
      await c.query("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_1', '0xb', 'hashsearch', '5', 'verified', $1)", [now]);
      await assert.rejects(
        c.query("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_1', '0xb', 'hashsearch', '5', 'verified', $1)", [now]),
        /earnings_task_worker_once|quorum/,
      );
      await c.query("INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES ('task_1', '0xc', 'hashsearch', '5', 'rejected', $1)", [now]);
      const sum = await c.query<{ s: string; n: number }>('SELECT sum(amount) AS s, count(*) AS n FROM earnings');
      assert.deepEqual(sum.rows[0], { s: '15', n: 3 }, 'sum() of amounts is a decimal string, count(*) a number');
      await assert.rejects(c.query('SELECT 9007199254740993::bigint AS n'), /past what a JavaScript number holds exactly/, 'a BIGINT is never rounded');
    } finally {
      await c.end();
    }
  });

  it('find the oldest leasable task of a kind through tasks_leasable under any plan, never by walking every task in seq order', async (t) => {
    // Version 7 took the B-tree off seq: with one, the planner walked it from the first task ever
    // (3–135 ms a look with thousands done), generic and custom plans alike.
    const db = await freshDatabase(t);
    const c = await hubClient(db.url);
    try {
      await c.query("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_1', 'c', $1, $2)", ['a'.repeat(64), now]);
      await c.query('INSERT INTO workers (address, first_seen, last_seen) VALUES ($1, $2, $2)', ['0xa', now]);
      await c.query("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'matmul', 1, 1, 1, ''::bytea, ''::bytea, 'running', '1', 6000, $1)", [now]);
      await c.query(
        `INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at, result, done_by, done_at)
         SELECT 'task_' || i, 'job_1', 'matmul', i, 1, CASE WHEN i < 3000 THEN 'done' ELSE 'queued' END, '1', $1::text,
                CASE WHEN i < 3000 THEN '\\x00'::bytea END, CASE WHEN i < 3000 THEN '0xa' END, CASE WHEN i < 3000 THEN $1::text END
         FROM generate_series(0, 5999) AS i`,
        [now],
      );
      await c.query('ANALYZE tasks');
      for (const mode of ['force_generic_plan', 'force_custom_plan']) {
        await c.query(`SET plan_cache_mode = ${mode}`);
        await c.query(`PREPARE head(text, text) AS SELECT t.seq FROM tasks t WHERE ${LEASABLE('$1', '$2')} ORDER BY t.seq LIMIT 1`);
        for (const kind of ['matmul', 'hashsearch']) {
          const plan = (await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE head('${kind}', '0xb')`)).rows.map((r) => r['QUERY PLAN']).join('\n');
          assert.match(plan, /using tasks_leasable on tasks t/, `${mode}, ${kind}:\n${plan}`);
          assert.doesNotMatch(plan, /Seq Scan on tasks|tasks_pkey/, `${mode}, ${kind}:\n${plan}`);
        }
        const first = await c.query<{ seq: number }>("EXECUTE head('matmul', '0xb')");
        assert.equal(first.rows[0]!.seq, (await c.query<{ s: number }>("SELECT min(seq) AS s FROM tasks WHERE status = 'queued'")).rows[0]!.s);
        await c.query('DEALLOCATE head');
      }
    } finally {
      await c.end();
    }
  });

  it('versions 12 and 14: a lease writes the worker row back unchanged within 10 s (a HOT update), claims by id, commits asynchronously when asked, and keeps no index on seq or on every status', async (t) => {
    const db = await freshDatabase(t);
    const c = await hubClient(db.url);
    try {
      await c.query("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_1', 'c', $1, $2)", ['a'.repeat(64), now]);
      await c.query('INSERT INTO workers (address, first_seen, last_seen) VALUES ($1, $2, $2)', ['0xa', now]);
      await c.query("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_1', 'cus_1', 'matmul', 1, 1, 1, ''::bytea, ''::bytea, 'queued', '3', 3, $1)", [now]);
      await c.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) SELECT 'task_' || i, 'job_1', 'matmul', i, 1, 'queued', '1', $1::text FROM generate_series(0, 2) AS i", [now]);
      const lease = async (at: string): Promise<{ id: string; lastSeen: string; hot: number; updates: number }> => {
        await c.query('BEGIN');
        const r = await c.query<{ id: string }>(
          `SELECT id FROM hub_lease('0xa', '{matmul}', '{}', $1, '2030-01-01T01:00:00.000Z', 8, 0, 2, 0, 4, '{}', 'task_x', 1, '{}', '{}', '{}', 4, false)`,
          [at],
        );
        const stats = await c.query<{ hot: string; upd: string }>("SELECT n_tup_hot_upd AS hot, n_tup_upd AS upd FROM pg_stat_xact_user_tables WHERE relname = 'workers'");
        await c.query('COMMIT');
        const seen = await c.query<{ last_seen: string }>("SELECT last_seen FROM workers WHERE address = '0xa'");
        return { id: r.rows[0]!.id, lastSeen: seen.rows[0]!.last_seen, hot: Number(stats.rows[0]!.hot), updates: Number(stats.rows[0]!.upd) };
      };
      const first = await lease('2030-01-01T00:00:09.999Z');
      assert.deepEqual(first, { id: 'task_0', lastSeen: now, hot: 1, updates: 1 }, 'seen 9.999 s ago: last_seen kept, the row written back on its page');
      const second = await lease('2030-01-01T00:00:10.001Z');
      assert.deepEqual([second.id, second.lastSeen], ['task_1', '2030-01-01T00:00:10.001Z'], 'seen 10.001 s ago: last_seen moves');
      assert.equal((await lease('2030-01-01T00:00:10.002Z')).id, 'task_2', 'the oldest queued task each time');
      // Asked to (migration 14: the hub asks for a lease sent on its own), the lease's transaction
      // commits without waiting for its flush; else its commit is the transaction's. Sent as the hub
      // sends it: a prepared statement with parameters (the extended protocol).
      await c.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) SELECT 'task_' || i, 'job_1', 'matmul', i, 1, 'queued', '1', $1::text FROM generate_series(3, 4) AS i", [now]);
      await c.query('SET synchronous_commit = on'); // test clusters run with it off
      const commitOf = async (async: boolean): Promise<string> => {
        await c.query('BEGIN');
        const leased = await c.query<{ id: string }>({
          name: 'lease',
          text: "SELECT id FROM hub_lease('0xa', '{matmul}', '{}', '2030-01-01T00:00:20.000Z', '2030-01-01T01:00:00.000Z', 8, 0, 2, 0, 4, '{}', 'task_x', 1, '{}', '{}', '{}', 4, $1)",
          values: [async],
        });
        assert.equal(leased.rowCount, 1);
        const s = (await c.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0]!.s;
        await c.query('COMMIT');
        return s;
      };
      assert.equal(await commitOf(true), 'off', 'asked: asynchronous commit');
      assert.equal((await c.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0]!.s, 'on', 'for that transaction only');
      assert.equal(await commitOf(false), 'on', 'not asked: its commit as it was');
      const idx = await c.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'tasks' ORDER BY indexname");
      const names = idx.rows.map((r) => r.indexname);
      assert.ok(!names.includes('tasks_seq') && !names.includes('tasks_queue') && names.includes('tasks_open'), names.join(', '));
    } finally {
      await c.end();
    }
  });

  it('migrate step by step, once, and refuse a newer database', async (t) => {
    const db = await freshDatabase(t, { empty: true });
    assert.equal(await migratePg(db.url, { target: 3 }), 3);
    const c = await hubClient(db.url);
    try {
      const cols = await c.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'workers' AND column_name IN ('payout_address', 'origin')");
      assert.equal(cols.rowCount, 1, 'version 3 has payout_address but not origin');
      assert.equal(await migratePg(c), HUB_PG_SCHEMA_VERSION);
      assert.equal(await migratePg(c), HUB_PG_SCHEMA_VERSION, 'again: nothing to do');
      const applied = await c.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
      assert.deepEqual(applied.rows, HUB_PG_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      await assert.rejects(migratePg(c, { target: HUB_PG_SCHEMA_VERSION + 1 }), RangeError);
      await c.query("INSERT INTO schema_migrations (version, name) VALUES ($1, 'from-the-future')", [HUB_PG_SCHEMA_VERSION + 1]);
      await assert.rejects(migratePg(c), /newer than this program knows/);
      assert.equal(await pgSchemaVersion(c), HUB_PG_SCHEMA_VERSION + 1);
    } finally {
      await c.end();
    }
  });

  it('roll a failed migration back whole', async (t) => {
    const db = await freshDatabase(t, { empty: true });
    const broken = [...HUB_PG_MIGRATIONS.slice(0, 1), { version: 2, name: 'broken', sql: 'CREATE TABLE half (x INT); SELECT * FROM no_such_table;' }];
    await assert.rejects(migratePg(db.url, { migrations: broken }), /migration 2 \(broken\) failed/);
    const c = await hubClient(db.url);
    try {
      assert.equal(await pgSchemaVersion(c), 1);
      assert.equal((await c.query("SELECT to_regclass('half') AS t")).rows[0].t, null, 'nothing of version 2 is left');
    } finally {
      await c.end();
    }
  });

  it('migrate a database once when several processes start on it together (advisory lock)', async (t) => {
    const db = await freshDatabase(t, { empty: true });
    // Hold the lock until all three wait on it, so that they really start together.
    const holder = await hubClient(db.url);
    await holder.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
    const running = Promise.all([0, 1, 2].map(() => migrateInProcess(db.url)));
    running.catch(() => undefined);
    for (let waiting = 0; waiting < 3; ) {
      await new Promise((r) => setTimeout(r, 50));
      const r = await holder.query<{ n: number }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
      waiting = r.rows[0]!.n;
    }
    await holder.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]);
    await holder.end();
    const versions = await running;
    assert.deepEqual(versions, [0, 1, 2].map(() => String(HUB_PG_SCHEMA_VERSION)));
    const c = await hubClient(db.url);
    try {
      const applied = await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(applied.rows.map((r) => r.version), HUB_PG_MIGRATIONS.map((m) => m.version), 'each version applied once');
    } finally {
      await c.end();
    }
  });

  it('without the lock, processes starting together would collide (what the lock prevents)', async (t) => {
    // Two sessions racing the first migration by hand, the way two runners without the lock would.
    const db = await freshDatabase(t, { empty: true });
    const [a, b] = [new pg.Client({ connectionString: db.url }), new pg.Client({ connectionString: db.url })];
    await Promise.all([a.connect(), b.connect()]);
    try {
      await a.query('BEGIN');
      await a.query(HUB_PG_MIGRATIONS[0]!.sql);
      await b.query('BEGIN');
      const second = b.query(HUB_PG_MIGRATIONS[0]!.sql);
      second.catch(() => undefined);
      await a.query('COMMIT');
      await assert.rejects(second, /already exists|duplicate key/);
      await b.query('ROLLBACK');
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });
});
