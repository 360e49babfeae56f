/**
 * A hub database file from before PostgreSQL (SQLite, `hub.db`): opened only to carry its rows
 * over (postgres/carry-over.ts), migrated first to the last SQLite schema so its tables have the
 * columns the copy expects.
 */
import { openDatabase, type Db } from '../../lib/sqlite.js';
import { HUB_MIGRATIONS } from './migrations/index.js';

export interface OpenSqliteHubOptions {
  /** Migrate only up to this version (tests that make an old file); default: the newest. */
  targetVersion?: number;
}

export function openSqliteHubFile(path: string, options: OpenSqliteHubOptions = {}): Db {
  return openDatabase(path, HUB_MIGRATIONS, options);
}
