/**
 * Upgrading keeps history: a data folder made by the hub of version 0.2.0 (SQLite; the fixture
 * was made by that version: a customer, jobs of both kinds, two workers with credited and
 * rejected results) is carried over into PostgreSQL on the first start, entry ids kept, and new
 * entries continue after them.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Wallet } from 'ethers';
import { EarningsResponseSchema, LeaseResponseSchema, f32ToBase64, toF32 } from '../../protocol/index.js';
import { matmul } from '../../kernels/index.js';
import { startDevnet } from '../devnet.js';
import { call, matmulJobBody, signIn, tempDir } from '../testkit.js';
import { openHubDb } from '../store/db.js';
import { carryOverSqliteHub, CARRIED_OVER_SUFFIX } from './carry-over.js';
import { freshDatabase } from './testing.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/hub-0.2.0.db', import.meta.url));
/** The fixture's first worker (its key is a test key, written into the fixture's maker). */
const WORKER = new Wallet(`0x${'11'.repeat(32)}`);

function sqliteRows(path: string, sql: string): Record<string, unknown>[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

describe('carrying a SQLite hub over to PostgreSQL', () => {
  it('copies every row once, keeps ids, continues the sequences, keeps the file aside', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const file = join(dir.path, 'hub.db');
    copyFileSync(FIXTURE, file);
    const before = sqliteRows(file, 'SELECT id, task_id, worker, kind, amount, status FROM earnings ORDER BY id');
    assert.ok(before.length >= 5, 'the fixture holds entries');
    const fresh = await freshDatabase(t);
    const db = await openHubDb(fresh.url);
    t.after(() => db.close());

    const report = await carryOverSqliteHub(db, file);
    assert.ok(report);
    assert.equal(report.rows.earnings, before.length);
    assert.ok(report.rows.tasks! > 0 && report.rows.jobs! > 0 && report.rows.workers === 2 && report.rows.customers === 1);
    assert.equal(existsSync(file), false);
    assert.equal(report.keptAt, `${file}${CARRIED_OVER_SUFFIX}`);
    assert.ok(existsSync(report.keptAt));

    const after = (await db.query<Record<string, unknown>>('SELECT id, task_id, worker, kind, amount, status FROM earnings ORDER BY id')).rows;
    assert.deepEqual(after, before);
    // The next entry gets the next id, never an old one.
    const maxId = Math.max(...before.map((r) => Number(r.id)));
    const task = (await db.query<{ id: string }>('SELECT id FROM tasks ORDER BY seq LIMIT 1')).rows[0]!.id;
    const next = await db.query<{ id: number }>(
      "INSERT INTO earnings (task_id, worker, kind, amount, status, created_at) VALUES (?, ?, 'matmul', '0', 'rejected', '2027-01-01T00:00:00.000Z') RETURNING id",
      [task, WORKER.address],
    );
    assert.equal(next.rows[0]!.id, maxId + 1);

    // Nothing left to carry: a second start does nothing.
    assert.equal(await carryOverSqliteHub(db, file), null);
  });

  it('refuses to copy into a database that already holds a network, and leaves the file', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    const file = join(dir.path, 'hub.db');
    copyFileSync(FIXTURE, file);
    const fresh = await freshDatabase(t);
    const db = await openHubDb(fresh.url);
    t.after(() => db.close());
    await db.query(`INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_x', 'x', '${'a'.repeat(64)}', '2026-01-01T00:00:00.000Z')`);
    await assert.rejects(carryOverSqliteHub(db, file), /already holds a network/);
    assert.ok(existsSync(file));
    assert.equal((await db.query<{ n: number }>('SELECT count(*) AS n FROM earnings')).rows[0]!.n, 0);
  });

  it('a devnet started on a data folder from before shows the worker its old earnings and goes on', async (t) => {
    const dir = await tempDir();
    t.after(() => dir.remove());
    copyFileSync(FIXTURE, join(dir.path, 'hub.db'));
    const mine = sqliteRows(join(dir.path, 'hub.db'), `SELECT id, task_id, amount, status FROM earnings WHERE worker = '${WORKER.address}' ORDER BY id`);
    const net = await startDevnet({ dataDir: dir.path, chain: false, feeder: false });
    t.after(() => net.close());
    const token = await signIn(net.hubUrl, WORKER);
    const ledger = EarningsResponseSchema.parse((await call(`${net.hubUrl}/v1/earnings`, { token })).body);
    assert.deepEqual(
      ledger.entries.map((e) => ({ id: Number(e.id), task_id: e.taskId, amount: e.amount, status: e.status })),
      mine.map((r) => ({ id: Number(r.id), task_id: r.task_id, amount: r.amount, status: r.status })),
    );
    // New work is credited under a new id, after every old one.
    const job = await call(`${net.hubUrl}/v1/jobs`, { token: net.customerKey, body: matmulJobBody(8, 8, 8, 9).body });
    assert.equal(job.status, 201);
    const task = LeaseResponseSchema.parse((await call(`${net.hubUrl}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } })).body).task;
    assert.equal(task.kind, 'matmul');
    if (task.kind !== 'matmul') return;
    const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
    assert.equal((await call(`${net.hubUrl}/v1/tasks/${task.id}/result`, { token, body: { output: { c: f32ToBase64(c) } } })).status, 200);
    const after = EarningsResponseSchema.parse((await call(`${net.hubUrl}/v1/earnings`, { token })).body).entries;
    const newest = after[after.length - 1]!;
    assert.equal(newest.taskId, task.id);
    assert.ok(Number(newest.id) > Math.max(...mine.map((r) => Number(r.id))));
    assert.ok(existsSync(join(dir.path, 'hub.db.carried-over')));
  });
});
