import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HealthSchema, ReadyEventSchema } from '../protocol/index.js';
import { main } from './cli.js';
import { call, runHubCommand, tempDir, type HubCommandRun } from './testkit.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('idleforge CLI (hub commands)', () => {
  it('devnet --json starts a chain and prints exactly one ready line, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'hub/cli.ts'), 'devnet', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
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
      assert.match(ready.rpc ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(ready.token ?? '', /^0x[0-9a-fA-F]{40}$/);
      const health = HealthSchema.parse((await call(`${ready.hub}/v1/health`)).body);
      assert.equal(health.token.address, ready.token);
      assert.equal(health.token.symbol, 'IDLE');
      assert.equal((await call(`${ready.hub}/v1/jobs/job_0000000000000000`, { token: ready.customerKey })).status, 404);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    assert.equal(lines.length, 1, `stdout: ${lines.join('\n')}`);
  });

  it('runs the hub alone until stopped, and refuses bad arguments with code 2', async () => {
    const dir = await tempDir();
    let hub: HubCommandRun | null = null;
    try {
      // Its JSON log lines come to stdout too: the plain lines are looked for, not counted.
      hub = await runHubCommand(['hub', '--db', join(dir.path, 'hub.db'), '--customer', 'acme'], /^customer key for/);
      const { io, err } = hub;
      const url = /^hub listening at (\S+)/.exec(hub.line(/^hub listening at/) ?? '')?.[1];
      assert.ok(url);
      const key = /: (idf_\S+)$/.exec(hub.line(/^customer key for/) ?? '')?.[1];
      assert.ok(key);
      assert.equal((await call(`${url}/v1/jobs/job_0000000000000000`, { token: key })).status, 404);
      assert.equal(await hub.stop(), 0);
      assert.equal(await main(['hub'], io), 2);
      assert.equal(await main(['devnet', '--port', 'x'], io), 2);
      assert.equal(await main(['devnet', '--bogus'], io), 2);
      assert.equal(await main(['nope'], io), 2);
      assert.match(err.join('\n'), /--db is required/);
      const db = join(dir.path, 'chain.db');
      assert.equal(await main(['hub', '--db', db, '--rpc', 'http://127.0.0.1:9'], io, {}), 2);
      assert.match(err.join('\n'), /both --rpc and --token/);
      assert.equal(await main(['hub', '--db', db, '--rpc', 'http://127.0.0.1:9', '--token', `0x${'1'.repeat(40)}`], io, {}), 2);
      assert.match(err.join('\n'), /IDLEFORGE_HUB_TREASURY_KEY/);
      assert.equal(await main(['hub', '--db', db, '--payout-threshold', '5'], io, {}), 2);
      assert.match(err.join('\n'), /is for a hub that pays/);
      assert.equal(await main(['hub', '--db', db, '--rpc', 'http://127.0.0.1:9', '--token', `0x${'1'.repeat(40)}`, '--payout-threshold', '1.5'], io, {}), 2);
      assert.equal(await main(['devnet', '--payout-threshold', '-3'], io), 2);
    } finally {
      // Stopped here too when an assertion failed first (else the hub keeps the file open).
      await hub?.stop();
      await dir.remove();
    }
  });

  it('listens on --host and names --public-url in sign-in messages', async () => {
    const dir = await tempDir();
    let hub: HubCommandRun | null = null;
    try {
      hub = await runHubCommand(['hub', '--db', join(dir.path, 'hub.db'), '--host', '0.0.0.0', '--public-url', 'https://hub.example.org/'], /^workers sign in for/, {});
      const { io, err } = hub;
      // Listening on every address, reached here on loopback.
      const url = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(hub.line(/^hub listening at/) ?? '')?.[1];
      assert.ok(url, hub.out.join('\n'));
      assert.equal(hub.line(/^workers sign in for/), 'workers sign in for https://hub.example.org');
      const r = await call(`${url}/v1/auth/challenge`, { body: { address: `0x${'a'.repeat(40)}` } });
      const message = (r.body as { message: string }).message;
      assert.match(message, /^hub\.example\.org wants you to sign in/);
      assert.match(message, /\nURI: https:\/\/hub\.example\.org\n/);
      assert.equal(await hub.stop(), 0);
      hub = null;
      const db = join(dir.path, 'other.db');
      assert.equal(await main(['hub', '--db', db, '--host', 'localhost'], io, {}), 2);
      assert.match(err.join('\n'), /--host must be an IPv4 or IPv6 address/);
      assert.equal(await main(['hub', '--db', db, '--public-url', 'ftp://hub.example.org'], io, {}), 2);
      assert.equal(await main(['hub', '--db', db, '--public-url', 'https://hub.example.org/?a=1'], io, {}), 2);
      assert.match(err.join('\n'), /--public-url: .*no user, query or fragment/);
    } finally {
      await hub?.stop();
      await dir.remove();
    }
  });
});
