import type { Migration } from '../../../lib/sqlite.js';

/**
 * The GPU's electricity, by hour (costs/energy-meter.ts): energy in millijoules (exact integers),
 * kept apart by whether it was measured or estimated and by the price per kWh (micro-units of
 * the currency; -1 while none was set) that applied, so each hour's cost is energy × price,
 * computed exactly when read. Kept apart from the ledger's tables.
 */
export const m0010: Migration = {
  version: 10,
  name: '0010-energy',
  up(db) {
    db.exec(`
      CREATE TABLE energy_hours (
        hour TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('measured', 'estimated')),
        currency TEXT NOT NULL,
        price_per_kwh INTEGER NOT NULL CHECK (price_per_kwh >= -1),
        mj INTEGER NOT NULL CHECK (mj >= 0),
        work_ms INTEGER NOT NULL CHECK (work_ms >= 0),
        PRIMARY KEY (hour, source, currency, price_per_kwh)
      ) WITHOUT ROWID;
    `);
  },
};
