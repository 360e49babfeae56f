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

export function openDatabase(path: string, migrations: readonly Migration[], options: OpenOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations, options.targetVersion);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, migrations: readonly Migration[], targetVersion?: number): void {
  const sorted = [...migrations].sort((x, y) => x.version - y.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  const latest = sorted.length;
  const target = targetVersion ?? latest;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new Error(`this database has schema version ${current}, newer than this program knows (${latest}); update Idleforge`);
  }
  for (const m of sorted) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
