import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../testkit.js';
import { openSqliteHubFile as openHubDb } from '../sqlite-file.js';
import { payoutAddressOf, setPayoutAddress } from '../workers.js';
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
      assert.equal(payoutAddressOf(db, w), w);
      setPayoutAddress(db, w, '0x2222222222222222222222222222222222222222', 'y');
      assert.equal(payoutAddressOf(db, w), '0x2222222222222222222222222222222222222222');
      assert.throws(() => setPayoutAddress(db, w, '0x22', 'y'), /CHECK/);
      db.close();
    } finally {
      await dir.remove();
    }
  });
});
