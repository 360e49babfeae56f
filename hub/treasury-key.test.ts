/** `idleforge hub --treasury-key-file`: a key file other users may read is refused before use. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main, type CliIo } from './cli.js';

describe('hub treasury key file', { skip: process.platform === 'win32' && 'POSIX modes only' }, () => {
  it('refuses a key file open to group or others, naming it and the chmod; takes it at 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idleforge-treasury-'));
    const err: string[] = [];
    const io: CliIo = { out: () => {}, err: (l) => err.push(l) };
    try {
      const file = join(dir, 'treasury.key');
      // Empty: once its mode is accepted, the hub stops at "needs its treasury key" without
      // reaching for a chain (none runs here).
      writeFileSync(file, '\n');
      const args = ['hub', '--db', join(dir, 'hub.db'), '--rpc', 'http://127.0.0.1:9', '--token', `0x${'1'.repeat(40)}`, '--treasury-key-file', file];
      for (const mode of [0o644, 0o640]) {
        chmodSync(file, mode);
        err.length = 0;
        assert.equal(await main(args, io, {}), 1);
        assert.equal(err.join('\n'), `error: the treasury key file ${file} is open to other users of this machine (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
      }
      chmodSync(file, 0o600);
      err.length = 0;
      assert.equal(await main(args, io, {}), 2);
      assert.match(err.join('\n'), /needs its treasury key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
