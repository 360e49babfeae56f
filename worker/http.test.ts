import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
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
    // A generous wait for the cut (the server cuts from a timer), a short one for the slow answer.
    const patient = new HttpClient(s.url, { timeoutMs: 10_000 });
    await assert.rejects(patient.request({ method: 'GET', path: '/cut' }), (e: unknown) => e instanceof HttpFailure && /cut off/.test(e.message));
    patient.close();
    const client = new HttpClient(s.url, { timeoutMs: 300 });
    await assert.rejects(client.request({ method: 'GET', path: '/slow' }), (e: unknown) => e instanceof HttpFailure && e.code === 'ETIMEDOUT');
    client.close();
    const closed = await serve(() => undefined);
    const { url } = closed;
    await close(closed.server);
    await assert.rejects(new HttpClient(url).request({ method: 'GET', path: '/' }), (e: unknown) => e instanceof HttpFailure && e.code === 'ECONNREFUSED');
  });

  it('refuses to send a path or header that could split the request, before connecting', async () => {
    const client = new HttpClient(s.url);
    const before = s.connections();
    await assert.rejects(client.request({ method: 'GET', path: '/a b' }), TypeError);
    await assert.rejects(client.request({ method: 'GET', path: '/', headers: { authorization: 'Bearer x\r\nx-evil: 1' } }), TypeError);
    await assert.rejects(client.request({ method: 'GET', path: '/', headers: { 'bad name': 'x' } }), TypeError);
    assert.equal(s.connections(), before);
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

/**
 * A TCP server that answers every request (read up to its blank line and content-length body)
 * with the bytes `answer` gives, written in `pieces` separate writes to test reads split anywhere.
 */
async function scripted(answer: (n: number) => string, pieces = 1): Promise<{ url: string; close: () => Promise<void>; connections: () => number }> {
  let connections = 0;
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((sock) => {
    connections += 1;
    sockets.add(sock);
    let pending = Buffer.alloc(0);
    sock.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(pending.toString('latin1', 0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.subarray(end + 4 + length);
        const bytes = Buffer.from(answer(++requests), 'latin1');
        const step = Math.ceil(bytes.length / pieces);
        for (let i = 0; i < bytes.length; i += step) sock.write(bytes.subarray(i, i + step));
        if (/\r\nconnection: close\r\n|^HTTP\/1\.0/i.test(bytes.toString('latin1'))) sock.end();
      }
    });
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const sock of sockets) sock.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the hub HTTP client reads answers as HTTP/1.1 frames them', () => {
  const get = (url: string): Promise<{ status: number; text: string; headers: Readonly<Record<string, string>> }> =>
    new HttpClient(url).request({ method: 'GET', path: '/' }).then((r) => ({ status: r.status, text: r.body.toString('latin1'), headers: r.headers }));

  it('chunked, with extensions and trailers, whichever way the reads split it', async () => {
    const body = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n3;ext=1\r\nabc\r\n0B\r\nhello world\r\n0\r\nx-trailer: 1\r\n\r\n';
    for (const pieces of [1, 7, body.length]) {
      const srv = await scripted(() => body, pieces);
      try {
        const client = new HttpClient(srv.url);
        for (let i = 0; i < 2; i++) {
          const r = await client.request({ method: 'GET', path: '/' });
          assert.equal(r.body.toString(), 'abchello world', `${pieces} pieces`);
          assert.equal(r.headers['x-a'], '1, 2', 'repeated headers joined, names in lower case');
        }
        assert.equal(srv.connections(), 1, 'kept alive after a chunked answer');
        client.close();
      } finally {
        await srv.close();
      }
    }
  });

  it('skips informational answers, reads to the end of an HTTP/1.0 answer, and honours connection: close', async () => {
    const srv = await scripted((n) =>
      n === 1
        ? 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'
        : 'HTTP/1.0 200 OK\r\n\r\nuntil the end',
    );
    try {
      const client = new HttpClient(srv.url);
      assert.equal((await client.request({ method: 'GET', path: '/' })).body.toString(), 'ok');
      assert.equal((await client.request({ method: 'GET', path: '/' })).body.toString(), 'until the end');
      assert.equal(srv.connections(), 2, 'the closed connection was not reused');
    } finally {
      await srv.close();
    }
  });

  it('refuses what is not HTTP, endless headers and bytes beyond the answer, with EPROTO', async () => {
    for (const answer of ['hello\r\n\r\n', `HTTP/1.1 200 OK\r\nx: ${'y'.repeat(70_000)}\r\n\r\n`, 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokay']) {
      const srv = await scripted(() => answer);
      try {
        await assert.rejects(get(srv.url), (e: unknown) => e instanceof HttpFailure && e.code === 'EPROTO', answer.slice(0, 30));
      } finally {
        await srv.close();
      }
    }
  });

  it('speaks TLS, checking the certificate against the authorities it is given', async () => {
    const cert = readFileSync(new URL('./testdata/localhost-cert.pem', import.meta.url));
    const key = readFileSync(new URL('./testdata/localhost-key.pem', import.meta.url));
    const server = createHttpsServer({ cert, key }, (req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`secure ${req.url}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const client = new HttpClient(url, { ca: cert });
      for (let i = 0; i < 2; i++) assert.equal((await client.request({ method: 'GET', path: '/x' })).body.toString(), 'secure /x');
      client.close();
      await assert.rejects(new HttpClient(url).request({ method: 'GET', path: '/x' }), (e: unknown) => e instanceof HttpFailure && /self[- ]signed/i.test(e.message));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
    const withSmallest = new BufferPool(2, 1024, 512);
    withSmallest.give(withSmallest.take(100));
    assert.equal(withSmallest.held, 0, 'below `smallest`, fresh memory that is never kept');
    withSmallest.give(withSmallest.take(600));
    assert.equal(withSmallest.held, 1);
  });
});
