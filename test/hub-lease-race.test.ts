/**
 * Two hub processes racing for the same tasks, 10,000 times: each leases through the hub's own
 * lease transaction from one PostgreSQL database, four workers at once in each, until the queue
 * is empty. Every task goes to exactly one worker, once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { testDatabaseUrl } from '../hub/postgres/testing.js';
import { ROOT } from './helpers.js';

const TASKS = 10_000;
const NOW = '2030-01-01T00:00:00.000Z';

function racer(url: string, prefix: string): { go(): void; done: Promise<{ leased: string[]; retries: number }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/lease-racer.ts'), url, prefix, '4'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ leased: string[]; retries: number }>((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { leased: string[]; retries: number }) : reject(new Error(`racer ${prefix} exited ${code}: ${err}`)))),
  );
  return { go: () => child.stdin.end('go\n'), done };
}

describe('two processes racing for the same tasks', () => {
  it(`leases each of ${TASKS.toLocaleString('en')} tasks to one worker, once`, { timeout: 180_000 }, async () => {
    const url = await testDatabaseUrl();
    const db = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await db.query("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_r', 'racer', $1, $2)", ['a'.repeat(64), NOW]);
      await db.query("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_r', 'cus_r', 'matmul', $1, 1, 1, ''::bytea, ''::bytea, 'queued', '1', $1, $2)", [TASKS, NOW]);
      await db.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at) SELECT 'task_' || g, 'job_r', 'matmul', g - 1, 1, 'queued', '1', $1 FROM generate_series(1, $2::int) g", [NOW, TASKS]);
      const a = racer(url, 'a');
      const b = racer(url, 'b');
      // Both connected and waiting: let them go at once.
      await new Promise((r) => setTimeout(r, 1500));
      a.go();
      b.go();
      const [ra, rb] = await Promise.all([a.done, b.done]);
      assert.ok(ra.leased.length > 0 && rb.leased.length > 0, `both won some: ${ra.leased.length} and ${rb.leased.length}`);
      const all = [...ra.leased, ...rb.leased];
      assert.equal(all.length, TASKS, 'every task leased');
      assert.equal(new Set(all).size, TASKS, 'no task leased twice');
      const rows = await db.query<{ leased: string; once: string; workers: string }>(
        "SELECT count(*) FILTER (WHERE status = 'leased') AS leased, count(*) FILTER (WHERE leases = 1) AS once, count(DISTINCT lease_worker) AS workers FROM tasks",
      );
      assert.deepEqual(rows.rows[0], { leased: String(TASKS), once: String(TASKS), workers: '8' });
    } finally {
      await db.end();
    }
  });
});
