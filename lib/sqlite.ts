/**
 * SQLite the way every Idleforge database is opened: WAL, synchronous=FULL, foreign keys, and
 * numbered migrations applied in order, each in its own transaction, the version kept in
 * PRAGMA user_version. Shared by the worker's and the hub's stores.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

export interface Migration {
  /** 1, 2, 3…: the schema version this migration produces. */
  readonly version: number;
  readonly name: string;
  up(db: Db): void;
}

export interface OpenOptions {
  /** Migrate only up to this version (tests of a single migration use it). */
  targetVersion?: number;
}

export const BUSY_TIMEOUT_MS = 5000;

export function openDatabase(path: string, migrations: readonly Migration[], options: OpenOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(db, migrations, options.targetVersion);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Runs `write` with synchronous=NORMAL instead of FULL, then back: in WAL mode still durable
 * when the process crashes or is killed, without an fsync per commit; a power cut can lose the
 * last such commits. Only for data that is rebuilt or redone when lost (a mirror of the hub's
 * ledger, results not yet handed over); never for anything that is the only record of money.
 */
export function withoutFsync<T>(db: Db, write: () => T): T {
  let modes = syncModes.get(db);
  if (!modes) {
    // Prepared once per database: these run around several writes of every task.
    modes = { normal: db.prepare('PRAGMA synchronous = NORMAL'), full: db.prepare('PRAGMA synchronous = FULL') };
    syncModes.set(db, modes);
  }
  modes.normal.run();
  try {
    return write();
  } finally {
    modes.full.run();
  }
}

const syncModes = new WeakMap<Db, { normal: Database.Statement; full: Database.Statement }>();

export function schemaVersion(db: Db): number {
  const v = db.pragma('user_version', { simple: true });
  if (typeof v !== 'number') throw new Error('could not read the database schema version');
  return v;
}

/**
 * Brings `db` up to `targetVersion` (default: the newest) and returns the version it is at.
 * Refuses a file written by a newer program rather than guessing.
 */
export function migrate(db: Db, migrations: readonly Migration[], targetVersion?: number): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} is numbered ${m.version}, expected ${i + 1}`);
  });
  const latest = migrations.length;
  const target = targetVersion ?? latest;
  if (!Number.isInteger(target) || target < 0 || target > latest) {
    throw new RangeError(`there is no schema version ${target}; the newest is ${latest}`);
  }
  const current = schemaVersion(db);
  if (current > latest) {
    throw new Error(`this database has schema version ${current}, newer than this program knows (${latest}); update Idleforge`);
  }
  for (const m of migrations) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return schemaVersion(db);
}
