import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HealthSchema, ReadyEventSchema } from '../protocol/index.js';
import { main, type CliIo } from './cli.js';
import { call, tempDir } from './testkit.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('idleforge CLI (hub commands)', () => {
  it('devnet --json prints exactly one ready line and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'hub/cli.ts'), 'devnet', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const rl = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      rl.on('line', (line) => {
        lines.push(line);
        if (lines.length === 1) resolve(line);
      });
      child.on('exit', () => reject(new Error(`devnet exited before it was ready: ${stderr}`)));
    });
    const ready = ReadyEventSchema.parse(JSON.parse(first));
    assert.equal(ready.chainId, 31337);
    assert.equal(ready.rpc, null);
    assert.equal(ready.token, null);
    HealthSchema.parse((await call(`${ready.hub}/v1/health`)).body);
    assert.equal((await call(`${ready.hub}/v1/jobs/job_0000000000000000`, { token: ready.customerKey })).status, 404);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.equal(lines.length, 1, `stdout: ${lines.join('\n')}`);
  });

  it('runs the hub alone until stopped, and refuses bad arguments with code 2', async () => {
    const dir = await tempDir();
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), signal: stop.signal };
    try {
      const running = main(['hub', '--db', join(dir.path, 'hub.db'), '--customer', 'acme'], io);
      while (out.length < 2) await new Promise((r) => setTimeout(r, 10));
      const url = /listening at (\S+)/.exec(out[0] ?? '')?.[1];
      assert.ok(url);
      const key = /: (idf_\S+)$/.exec(out[1] ?? '')?.[1];
      assert.ok(key);
      assert.equal((await call(`${url}/v1/jobs/job_0000000000000000`, { token: key })).status, 404);
      stop.abort();
      assert.equal(await running, 0);
      assert.equal(await main(['hub'], io), 2);
      assert.equal(await main(['devnet', '--port', 'x'], io), 2);
      assert.equal(await main(['devnet', '--bogus'], io), 2);
      assert.equal(await main(['nope'], io), 2);
      assert.match(err.join('\n'), /--db FILE is required/);
    } finally {
      await dir.remove();
    }
  });
});
