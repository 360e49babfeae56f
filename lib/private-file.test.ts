/** The mode check of files that hold secrets. */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { privateFileProblem } from './private-file.js';

describe('privateFileProblem', { skip: process.platform === 'win32' && 'POSIX modes only' }, () => {
  it('accepts 0600 and 0400, refuses a file group or others may open, naming it and the chmod', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idleforge-private-'));
    try {
      const file = join(dir, 'secret');
      writeFileSync(file, 'x');
      for (const ok of [0o600, 0o400]) {
        chmodSync(file, ok);
        assert.equal(privateFileProblem(file), null);
      }
      for (const open of [0o644, 0o640, 0o604, 0o620]) {
        chmodSync(file, open);
        assert.equal(privateFileProblem(file), `${file} is open to other users of this machine (mode ${open.toString(8)}); run: chmod 600 ${file}`);
      }
      assert.equal(privateFileProblem(file, 'win32'), null, 'Windows keeps access in ACLs, not mode bits');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
