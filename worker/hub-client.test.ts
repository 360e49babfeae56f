/**
 * The hub client's HTTP as the worker meets it, against a plain node:http server standing in for
 * a hub: connections kept alive, answers too large refused before they are read, and a hub that
 * answers too slowly, cuts an answer off or is not there reported as unreachable; and each kind's
 * result in the form it travels (raw bytes or JSON). (Against a real hub: hub/lease-frame.test.ts,
 * binary task frames and results; hub/render.test.ts, render results as f16;
 * test/worker-proxy.test.ts, through a proxy.)
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { JOB_SPECS } from '../jobs/index.js';
import { render } from '../kernels/index.js';
import { f16ToF32, f32ToF16, formatSiweMessage } from '../protocol/index.js';
import { HubClient, HubAnswerError, HubUnreachableError } from './hub-client.js';

/** Starts `server` on a free port of 127.0.0.1; its URL. */
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes `server` and every connection it holds. */
const closeServer = (server: Server): Promise<void> =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

const HEALTH = JSON.stringify({ ok: true, version: '1', chainId: 31337, token: { address: null, symbol: 'IDLE', decimals: 18 } });

describe('the hub client over HTTP', () => {
  let server: Server;
  let url: string;
  let connections = 0;
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/v1/health': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(HEALTH);
    },
    // Far more than the client reads: refused from the head alone, nothing of it sent.
    '/huge/v1/health': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 ** 40) });
      res.flushHeaders();
    },
    '/slow/v1/health': () => undefined,
    '/cut/v1/health': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(HEALTH.length) });
      res.write(HEALTH.slice(0, 10));
      setTimeout(() => res.socket?.destroy(), 20);
    },
    '/busy/v1/health': (_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' });
      res.end('{"error":{"code":"RATE_LIMITED","message":"slow down"}}');
    },
  };

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => (routes[req.url ?? ''] ?? ((_q, r: ServerResponse) => r.writeHead(404).end()))(req, res));
    });
    server.on('connection', () => (connections += 1));
    url = await listen(server);
  });
  after(() => closeServer(server));

  const client = (path = '', timeoutMs?: number): HubClient =>
    new HubClient({ hubUrl: `${url}${path}`, wallet: Wallet.createRandom(), ...(timeoutMs ? { timeoutMs } : {}) });

  it('keeps its connections alive for requests one after another, under the hub URL’s path', async () => {
    const c = client();
    const before = connections;
    for (let i = 0; i < 8; i++) assert.equal((await c.health()).ok, true);
    // undici's pool opens a second connection when a request follows the end of an answer in the
    // same tick, before the first connection counts as free again; never more.
    assert.ok(connections - before <= 2, `${connections - before} connections`);
    c.close();
    assert.equal((await c.health()).ok, true, 'closed connections are opened again');
    c.close();
    await assert.rejects(client('/busy').health(), (e: unknown) => e instanceof HubAnswerError && e.status === 429 && e.code === 'RATE_LIMITED' && e.retryAfterS === 3);
  });

  it('refuses an answer larger than the largest lease, from its announced length', async () => {
    await assert.rejects(client('/huge').health(), (e: unknown) => e instanceof HubUnreachableError && /more than/.test(e.message));
  });

  it('reports a hub that answers too late, cuts its answer off or is not there as unreachable', async () => {
    await assert.rejects(client('/slow', 300).health(), (e: unknown) => e instanceof HubUnreachableError && /no answer within 300 ms/.test(e.message));
    await assert.rejects(client('/cut', 10_000).health(), HubUnreachableError);
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    await assert.rejects(new HubClient({ hubUrl: `http://127.0.0.1:${port}`, wallet: Wallet.createRandom() }).health(), (e: unknown) => e instanceof HubUnreachableError && /ECONNREFUSED|refused/.test(e.message));
  });
});

describe('results as the hub client sends them', () => {
  // A stand-in hub that signs anyone in and keeps each result's body and type.
  let server: Server;
  let url: string;
  const results: { path: string; type: string | undefined; body: Buffer }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const json = (status: number, value: unknown): void => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(value));
        };
        if (req.url === '/v1/auth/challenge') {
          const { address } = JSON.parse(body.toString()) as { address: string };
          const now = new Date().toISOString();
          return json(200, { message: formatSiweMessage({ domain: new URL(url).host, address, uri: url, version: '1', chainId: 31337, nonce: 'abcdefgh1234', issuedAt: now }) });
        }
        if (req.url === '/v1/auth/login') return json(200, { token: 'a-session-token-for-tests', expiresAt: '2099-01-01T00:00:00.000Z' });
        results.push({ path: req.url ?? '', type: req.headers['content-type'], body });
        json(200, { status: 'accepted', credited: '1' });
      });
    });
    url = await listen(server);
  });
  after(() => closeServer(server));

  it('sends a render tile as its f16 values with its chunk sums and a matmul C as its f32 values, each raw; a hashsearch result as JSON', async () => {
    const client = new HubClient({ hubUrl: url, wallet: Wallet.createRandom() });
    const rgb = Float32Array.from({ length: 3 * 4 * 2 }, (_, i) => i / 7);
    const tileOf4x2 = { width: 4, height: 2, x: 0, y: 0, w: 4, h: 2, sampleStart: 0, sampleCount: 16, seed: 1 };
    const chunks = Float32Array.from({ length: 8 * render.RENDER_CHUNKS * 3 }, (_, i) => i);
    const tile = await JOB_SPECS.render.encodeOutput({ kind: 'render', rgb, chunks: { sums: chunks, tile: tileOf4x2 } });
    assert.equal((await client.submit('task_r', 'render', tile)).status, 'accepted');
    const c = Float32Array.of(1.5, -2);
    await client.submit('task_m', 'matmul', await JOB_SPECS.matmul.encodeOutput({ kind: 'matmul', c }));
    const hashsearch = { nonces: ['7'], best: { nonce: '7', hash: 'ab'.repeat(32) } };
    await client.submit('task_h', 'hashsearch', hashsearch);
    // A render result of the older JSON form (f32 base64, saved before an update) goes as JSON, as it was.
    await client.submit('task_old', 'render', { rgb: 'AAAAAA==' });
    client.close();

    assert.deepEqual(results.map((r) => [r.path, r.type]), [
      ['/v1/tasks/task_r/result', 'application/octet-stream'],
      ['/v1/tasks/task_m/result', 'application/octet-stream'],
      ['/v1/tasks/task_h/result', 'application/json'],
      ['/v1/tasks/task_old/result', 'application/json'],
    ]);
    // 6 bytes a pixel: each value the f16 nearest the kernel's; then the mark and every pixel's 16 chunk sums (a tile under 160 pixels opens them all).
    assert.equal(results[0]!.body.byteLength, 2 * rgb.length + 8 + 8 * render.RENDER_CHUNKS * 12);
    assert.deepEqual(results[0]!.body.subarray(0, 2 * rgb.length), Buffer.from(f32ToF16(rgb)));
    const back = f16ToF32(new Uint8Array(results[0]!.body.subarray(0, 2 * rgb.length)));
    rgb.forEach((v, i) => assert.ok(Math.abs(back[i]! - v) <= 2 ** -11 * v, `${back[i]} for ${v}`));
    assert.deepEqual(results[1]!.body, Buffer.from(c.buffer));
    assert.deepEqual(JSON.parse(results[2]!.body.toString()), { output: hashsearch });
    assert.deepEqual(JSON.parse(results[3]!.body.toString()), { output: { rgb: 'AAAAAA==' } });
  });
});
