import type { Migration } from '../../../lib/sqlite.js';

/**
 * A binary output (a matmul's C) is kept in a file of its own beside worker.db rather than as a
 * BLOB: the row names the file and its length. Writing a megabyte into SQLite cost about 5 ms of
 * CPU per task (WAL frames, their checksums, the checkpoint's second copy); a plain file, which
 * is deleted once the hub has the result, usually never leaves the page cache.
 */
export const m0005: Migration = {
  version: 5,
  name: '0005-result-files',
  up(db) {
    db.exec(`
      ALTER TABLE results ADD COLUMN output_file TEXT;
      ALTER TABLE results ADD COLUMN output_bytes INTEGER CHECK (output_bytes IS NULL OR output_bytes >= 0);
    `);
  },
};
