/**
 * What PostgreSQL costs the hub, measured here: `idleforge bench store [--seconds 5]
 * [--tasks 50000]` prints
 *
 * - a local cluster's start: the first (initdb and start) and a later one (start only), and its stop;
 * - a test database copied from the migrated template (CREATE DATABASE … TEMPLATE), and its drop,
 *   on a test cluster (no fsync, as hub/postgres/testing.ts runs it);
 * - lease-like transactions a second: take the oldest queued task (SELECT … FOR UPDATE SKIP
 *   LOCKED on PostgreSQL), mark it leased, insert a lease row, commit: on PostgreSQL through one
 *   connection and through a pool of 4 leasing at once, and on SQLite (better-sqlite3, the hub's
 *   settings: WAL, synchronous=FULL) on one connection, its only writer. Both durable: every
 *   commit is flushed to disk (PostgreSQL with its default fsync and synchronous_commit).
 *
 * PostgreSQL's line without synchronous_commit splits its cost: round trips (five per lease,
 * through pg) against waiting for the flush.
 *
 * Figures only; nothing checks them (they depend on the machine).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { openSqliteHubFile as openHubDb } from '../hub/store/sqlite-file.js';
import { hubClient, hubPool } from '../hub/postgres/db.js';
import { startLocalPostgres } from '../hub/postgres/local.js';
import { migratePg } from '../hub/postgres/migrations/index.js';
import { ensureTemplate, startTestCluster, TEMPLATE_DB, testClusterBase } from '../hub/postgres/testing.js';

/** How long each lease run lasts, and how many queued tasks it starts with. */
interface Run {
  seconds: number;
  tasks: number;
}

const NOW = '2030-01-01T00:00:00.000Z';
const LEASE_UNTIL = '2030-01-01T00:05:00.000Z';

const ms = (t0: number): number => performance.now() - t0;
const fmt = (n: number): string => (n >= 100 ? Math.round(n).toString() : n.toFixed(1));

/** Transactions a second and mean milliseconds each, from a count and the time they took. */
export function rate(count: number, elapsedMs: number, concurrency = 1): { perSecond: number; meanMs: number } {
  return { perSecond: (count * 1000) / elapsedMs, meanMs: count === 0 ? 0 : (elapsedMs * concurrency) / count };
}

const SEED = {
  customer: `INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_b', 'bench', '${'a'.repeat(64)}', '${NOW}')`,
  job: (tasks: number): string =>
    `INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_b', 'cus_b', 'matmul', 1, 1, 1, '', '', 'queued', '1000000', ${tasks}, '${NOW}')`,
  leases: 'CREATE TABLE bench_leases (id INTEGER PRIMARY KEY, task_id TEXT NOT NULL, worker TEXT NOT NULL, created_at TEXT NOT NULL)',
};

