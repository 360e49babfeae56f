/**
 * Numbered schema migrations of the hub database, applied by lib/sqlite.ts: each runs once, in
 * order, inside its own transaction that also records its number in PRAGMA user_version, so a
 * crash leaves the file at the last fully applied version. New versions are appended here,
 * never edited in place.
 */
import { migrate as migrateWith, schemaVersion, type Db, type Migration } from '../../../lib/sqlite.js';
import { migration0001 } from './0001-init.js';
import { migration0002 } from './0002-payouts-replication.js';
import { migration0003 } from './0003-payout-address.js';
import { migration0004 } from './0004-trust.js';
import { migration0005 } from './0005-customer-balances.js';

export type { Migration } from '../../../lib/sqlite.js';
export { schemaVersion };

export const HUB_MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003, migration0004, migration0005];
export const HUB_SCHEMA_VERSION = HUB_MIGRATIONS.length;

/** Brings `db` up to `target` (default: the newest hub version) and returns the version it is at. */
export function migrate(db: Db, target: number = HUB_SCHEMA_VERSION, migrations: readonly Migration[] = HUB_MIGRATIONS): number {
  return migrateWith(db, migrations, target);
}
