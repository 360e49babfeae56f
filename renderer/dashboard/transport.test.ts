/** The dashboard's HTTP + WebSocket transport against a real server on 127.0.0.1: errors, events, reconnects. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { EngineApiError } from '../../protocol/engine-api.js';
import { startEarly } from './boot.js';
import { BAD_TOKEN, bridgeTransport, detectTransport, httpTransport, OFFLINE, tokenFromHash, type Connection, type EngineTransport } from './transport.js';

const TOKEN = 'ab'.repeat(32);
/** The API calls the test servers answered (their paths). */
const calls: string[] = [];

function engineServer(port = 0): Promise<{ server: Server; wss: WebSocketServer; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'BAD_TOKEN', message: 'wrong token' } }));
      } else if (req.url === '/api/v1/updateSettings') {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'INVALID_SETTINGS', message: 'idleMinutes: at most 240 minutes' } }));
      } else {
        calls.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ pause: { kind: 'paused' } }));
      }
    });
    const wss = new WebSocketServer({ server });
    // Listening again on a port another process took meanwhile is a plain test failure.
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, wss, port: (server.address() as AddressInfo).port }));
  });
}

const stop = (s: { server: Server; wss: WebSocketServer }): Promise<void> =>
  new Promise((resolve) => {
    for (const c of s.wss.clients) c.terminate();
    s.wss.close();
    s.server.close(() => resolve());
  });

function nextConnection(t: EngineTransport, want: Connection): Promise<void> {
  return new Promise((resolve) => {
    if (t.connection === want) return resolve();
    const off = t.onConnection((c) => {
      if (c === want) {
        off();
        resolve();
      }
    });
  });
}

