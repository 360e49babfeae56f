/**
 * The hub behind a real HAProxy, run with deploy/haproxy.cfg itself (its `bind` and `server` lines
 * replaced by this test's ports, `user`/`group`/`chroot` dropped and the stats socket moved to a
 * temporary folder): a worker signs in through the proxy for the public URL; two clients from
 * different addresses get separate rate limits; no client can name its own address in
 * X-Forwarded-For; a hub that stops is marked down by the health check and the other one answers
 * (that test runs first: the address tests need one network, hub1 alone, behind the proxy).
 *
 * Skipped, with the reason, where `haproxy` is not installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Wallet } from 'ethers';
import { parseSiweMessage } from '../protocol/index.js';
import { startHub, type Hub } from '../hub/server.js';
import { tempDir } from '../hub/testkit.js';
import { freePort } from './helpers.js';
import { HubClient } from '../worker/hub-client.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';
import { renderHaproxyConfig } from './haproxy.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const haproxyMissing = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).error !== undefined;
const skip = haproxyMissing ? 'haproxy is not installed (apt-get install haproxy; .ci/run installs it)' : false;

interface Answer {
  status: number;
  body: unknown;
}

/** One HTTP request from the local address `from` (on Linux, all of 127/8 is this machine). */
function send(url: string, from: string, opts: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = request(url, { method: opts.method ?? (body ? 'POST' : 'GET'), localAddress: from, agent: false, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // Not JSON (an HAProxy error page): kept as text.
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** HAProxy's `show stat`: each server's status (UP, DOWN, …) by name. */
function serverStates(socket: string): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString('utf8')));
    c.on('error', reject);
    c.on('end', () => {
      const [head = '', ...rows] = text.trim().split('\n');
      const cols = head.replace(/^# /, '').split(',');
      const [px, sv, st] = ['pxname', 'svname', 'status'].map((n) => cols.indexOf(n));
      const states = new Map<string, string>();
      for (const row of rows) {
        const f = row.split(',');
        if (f[px!] === 'hubs' && f[sv!] !== 'BACKEND') states.set(f[sv!]!, f[st!]!);
      }
      resolve(states);
    });
    c.end('show stat\n');
  });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the hub behind HAProxy (deploy/haproxy.cfg)', { skip }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let hub1: Hub;
  let hub2: Hub;
  let proxy: ChildProcess;
  let proxyLog = '';
  let publicUrl = '';
  let stats = '';

  before(async () => {
    dir = await tempDir('idleforge-haproxy-');
    const front = await freePort();
    publicUrl = `http://127.0.0.1:${front}`;
    // Two networks behind one proxy on purpose (each hub its own database and chain id): hub1
    // takes the sign-ins; hub2 is there for the health checks. One network of several processes
    // behind HAProxy: test/hub-network.test.ts.
    // Sign-in is limited to 3 tries per address (refilled once in 1,000 s): enough to see a limit.
    const common = { host: '127.0.0.1', trustProxy: '127.0.0.1', rateLimits: { signIn: { perSecond: 0.001, burst: 3 } } } as const;
    hub1 = await startHub({ ...common, db: await testDatabaseUrl(), publicUrl });
    hub2 = await startHub({ ...common, db: await testDatabaseUrl(), chainId: 1337, publicUrl });
    stats = join(dir.path, 'haproxy.sock');
    const cfg = join(dir.path, 'haproxy.cfg');
    const ports = [hub1, hub2].map((h) => Number(new URL(h.url).port));
    writeFileSync(cfg, renderHaproxyConfig(readFileSync(join(root, 'deploy/haproxy.cfg'), 'utf8'), front, ports, stats));
    const check = spawnSync('haproxy', ['-c', '-q', '-f', cfg], { encoding: 'utf8' });
    assert.equal(check.status, 0, `haproxy -c refused the rendered deploy/haproxy.cfg:\n${check.stdout}${check.stderr}`);
    proxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    proxy.stdout?.on('data', (d: Buffer) => (proxyLog += d.toString()));
    proxy.stderr?.on('data', (d: Buffer) => (proxyLog += d.toString()));
    await until('HAProxy to answer', 10_000, async () => ((await send(`${publicUrl}/v1/health`, '127.0.0.1')).status === 200 ? true : undefined)).catch((err: Error) => {
      throw new Error(`${err.message}\n${proxyLog}`);
    });
  });

  after(async () => {
    proxy?.kill('SIGTERM');
    await hub1?.close();
    await hub2?.close();
    await dir?.remove();
  });

  it('sends each client to one hub, marks a stopped hub down by its health check and sends everyone to the other', async () => {
    await until('both hubs up', 15_000, async () => {
      const states = await serverStates(stats);
      return states.get('hub1') === 'UP' && states.get('hub2') === 'UP' ? true : undefined;
    });
    // Each client address sticks to one hub (so the hubs' own rate limits hold per client), and
    // the addresses are spread over both (the hubs told apart by their chain ids).
    const chainOf = async (from: string): Promise<number> => ((await send(`${publicUrl}/v1/health`, from)).body as { chainId: number }).chainId;
    const seen = new Set<number>();
    for (let i = 6; i < 40 && seen.size < 2; i++) {
      const from = `127.0.0.${i}`;
      const first = await chainOf(from);
      for (let j = 0; j < 4; j++) assert.equal(await chainOf(from), first, `${from} moved to another hub`);
      seen.add(first);
    }
    assert.deepEqual([...seen].sort(), [hub2.chainId, hub1.chainId].sort());
    await hub2.close();
    // fall 2 × inter 2 s: down within about 4 s of the stop.
    await until('HAProxy to mark hub2 down', 15_000, async () => ((await serverStates(stats)).get('hub2')?.startsWith('DOWN') ? true : undefined));
    assert.equal((await serverStates(stats)).get('hub1'), 'UP');
    for (let i = 6; i < 12; i++) {
      const r = await send(`${publicUrl}/v1/health`, `127.0.0.${i}`);
      assert.equal(r.status, 200);
      assert.equal((r.body as { chainId: number }).chainId, hub1.chainId);
    }
  });

  // From here on hub1 alone is behind the proxy: one network, so a challenge and its login meet.
  it('signs a worker in through the proxy, for the public URL', async () => {
    assert.equal(hub1.publicUrl, publicUrl);
    assert.notEqual(hub1.url, publicUrl);
    // The hub's message names the proxy's address: the worker's own check of it passes.
    const wallet = Wallet.createRandom();
    const client = new HubClient({ hubUrl: publicUrl, wallet });
    try {
      await client.signIn();
      assert.equal((await client.earningsPage()).entries.length, 0);
    } finally {
      client.close();
    }
    const r = await send(`${publicUrl}/v1/auth/challenge`, '127.0.0.4', { body: { address: wallet.address } });
    const fields = parseSiweMessage((r.body as { message: string }).message);
    assert.equal(fields?.domain, new URL(publicUrl).host);
    assert.equal(fields?.uri, publicUrl);
  });

  it('gives two clients behind the proxy separate limits, and lets neither name its own address', async () => {
    const challengeFrom = (from: string, url = publicUrl, headers?: Record<string, string>): Promise<number> =>
      send(`${url}/v1/auth/challenge`, from, { body: { address: Wallet.createRandom().address }, ...(headers ? { headers } : {}) }).then((r) => r.status);
    for (let i = 0; i < 3; i++) assert.equal(await challengeFrom('127.0.0.2'), 200);
    assert.equal(await challengeFrom('127.0.0.2'), 429);
    assert.equal((await send(`${publicUrl}/v1/health`, '127.0.0.2')).status, 200, 'only sign-in was limited');
    // Another address behind the same proxy still signs in.
    assert.equal(await challengeFrom('127.0.0.3'), 200);
    // Naming another address through the proxy changes nothing: HAProxy drops the client's header.
    assert.equal(await challengeFrom('127.0.0.2', publicUrl, { 'x-forwarded-for': '203.0.113.7' }), 429);
    // Nor straight to the hub: 127.0.0.2 is no trusted proxy, so its X-Forwarded-For is ignored.
    assert.equal(await challengeFrom('127.0.0.2', hub1.url, { 'x-forwarded-for': '203.0.113.8' }), 429);
    // A stranger cannot spend 127.0.0.3's tries by naming it: its own bucket pays.
    for (let i = 0; i < 3; i++) assert.equal(await challengeFrom('127.0.0.5', hub1.url, { 'x-forwarded-for': '127.0.0.3' }), 200);
    assert.equal(await challengeFrom('127.0.0.5', hub1.url, { 'x-forwarded-for': '127.0.0.3' }), 429);
    assert.equal(await challengeFrom('127.0.0.3'), 200);
  });
});
