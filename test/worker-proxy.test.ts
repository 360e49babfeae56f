/**
 * The worker reaches its hub through the HTTP proxy that HTTP_PROXY / HTTPS_PROXY name (NO_PROXY
 * honoured), and a hub on this machine's loopback directly. The hub here listens on 127.0.0.1
 * but is named `hub.idleforge.test`, a name that never resolves: only the proxy (a tiny real one
 * on 127.0.0.1, tunnelling CONNECT to 127.0.0.1) can reach it by that name.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { ResultResponseSchema, toF32 } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { call, matmulJobBody, startTestHub, type TestHub } from '../hub/testkit.js';
import { freePort } from './helpers.js';
import { HubClient, HubUnreachableError } from '../worker/hub-client.js';

const PROXY_VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];

/** Runs `body` with exactly these proxy variables set (the others unset), then puts them back. */
async function withProxyEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(PROXY_VARIABLES.map((k) => [k, process.env[k]]));
  for (const k of PROXY_VARIABLES) delete process.env[k];
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const k of PROXY_VARIABLES) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

/** A CONNECT proxy that sends every tunnel to 127.0.0.1 and records where each one was asked to go. */
async function tinyProxy(): Promise<{ url: string; tunnels: string[]; close: () => Promise<void> }> {
  const tunnels: string[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(405);
    res.end();
  });
  server.on('connect', (req, client: Duplex, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const upstream = connect(Number(new URL(`http://${req.url}`).port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('the worker behind an HTTP proxy', () => {
  let t: TestHub;
  let proxy: Awaited<ReturnType<typeof tinyProxy>>;
  let named: string;
  const job = matmulJobBody(8, 16, 12, 5);

  before(async () => {
    const port = await freePort();
    named = `hub.idleforge.test:${port}`;
    // The hub signs workers in for the name they reach it by.
    t = await startTestHub({ port, domain: named });
    await call(`${t.hub.url}/v1/jobs`, { token: await t.hub.createCustomer('acme'), body: job.body });
    proxy = await tinyProxy();
  });
  after(async () => {
    await proxy.close();
    await t.close();
  });

  it('signs in, leases and submits through the proxy HTTP_PROXY names, over kept-alive tunnels', async () => {
    await withProxyEnv({ HTTP_PROXY: proxy.url }, async () => {
      const client = new HubClient({ hubUrl: `http://${named}`, wallet: Wallet.createRandom() });
      const task = await client.lease(['matmul']);
      assert.ok(task && task.kind === 'matmul');
      const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
      const res = ResultResponseSchema.parse(await client.submit(task.id, 'matmul', { c: new Uint8Array(c.buffer) }));
      assert.equal(res.status, 'accepted');
      client.close();
    });
    // Challenge, login, lease, submit: four requests through one tunnel or two (undici's pool
    // may open a second connection, see worker/hub-client.test.ts), all to the hub's name.
    assert.ok(proxy.tunnels.length >= 1 && proxy.tunnels.length <= 2, `${proxy.tunnels.length} tunnels`);
    assert.ok(proxy.tunnels.every((to) => to === named));
  });

  it('goes straight to a hub that NO_PROXY names, and to a hub on loopback', async () => {
    const before = proxy.tunnels.length;
    await withProxyEnv({ HTTP_PROXY: proxy.url, NO_PROXY: 'example.org,.idleforge.test' }, async () => {
      // Not through the proxy, the name cannot be found.
      const client = new HubClient({ hubUrl: `http://${named}`, wallet: Wallet.createRandom(), timeoutMs: 5000 });
      await assert.rejects(client.health(), HubUnreachableError);
    });
    await withProxyEnv({ HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url }, async () => {
      const client = new HubClient({ hubUrl: t.hub.url, wallet: Wallet.createRandom() });
      assert.equal((await client.health()).ok, true);
      client.close();
    });
    assert.equal(proxy.tunnels.length, before, 'the proxy saw neither');
  });
});
