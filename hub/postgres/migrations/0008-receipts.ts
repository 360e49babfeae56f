/**
 * Version 8, PostgreSQL's own: receipts. Each ledger entry keeps how the hub checked its result
 * (`check_method`: freivalds, rehash, replica or spot-check; `check_size`: Freivalds' rounds or
 * the nonces the hub hashed itself) and, when it was rejected, why (`reason`, plain words), so
 * the worker's history can say both (GET /v1/earnings). Entries written before stay NULL: the hub
 * did not record how it checked them. Payouts are also found by the address they paid
 * (GET /v1/payouts/received: every rig paying to one address).
 */
import type { PgMigration } from './index.js';

export const migration0008: PgMigration = {
  version: 8,
  name: 'receipts',
  sql: `
    ALTER TABLE earnings ADD COLUMN check_method TEXT CHECK (check_method IS NULL OR check_method IN ('freivalds', 'rehash', 'replica', 'spot-check'));
    ALTER TABLE earnings ADD COLUMN check_size BIGINT CHECK (check_size IS NULL OR check_size >= 0);
    ALTER TABLE earnings ADD COLUMN reason TEXT CHECK (reason IS NULL OR length(reason) <= 2000);
    CREATE INDEX payouts_to ON payouts (to_address, created_at);
  `,
};
