import type { PgMigration } from './index.js';

/** Version 3 (as hub/store/migrations/0003): a worker's own payout address (a watch-only wallet). */
export const migration0003: PgMigration = {
  version: 3,
  name: 'payout-address',
  sql: `ALTER TABLE workers ADD COLUMN payout_address TEXT CHECK (payout_address IS NULL OR length(payout_address) = 42);`,
};
