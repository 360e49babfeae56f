import type { Migration } from '../../../lib/sqlite.js';

/**
 * Commands from the owner's other rigs (worker/rigs/): every one this rig was handed, applied or
 * refused, once per sender and nonce (a command replayed is refused, whatever the hub relays), and
 * the hub's id of the last one read (kv `rigs.commandCursor`).
 */
export const m0011: Migration = {
  version: 11,
  name: '0011-rig-commands',
  up(db) {
    db.exec(`
      CREATE TABLE rig_commands (
        sender TEXT NOT NULL,
        nonce TEXT NOT NULL,
        hub TEXT NOT NULL,
        action TEXT NOT NULL,
        sender_name TEXT,
        outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'refused')),
        reason TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (sender, nonce)
      );
    `);
  },
};
