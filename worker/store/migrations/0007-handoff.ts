import type { Migration } from '../../../lib/sqlite.js';

/**
 * How fast the GPU was handed back: a state-log entry may carry the milliseconds from
 * a source noticing the user (a game, a fullscreen window, another program on the GPU) to the
 * device destroyed and its memory given back.
 */
export const m0007: Migration = {
  version: 7,
  name: '0007-handoff',
  up(db) {
    db.exec('ALTER TABLE state_log ADD COLUMN handoff_ms REAL CHECK (handoff_ms IS NULL OR handoff_ms >= 0);');
  },
};
