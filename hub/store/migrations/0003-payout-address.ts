import type { Migration } from '../../../lib/sqlite.js';

/** A worker may register another payout address (a watch-only wallet); payouts go there. */
export const migration0003: Migration = {
  version: 3,
  name: '0003-payout-address',
  up(db) {
    db.exec(`ALTER TABLE workers ADD COLUMN payout_address TEXT CHECK (payout_address IS NULL OR length(payout_address) = 42);`);
  },
};
