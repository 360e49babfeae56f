/**
 * The hub client's HTTP as the worker meets it, against a plain node:http server standing in for
 * a hub: connections kept alive, answers too large refused before they are read, and a hub that
 * answers too slowly, cuts an answer off or is not there reported as unreachable. (Against a
 * real hub: hub/lease-frame.test.ts, binary task frames and results; test/worker-proxy.test.ts,
 * through a proxy.)
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { HubClient, HubAnswerError, HubUnreachableError } from './hub-client.js';

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
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

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
