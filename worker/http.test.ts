import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { BufferPool, HttpClient, HttpFailure } from './http.js';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, connections: () => connections };
}

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

describe('the hub HTTP client', () => {
  const MB = Buffer.alloc(1 << 20);
  for (let i = 0; i < MB.length; i += 4) MB.writeUInt32LE(i, i);
  let s: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    s = await serve((req, body, res) => {
      if (req.url === '/echo') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-method': req.method ?? '' });
        res.end(body);
      } else if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': MB.length });
        res.end(MB);
      } else if (req.url === '/chunked') {
        // No content-length: sent chunked, read without a size known beforehand.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":');
        res.end('1}');
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': 1000 });
        res.write(Buffer.alloc(10));
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 2000);
      } else if (req.url === '/error') {
        res.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
        res.end('{"error":{"code":"RATE_LIMITED","message":"slow down"}}');
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  after(() => close(s.server));

  it('sends a body as it is and reads the answer whole, over one kept-alive connection', async () => {
    const client = new HttpClient(s.url);
    const before = s.connections();
    for (let i = 0; i < 3; i++) {
      const res = await client.request({ method: 'POST', path: '/echo', headers: { 'content-type': 'application/octet-stream' }, body: MB });
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-method'], 'POST');
      assert.ok(res.body.equals(MB));
    }
    assert.equal(s.connections() - before, 1, 'the three requests shared one connection');
    const chunked = await client.request({ method: 'GET', path: '/chunked' });
    assert.deepEqual(JSON.parse(chunked.body.toString()), { a: 1 });
    const err = await client.request({ method: 'GET', path: '/error' });
    assert.equal(err.status, 429);
    assert.equal(err.headers['retry-after'], '3');
    client.close();
  });

  it('reads an answer of announced length into the memory it is given', async () => {
    const client = new HttpClient(s.url);
    const pool = new BufferPool(2);
    const first = await client.request({ method: 'GET', path: '/big', into: (n) => pool.take(n) });
    assert.ok(first.body.equals(MB));
    pool.give(first.body);
    const second = await client.request({ method: 'GET', path: '/big', into: (n) => pool.take(n) });
    assert.ok(second.body.equals(MB));
    assert.equal(second.body.buffer, first.body.buffer, 'the second answer reused the first one’s memory');
    client.close();
  });

  it('refuses an answer larger than it reads, whether its length is announced or not', async () => {
    const client = new HttpClient(s.url, { maxBodyBytes: 1000 });
    await assert.rejects(client.request({ method: 'GET', path: '/big' }), (e: unknown) => e instanceof HttpFailure && e.code === 'E2BIG');
    const chunks = await serve((_req, _body, res) => {
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(500));
      res.end();
    });
    try {
      await assert.rejects(new HttpClient(chunks.url, { maxBodyBytes: 1000 }).request({ method: 'GET', path: '/' }), (e: unknown) => e instanceof HttpFailure && e.code === 'E2BIG');
    } finally {
      await close(chunks.server);
    }
    client.close();
  });

  it('fails plainly on an answer cut off, on no answer in time, and on a refused connection', async () => {
    const client = new HttpClient(s.url, { timeoutMs: 300 });
    await assert.rejects(client.request({ method: 'GET', path: '/cut' }), (e: unknown) => e instanceof HttpFailure && /cut off/.test(e.message));
    await assert.rejects(client.request({ method: 'GET', path: '/slow' }), (e: unknown) => e instanceof HttpFailure && e.code === 'ETIMEDOUT');
    client.close();
    const closed = await serve(() => undefined);
    const { url } = closed;
    await close(closed.server);
    await assert.rejects(new HttpClient(url).request({ method: 'GET', path: '/' }), (e: unknown) => e instanceof HttpFailure && e.code === 'ECONNREFUSED');
  });

  it('sends a request again on a fresh connection when the kept-alive one was closed under it', async () => {
    // The server drops every connection at its second request, unanswered, as a server does
    // when its keep-alive timeout ends just as a request arrives.
    const seen = new WeakMap<Socket, number>();
    const flaky = await serve((req, body, res) => {
      const sock = req.socket;
      const n = (seen.get(sock) ?? 0) + 1;
      seen.set(sock, n);
      if (n === 2) {
        sock.destroy();
        return;
      }
      res.end(body);
    });
    try {
      const client = new HttpClient(flaky.url);
      assert.equal((await client.request({ method: 'POST', path: '/', body: 'one' })).body.toString(), 'one');
      assert.equal((await client.request({ method: 'POST', path: '/', body: 'two' })).body.toString(), 'two');
      assert.equal(flaky.connections(), 2);
      client.close();
    } finally {
      await close(flaky.server);
    }
  });
});

describe('BufferPool', () => {
  it('hands out exact lengths, reuses what is given back, keeps at most its limit and nothing foreign', () => {
    const pool = new BufferPool(2, 1024);
    const a = pool.take(1500);
    assert.equal(a.length, 1500);
    assert.equal(a.buffer.byteLength, 2048, 'whole granules');
    pool.give(a);
    pool.give(a);
    assert.equal(pool.held, 1, 'given twice, held once');
    const b = pool.take(100);
    assert.equal(b.buffer, a.buffer);
    assert.equal(pool.held, 0);
    pool.give(Buffer.alloc(4096));
    pool.give(Buffer.from('small'));
    assert.equal(pool.held, 0, 'buffers the pool did not make are never taken in');
    const [x, y, z] = [pool.take(1024), pool.take(3000), pool.take(5000)];
    pool.give(x);
    pool.give(y);
    pool.give(z);
    assert.equal(pool.held, 2);
    assert.equal(pool.take(4000).buffer, z.buffer, 'the largest are kept');
  });
});