async function benchStart(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-pg-bench-'));
  try {
    let t0 = performance.now();
    const first = await startLocalPostgres({ dir });
    const firstMs = ms(t0);
    t0 = performance.now();
    await first.stop();
    const stopMs = ms(t0);
    t0 = performance.now();
    const later = await startLocalPostgres({ dir });
    const laterMs = ms(t0);
    if (later.created || later.alreadyRunning) throw new Error('the later start should have reused the stopped cluster');
    await later.stop();
    console.log(`cluster (${first.source}, root: ${first.rootStrategy}): first start (initdb) ${fmt(firstMs)} ms, later start ${fmt(laterMs)} ms, stop ${fmt(stopMs)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchTemplate(): Promise<void> {
  const t0 = performance.now();
  const cluster = await startTestCluster();
  const startMs = ms(t0);
  try {
    const t1 = performance.now();
    await ensureTemplate(cluster.url);
    const templateMs = ms(t1);
    const admin = await hubClient(cluster.url);
    const n = 20;
    let create = 0;
    let drop = 0;
    for (let i = 0; i < n; i++) {
      let t = performance.now();
      await admin.query(`CREATE DATABASE bench_${i} TEMPLATE ${TEMPLATE_DB}`);
      create += ms(t);
      t = performance.now();
      await admin.query(`DROP DATABASE bench_${i} WITH (FORCE)`);
      drop += ms(t);
    }
    await admin.end();
    console.log(`test cluster (no fsync, in ${testClusterBase()}): start ${fmt(startMs)} ms, template migrated ${fmt(templateMs)} ms; per test: CREATE DATABASE … TEMPLATE ${fmt(create / n)} ms, DROP ${fmt(drop / n)} ms (mean of ${n})`);
  } finally {
    await cluster.stop();
  }
}

async function seedPg(url: string, tasks: number): Promise<void> {
  await migratePg(url);
  const c = await hubClient(url);
  try {
    await c.query(SEED.customer);
    await c.query(SEED.job(tasks).replace("'', ''", "''::bytea, ''::bytea"));
    await c.query("INSERT INTO workers (address, first_seen, last_seen) SELECT 'w' || i, $1, $1 FROM generate_series(0, 3) i", [NOW]);
    await c.query(
      `INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at)
       SELECT 't' || i, 'job_b', 'matmul', i, 1, 'queued', '5', $1 FROM generate_series(0, $2::int - 1) i`,
      [NOW, tasks],
    );
    await c.query(SEED.leases.replace('id INTEGER PRIMARY KEY', 'id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'));
    await c.query('VACUUM ANALYZE');
  } finally {
    await c.end();
  }
}

/** One lease on PostgreSQL; false when no task is left. */
async function leasePg(c: pg.ClientBase, worker: string): Promise<boolean> {
  await c.query('BEGIN');
  try {
    const r = await c.query<{ seq: number; id: string }>({
      name: 'next',
      text: "SELECT seq, id FROM tasks WHERE status = 'queued' AND kind = 'matmul' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED",
    });
    const task = r.rows[0];
    if (!task) {
      await c.query('ROLLBACK');
      return false;
    }
    await c.query({
      name: 'lease',
      text: "UPDATE tasks SET status = 'leased', lease_worker = $1, lease_expires_at = $2, leases = leases + 1 WHERE seq = $3",
      values: [worker, LEASE_UNTIL, task.seq],
    });
    await c.query({ name: 'record', text: 'INSERT INTO bench_leases (task_id, worker, created_at) VALUES ($1, $2, $3)', values: [task.id, worker, NOW] });
    await c.query('COMMIT');
    return true;
  } catch (err) {
    await c.query('ROLLBACK');
    throw err;
  }
}

async function loopPg(c: pg.ClientBase, worker: string, until: number): Promise<number> {
  let n = 0;
  while (performance.now() < until && (await leasePg(c, worker))) n++;
  return n;
}

async function benchPg({ seconds, tasks }: Run): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-pg-bench-'));
  const cluster = await startLocalPostgres({ dir, ephemeral: true, database: 'bench1' });
  try {
    await seedPg(cluster.url, tasks);
    const one = await hubClient(cluster.url);
    let t0 = performance.now();
    const n1 = await loopPg(one, 'w0', t0 + seconds * 1000);
    const r1 = rate(n1, ms(t0));
    await one.end();

    // Each run on a database of its own: every lease leaves a dead row version (and index entry)
    // in the queue that the next SELECT walks past until vacuum, so a run after another is slower.
    const admin = await hubClient(cluster.url);
    await admin.query('CREATE DATABASE bench_async');
    await admin.query('CREATE DATABASE bench4');
    await admin.end();

    // The same without waiting for the WAL flush of each commit: what the round trips cost alone.
    const urlAsync = cluster.url.replace(/\/bench1$/, '/bench_async');
    await seedPg(urlAsync, tasks);
    const async1 = await hubClient(urlAsync);
    await async1.query('SET synchronous_commit = off');
    t0 = performance.now();
    const nAsync = await loopPg(async1, 'w0', t0 + seconds * 1000);
    const rAsync = rate(nAsync, ms(t0));
    await async1.end();

    const url4 = cluster.url.replace(/\/bench1$/, '/bench4');
    await seedPg(url4, tasks);
    const pool = hubPool(url4, { max: 4 });
    pool.on('error', () => undefined);
    const clients = await Promise.all([0, 1, 2, 3].map(() => pool.connect()));
    t0 = performance.now();
    const until = t0 + seconds * 1000;
    const counts = await Promise.all(clients.map((c, i) => loopPg(c, `w${i}`, until)));
    const n4 = counts.reduce((a, b) => a + b, 0);
    const r4 = rate(n4, ms(t0), 4);
    for (const c of clients) c.release();
    const check = await pool.query<{ leased: number; rows: number }>("SELECT (SELECT count(*) FROM tasks WHERE status = 'leased') AS leased, (SELECT count(*) FROM bench_leases) AS rows");
    await pool.end();
    if (check.rows[0]!.leased !== n4 || check.rows[0]!.rows !== n4) throw new Error('the pool leased a task twice or lost one');
    console.log(`PostgreSQL (${cluster.source}), durable: one connection ${fmt(r1.perSecond)} leases/s (${r1.meanMs.toFixed(2)} ms each); pool of 4 ${fmt(r4.perSecond)} leases/s (${r4.meanMs.toFixed(2)} ms each, no task leased twice)`);
    console.log(`PostgreSQL, one connection, synchronous_commit off (not durable; the round trips alone): ${fmt(rAsync.perSecond)} leases/s (${rAsync.meanMs.toFixed(2)} ms each)`);
  } finally {
    await cluster.stop();
  }
}

function benchSqlite({ seconds, tasks }: Run): void {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-sqlite-bench-'));
  try {
    const db = openHubDb(join(dir, 'hub.db'));
    db.exec(SEED.customer);
    db.exec(SEED.job(tasks).replace("'', ''", "x'', x''"));
    const w = db.prepare('INSERT INTO workers (address, first_seen, last_seen) VALUES (?, ?, ?)');
    const t = db.prepare("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) VALUES (?, 'job_b', 'matmul', ?, 1, 'queued', '5', ?)");
    db.transaction(() => {
      for (let i = 0; i < 4; i++) w.run(`w${i}`, NOW, NOW);
      for (let i = 0; i < tasks; i++) t.run(`t${i}`, i, NOW);
    })();
    db.exec(SEED.leases);
    const next = db.prepare<[], { seq: number; id: string }>("SELECT seq, id FROM tasks WHERE status = 'queued' AND kind = 'matmul' ORDER BY seq LIMIT 1");
    const lease = db.prepare("UPDATE tasks SET status = 'leased', lease_worker = ?, lease_expires_at = ?, leases = leases + 1 WHERE seq = ?");
    const record = db.prepare('INSERT INTO bench_leases (task_id, worker, created_at) VALUES (?, ?, ?)');
    const one = db.transaction((worker: string): boolean => {
      const task = next.get();
      if (!task) return false;
      lease.run(worker, LEASE_UNTIL, task.seq);
      record.run(task.id, worker, NOW);
      return true;
    });
    const t0 = performance.now();
    const until = t0 + seconds * 1000;
    let n = 0;
    while (performance.now() < until && one.immediate('w0')) n++;
    const r = rate(n, ms(t0));
    db.close();
    console.log(`SQLite (better-sqlite3, WAL, synchronous=FULL): one connection ${fmt(r.perSecond)} leases/s (${r.meanMs.toFixed(2)} ms each)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { seconds: { type: 'string', default: '5' }, tasks: { type: 'string', default: '50000' } }, strict: true });
  const run = { seconds: Number(values.seconds), tasks: Number(values.tasks) };
  if (!(run.seconds > 0) || !Number.isInteger(run.tasks) || run.tasks < 1) {
    process.stderr.write('idleforge bench store: --seconds takes a positive number, --tasks a whole number\n');
    return 2;
  }
  await benchStart();
  await benchTemplate();
  await benchPg(run);
  benchSqlite(run);
  return 0;
}
