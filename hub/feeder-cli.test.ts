import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { JOB_KINDS } from '../protocol/index.js';
import { main, type CliIo } from './cli.js';
import { FEEDER_ENV } from './commands.js';
import { startTestHub, tempDir } from './testkit.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('idleforge feeder', () => {
  it('runs as a process of its own against a hub, one JSON line per job, and exits 0 on SIGTERM', async () => {
    const t = await startTestHub();
    try {
      const key = await t.hub.createCustomer('feeder');
      const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'hub/cli.ts'), 'feeder', '--hub', t.hub.url, '--json', '--interval-ms', '200', '--backlog', `${JOB_KINDS[0]}=2`], {
        cwd: root,
        env: { ...process.env, [FEEDER_ENV.customerKey]: key },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const submitted: { kind: string; id: string }[] = [];
      for await (const line of createInterface({ input: child.stdout })) {
        const e = JSON.parse(line) as { event: string; kind: string; id: string };
        assert.notEqual(e.event, 'error', line);
        if (e.event === 'submitted') submitted.push(e);
        if (submitted.filter((s) => s.kind === JOB_KINDS[0]).length >= 2) break;
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      // The jobs are the customer's, on the hub.
      const jobs = (await t.hub.db.query<{ n: number }>('SELECT count(*) AS n FROM jobs')).rows[0]!;
      assert.ok(jobs.n >= 2);
    } finally {
      await t.close();
    }
  });

  it('refuses to start without a URL or a key, and a key file others may read', async () => {
    const dir = await tempDir();
    const err: string[] = [];
    const io: CliIo = { out: () => undefined, err: (l) => err.push(l) };
    try {
      assert.equal(await main(['feeder'], io, {}), 2);
      assert.match(err.join('\n'), /--hub URL is required/);
      assert.equal(await main(['feeder', '--hub', 'http://127.0.0.1:9'], io, {}), 2);
      assert.match(err.join('\n'), new RegExp(FEEDER_ENV.customerKey));
      assert.equal(await main(['feeder', '--hub', 'ftp://x'], io, {}), 2);
      assert.equal(await main(['feeder', '--hub', 'http://127.0.0.1:9', '--backlog', 'nope=1'], io, { [FEEDER_ENV.customerKey]: 'idf_x' }), 2);
      const file = join(dir.path, 'key');
      writeFileSync(file, 'idf_x\n');
      chmodSync(file, 0o644);
      assert.equal(await main(['feeder', '--hub', 'http://127.0.0.1:9', '--customer-key-file', file], io, {}), 1);
      assert.match(err.join('\n'), /open to other users/);
    } finally {
      await dir.remove();
    }
  });
});
