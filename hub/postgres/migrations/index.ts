/**
 * The hub's schema on PostgreSQL as numbered migrations, the same versions as the SQLite ones in
 * hub/store/migrations up to theirs, 5 (version N here is version N there, in PostgreSQL's types:
 * see 0001), then PostgreSQL's own (6 on), and their runner. Each migration runs once, in order,
 * in its own transaction that also records it in `schema_migrations`, so a crash leaves the database at the last fully applied version. The
 * runner holds a session advisory lock throughout, so hub processes that start together against
 * one database migrate it once: the others wait, then find it done. New versions are appended
 * here, never edited in place.
 */
import pg from 'pg';
import { migration0001 } from './0001-init.js';
import { migration0002 } from './0002-payouts-replication.js';
import { migration0003 } from './0003-payout-address.js';
import { migration0004 } from './0004-trust.js';
import { migration0005 } from './0005-customer-balances.js';
import { migration0006 } from './0006-queue-index.js';
import { migration0007 } from './0007-lease-function.js';
import { migration0008 } from './0008-receipts.js';
import { migration0009 } from './0009-ledger-changes.js';
import { migration0010 } from './0010-fleets.js';
import { migration0011 } from './0011-task-sizing.js';
import { migration0012 } from './0012-write-costs.js';
import { migration0013 } from './0013-render-sizing.js';
import { migration0014 } from './0014-lease-commit.js';
import { migration0015 } from './0015-job-counts.js';

export interface PgMigration {
  /** 1, 2, 3…: the schema version this migration produces. */
  readonly version: number;
  readonly name: string;
  /** One or more statements, run in one transaction. */
  readonly sql: string;
}

export const HUB_PG_MIGRATIONS: readonly PgMigration[] = [migration0001, migration0002, migration0003, migration0004, migration0005, migration0006, migration0007, migration0008, migration0009, migration0010, migration0011, migration0012, migration0013, migration0014, migration0015];
export const HUB_PG_SCHEMA_VERSION = HUB_PG_MIGRATIONS.length;

/** pg_advisory_lock's two keys: 'idlf' and 1, the hub's schema. */
export const MIGRATION_LOCK: readonly [number, number] = [0x69646c66, 1];

type Queryable = Pick<pg.ClientBase, 'query'>;

/** The version `db` is at: the highest recorded migration, 0 for an empty database. */
export async function pgSchemaVersion(db: Queryable): Promise<number> {
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('schema_migrations') AS t");
  if (exists.rows[0]?.t == null) return 0;
  const r = await db.query<{ v: number | string | null }>('SELECT max(version) AS v FROM schema_migrations');
  return Number(r.rows[0]?.v ?? 0);
}

export interface MigrateOptions {
  /** Migrate only up to this version (tests of old versions); default: the newest. */
  target?: number;
  migrations?: readonly PgMigration[];
}

/**
 * Brings the database `db` (a URL, a pool, or a connected client not in a transaction) up to
 * `target` and returns the version it is at. Refuses a database written by a newer program, or
 * one whose recorded migrations carry other names than these, rather than guessing.
 */
export async function migratePg(db: string | pg.Pool | pg.ClientBase, options: MigrateOptions = {}): Promise<number> {
  const migrations = options.migrations ?? HUB_PG_MIGRATIONS;
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} is numbered ${m.version}, expected ${i + 1}`);
  });
  const latest = migrations.length;
  const target = options.target ?? latest;
  if (!Number.isInteger(target) || target < 0 || target > latest) {
    throw new RangeError(`there is no schema version ${target}; the newest is ${latest}`);
  }
  let client: pg.ClientBase;
  let release: () => Promise<void>;
  if (typeof db === 'string') {
    const c = new pg.Client({ connectionString: db });
    await c.connect();
    client = c;
    release = () => c.end();
  } else if (db instanceof pg.Pool) {
    const c = await db.connect();
    client = c;
    release = async () => c.release();
  } else {
    client = db;
    release = async () => undefined;
  }
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [...MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
      const applied = await client.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
      for (const row of applied.rows) {
        if (row.version > latest) {
          throw new Error(`this database has schema version ${row.version}, newer than this program knows (${latest}); update Idleforge`);
        }
        const m = migrations[row.version - 1];
        if (m?.name !== row.name) throw new Error(`this database's migration ${row.version} is "${row.name}", not "${m?.name}": not a hub database of this program`);
      }
      const current = applied.rows.length === 0 ? 0 : applied.rows[applied.rows.length - 1]!.version;
      for (const m of migrations) {
        if (m.version <= current || m.version > target) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, { cause: err });
        }
      }
      return await pgSchemaVersion(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [...MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    await release();
  }
}