describe('dashboard transport over HTTP and WebSocket', () => {
  const open: EngineTransport[] = [];
  after(() => open.forEach((t) => t.close()));

  it('calls with the token and turns error bodies into plain-word errors', async () => {
    const s = await engineServer();
    const t = httpTransport({ origin: `http://127.0.0.1:${s.port}`, token: TOKEN, WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
    open.push(t);
    assert.deepEqual(await t.call('pause', {}), { pause: { kind: 'paused' } });
    // The CSV streams from its own address: the one a browser opens itself, with the token in it.
    assert.equal(t.csvUrl, `http://127.0.0.1:${s.port}/api/v1/earnings.csv?token=${TOKEN}`);
    await assert.rejects(t.call('updateSettings', { idleMinutes: 999 }), (e: unknown) => e instanceof EngineApiError && e.code === 'INVALID_SETTINGS' && /at most 240/.test(e.message));
    const stale = httpTransport({ origin: `http://127.0.0.1:${s.port}`, token: 'cd'.repeat(32), WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket });
    open.push(stale);
    await assert.rejects(stale.call('getStatus', {}), (e: unknown) => e instanceof EngineApiError && e.code === BAD_TOKEN && /out of date/.test(e.message));
    t.close();
    await stop(s);
    await assert.rejects(t.call('getStatus', {}), (e: unknown) => e instanceof EngineApiError && e.code === OFFLINE);
  });

  it('delivers valid events only, goes offline when the engine stops, and reconnects when it is back', async () => {
    const s = await engineServer();
    const t = httpTransport({ origin: `http://127.0.0.1:${s.port}`, token: TOKEN, WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket, backoff: { min: 20, max: 100 } });
    open.push(t);
    const events: unknown[] = [];
    t.onEvent((e) => events.push(e));
    await nextConnection(t, 'online');
    const [client] = [...s.wss.clients];
    const got = new Promise<void>((resolve) => t.onEvent(() => resolve()));
    client!.send('not json');
    client!.send(JSON.stringify({ type: 'nonsense' }));
    client!.send(JSON.stringify({ type: 'ledger' }));
    await got;
    assert.deepEqual(events, [{ type: 'ledger' }]);

    await stop(s);
    await nextConnection(t, 'offline');
    const back = await engineServer(s.port);
    await nextConnection(t, 'online');
    await stop(back);
  });

  it('takes the status asked for before the scripts loaded as the answer to its first getStatus, once', async () => {
    const s = await engineServer();
    const win = { location: new URL(`http://127.0.0.1:${s.port}/#token=${TOKEN}`) } as unknown as Window;
    calls.length = 0;
    const early = startEarly(win);
    assert(early?.kind === 'http');
    const t = httpTransport({ origin: early.origin, token: early.token, WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket, earlyStatus: early.status });
    open.push(t);
    assert.deepEqual(await t.call('getStatus', {}), { pause: { kind: 'paused' } });
    assert.deepEqual(calls, ['/api/v1/getStatus'], 'the early request was the only one');
    await t.call('getStatus', {});
    assert.deepEqual(calls, ['/api/v1/getStatus', '/api/v1/getStatus'], 'later calls ask again');
    t.close();
    await stop(s);

    // The engine was away when the page asked: the first call says so, in the transport's words.
    const gone = startEarly({ location: new URL(`http://127.0.0.1:${s.port}/#token=${TOKEN}`) } as unknown as Window);
    assert(gone?.kind === 'http');
    const t2 = httpTransport({ origin: gone.origin, token: gone.token, WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket, earlyStatus: gone.status });
    open.push(t2);
    await assert.rejects(t2.call('getStatus', {}), (e: unknown) => e instanceof EngineApiError && e.code === OFFLINE);
    t2.close();

    // The desktop bridge: asked at once, answered once; not used when an event came meanwhile.
    let asked = 0;
    const listeners = new Set<(e: unknown) => void>();
    const bridge = { onEvent: (l: (e: unknown) => void) => (listeners.add(l), () => listeners.delete(l)), getStatus: async () => ({ n: ++asked }) };
    const viaBridge = startEarly({ idleforgeEngine: bridge, location: new URL('idleforge://dashboard/index.html') } as unknown as Window);
    assert.equal(asked, 1);
    const t3 = detectTransport({} as Window, viaBridge)!;
    assert.deepEqual(await t3.call('getStatus', {}), { n: 1 });
    assert.deepEqual(await t3.call('getStatus', {}), { n: 2 });
    t3.close();
    const stale = startEarly({ idleforgeEngine: bridge, location: new URL('idleforge://dashboard/index.html') } as unknown as Window);
    assert.equal(asked, 3);
    listeners.forEach((l) => l({ type: 'ledger' }));
    const t4 = detectTransport({} as Window, stale)!;
    assert.deepEqual(await t4.call('getStatus', {}), { n: 4 }, 'asked again: the engine spoke since the first question');
    t4.close();
    assert.equal(listeners.size, 0, 'the early listener is gone once the transport took over');
    assert.equal(startEarly({ location: new URL('http://127.0.0.1:1/') } as unknown as Window), null, 'no token, no bridge: nothing to ask');
  });

  it('uses the desktop bridge when there is one, and reads the token from the fragment', async () => {
    const listeners = new Set<(e: unknown) => void>();
    const bridge = new Proxy({} as Record<string, unknown>, {
      get: (_t, name) =>
        name === 'onEvent'
          ? (l: (e: unknown) => void) => (listeners.add(l), () => listeners.delete(l))
          : name === 'getStatus'
            ? async () => Promise.reject(Object.assign(new Error("Error invoking remote method 'idleforge:engine:getStatus': EngineApiError: the engine is busy"), { code: 'BUSY' }))
            : async () => ({ ok: true }),
    });
    const t = bridgeTransport(bridge as never);
    const seen: unknown[] = [];
    t.onEvent((e) => seen.push(e));
    listeners.forEach((l) => l({ type: 'ledger' }));
    listeners.forEach((l) => l({ type: 'bogus' }));
    assert.deepEqual(seen, [{ type: 'ledger' }]);
    await assert.rejects(t.call('getStatus', {}), (e: unknown) => e instanceof EngineApiError && e.code === 'BUSY' && e.message === 'the engine is busy');
    t.close();
    assert.equal(listeners.size, 0);
    assert.equal(tokenFromHash(`#token=${TOKEN}`), TOKEN);
    assert.equal(tokenFromHash('#token=<script>'), null);
    assert.equal(tokenFromHash(''), null);
  });
});
