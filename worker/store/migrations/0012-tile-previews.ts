import type { Migration } from '../../../lib/sqlite.js';

/**
 * Thumbnails of the latest outputs that are pictures (render tiles), for the dashboard: 8-bit RGB,
 * at most 48 pixels a side, the latest few dozen kept (store/previews.ts prunes the rest).
 */
export const m0012: Migration = {
  version: 12,
  name: '0012-tile-previews',
  up(db) {
    db.exec(`
      CREATE TABLE tile_previews (
        hub TEXT NOT NULL,
        task_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        width INTEGER NOT NULL CHECK (width BETWEEN 1 AND 64),
        height INTEGER NOT NULL CHECK (height BETWEEN 1 AND 64),
        rgb BLOB NOT NULL CHECK (length(rgb) = 3 * width * height),
        created_at TEXT NOT NULL,
        PRIMARY KEY (hub, task_id)
      );
      CREATE INDEX tile_previews_created ON tile_previews (created_at);
    `);
  },
};
