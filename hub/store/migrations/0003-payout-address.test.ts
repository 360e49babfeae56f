import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../testkit.js';
import { openSqliteHubFile as openHubDb } from '../sqlite-file.js';
import { schemaVersion } from './index.js';

describe('migration 0003-payout-address', () => {
  it('migrates a fresh file to exactly version 3 and keeps version 2 workers, paid to themselves', async () => {
    const dir = await tempDir();
    try {
      const path = join(dir.path, 'hub.db');
      const v2 = openHubDb(path, { targetVersion: 2 });
      v2.prepare("INSERT INTO workers (address, first_seen, last_seen) VALUES ('0x1111111111111111111111111111111111111111', 'x', 'x')").run();
      v2.close();
      const db = openHubDb(path, { targetVersion: 3 });
      assert.equal(schemaVersion(db), 3);
      const w = '0x1111111111111111111111111111111111111111';
      // Paid to itself (the store's behaviour on the migrated schema: postgres/migrations/store-on-migrated.test.ts).
      assert.deepEqual(db.prepare('SELECT payout_address FROM workers WHERE address = ?').get(w), { payout_address: null });
      db.close();
    } finally {
      await dir.remove();
    }
  });
});
