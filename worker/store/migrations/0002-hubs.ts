import type { Migration } from '../../../lib/sqlite.js';

/** What the worker learned of each hub it worked for: its chain and token, to show amounts. */
export const m0002: Migration = {
  version: 2,
  name: '0002-hubs',
  up(db) {
    db.exec(`
      CREATE TABLE hubs (
        url TEXT PRIMARY KEY,
        chain_id INTEGER NOT NULL,
        token_address TEXT,
        token_symbol TEXT NOT NULL,
        token_decimals INTEGER NOT NULL CHECK (token_decimals BETWEEN 0 AND 36),
        seen_at TEXT NOT NULL
      );
    `);
  },
};
