/**
 * PostgreSQL for tests: one cluster per test run, one template database migrated once, and a
 * fresh database per test copied from it.
 *
 * - The cluster: scripts/test.mjs starts one (scripts/pg-test-cluster.ts) before Node's test
 *   runner whenever a file it runs uses this module, and passes its URL to every test process in
 *   IDLEFORGE_TEST_PG_URL (the runner runs files in parallel processes: they share it). A file run
 *   another way (`node --import tsx --test file`) starts its own for its process, in a fresh
 *   folder that is deleted when the cluster stops, even if the process is killed.
 *   `IDLEFORGE_TEST_PG_URL=postgres://…` points the tests at any PostgreSQL (CI's, say): they need
 *   a role that may create databases.
 * - The template: `hub_template`, migrated to the newest hub schema, made once per cluster under
 *   an advisory lock (several processes may ask at once) and made again when the migrations
 *   change (their fingerprint is the database's comment).
 * - freshDatabase(): `CREATE DATABASE … TEMPLATE hub_template`, dropped after the test.
 *
 * Test clusters run without fsync, in memory where they can (their data is thrown away): never
 * use one for data to keep.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startLocalPostgres, type LocalPostgres } from './local.js';
import { HUB_PG_MIGRATIONS, migratePg } from './migrations/index.js';

export const TEST_PG_URL_ENV = 'IDLEFORGE_TEST_PG_URL';
export const TEMPLATE_DB = 'hub_template';
/** The advisory lock that makes one process build the template: 'idlf', 2. */
const TEMPLATE_LOCK: readonly [number, number] = [0x69646c66, 2];
/** Databases of tests start with this. */
export const TEST_DB_PREFIX = 'test_';

/**
 * Where test clusters live: /dev/shm (memory) where it has room, else the temporary folder. On
 * this project's machines a database copied from the template took about 15 ms there and 300 ms
 * on disk, fsync off either way (docs/DESIGN.md, "Hub store: PostgreSQL").
 */
export function testClusterBase(): string {
  const shm = '/dev/shm';
  try {
    const fs = statfsSync(shm);
    if (fs.bavail * fs.bsize >= 1024 * 1024 * 1024) return shm;
  } catch {
    // No /dev/shm (not Linux): the temporary folder.
  }
  return tmpdir();
}

/** A test cluster in a fresh temporary folder, deleted when it stops. */
export async function startTestCluster(): Promise<LocalPostgres> {
  const dir = mkdtempSync(join(testClusterBase(), 'idleforge-test-pg-'));
  return startLocalPostgres({ dir, ephemeral: true, unsafeFast: true });
}

let cluster: Promise<string> | null = null;

/** The URL of this run's cluster (its `postgres` database), started for this process if none was given. */
export function testClusterUrl(): Promise<string> {
  cluster ??= (async () => {
    const given = process.env[TEST_PG_URL_ENV];
    if (given) return given;
    const own = await startTestCluster();
    // Stopped by its guardian when this process ends; nothing here waits for it.
    own.process?.unref();
    for (const s of [own.process?.stdin, own.process?.stdout, own.process?.stderr]) (s as { unref?: () => void } | null | undefined)?.unref?.();
    return own.url;
  })();
  return cluster;
}

/** Identifies the migrations a template was built from. */
export function migrationsFingerprint(): string {
  const h = createHash('sha256');
  for (const m of HUB_PG_MIGRATIONS) h.update(`${m.version}\0${m.name}\0${m.sql}\0`);
  return h.digest('hex').slice(0, 32);
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function withAdmin<T>(url: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

/** Makes (or remakes, when the migrations changed) the migrated template on the cluster at `url`. */
export async function ensureTemplate(url: string): Promise<void> {
  const fingerprint = migrationsFingerprint();
  await withAdmin(url, async (c) => {
    await c.query('SELECT pg_advisory_lock($1, $2)', [...TEMPLATE_LOCK]);
    try {
      const r = await c.query<{ comment: string | null }>(
        'SELECT shobj_description(oid, $2) AS comment FROM pg_database WHERE datname = $1',
        [TEMPLATE_DB, 'pg_database'],
      );
      if (r.rowCount === 1 && r.rows[0]!.comment === fingerprint) return;
      if (r.rowCount === 1) {
        await c.query(`ALTER DATABASE ${TEMPLATE_DB} IS_TEMPLATE false`);
        await c.query(`DROP DATABASE ${TEMPLATE_DB} WITH (FORCE)`);
      }
      await c.query(`CREATE DATABASE ${TEMPLATE_DB}`);
      await migratePg(withDatabase(url, TEMPLATE_DB));
      await c.query(`COMMENT ON DATABASE ${TEMPLATE_DB} IS ${pg.escapeLiteral(fingerprint)}`);
      await c.query(`ALTER DATABASE ${TEMPLATE_DB} IS_TEMPLATE true`);
    } finally {
      await c.query('SELECT pg_advisory_unlock($1, $2)', [...TEMPLATE_LOCK]);
    }
  });
}

let templateReady: Promise<void> | null = null;

export interface FreshDatabase {
  /** URL of the new database. */
  url: string;
  name: string;
  /** Drops it (closing whatever is still connected); at most once. */
  drop(): Promise<void>;
}

/** What freshDatabase() takes to drop the database when the test ends: node:test's `t`. */
interface TestContextLike {
  after(fn: () => Promise<void>): void;
}

export interface FreshDatabaseOptions {
  /** An empty database (no schema: PostgreSQL's template0), for tests of the migrations. */
  empty?: boolean;
}

/**
 * A new database holding the newest hub schema and no rows, copied from the template. With the
 * test's context `t`, it is dropped when the test ends; else call drop().
 */
export async function freshDatabase(t?: TestContextLike, options: FreshDatabaseOptions = {}): Promise<FreshDatabase> {
  const url = await testClusterUrl();
  if (!options.empty) {
    templateReady ??= ensureTemplate(url);
    await templateReady;
  }
  const name = `${TEST_DB_PREFIX}${process.pid}_${randomBytes(6).toString('hex')}`;
  await withAdmin(url, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${options.empty ? 'template0' : TEMPLATE_DB}`));
  let dropped: Promise<void> | null = null;
  const db: FreshDatabase = {
    url: withDatabase(url, name),
    name,
    drop() {
      dropped ??= withAdmin(url, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
      return dropped;
    },
  };
  t?.after(() => db.drop());
  return db;
}

/**
 * The URL of a fresh database for a hub a test starts outside `startTestHub` (in a `before`
 * hook, where no test context drops it): it lives as long as this run's cluster.
 */
export async function testDatabaseUrl(): Promise<string> {
  return (await freshDatabase()).url;
}
