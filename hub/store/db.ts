/** Opens the hub's SQLite file: WAL, synchronous=FULL, foreign keys, busy timeout, migrated. */
import type Database from 'better-sqlite3';
import { openDatabase, type Db } from '../../lib/sqlite.js';
import { HUB_MIGRATIONS } from './migrations/index.js';

export type HubDb = Db;
export type Statement<P extends unknown[], R> = Database.Statement<P, R>;

export interface OpenHubDbOptions {
  /** Migrate only up to this version (tests of old versions); default: the newest. */
  targetVersion?: number;
}

export function openHubDb(path: string, options: OpenHubDbOptions = {}): HubDb {
  return openDatabase(path, HUB_MIGRATIONS, options);
}

const cache = new WeakMap<HubDb, Map<string, Statement<unknown[], unknown>>>();

/**
 * A prepared statement, compiled once per database. `R` is the row shape the SQL selects:
 * the one place rows from SQLite are given a type, so keep the SQL and `R` side by side.
 */
export function stmt<P extends unknown[] = unknown[], R = unknown>(db: HubDb, sql: string): Statement<P, R> {
  let perDb = cache.get(db);
  if (!perDb) {
    perDb = new Map();
    cache.set(db, perDb);
  }
  let s = perDb.get(sql);
  if (!s) {
    s = db.prepare<unknown[], unknown>(sql);
    perDb.set(sql, s);
  }
  return s as unknown as Statement<P, R>;
}
