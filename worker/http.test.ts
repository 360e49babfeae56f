/**
 * What the HTTP client adds to undici: certificate authorities of its own, a request given up
 * from outside, and the memory answers are read into (BufferPool). The client's behaviour as the
 * worker meets it is tested at the hub client: worker/hub-client.test.ts,
 * hub/lease-frame.test.ts, test/worker-proxy.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { BufferPool, HttpClient, HttpFailure } from './http.js';

describe('the hub HTTP client', () => {
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

  it('gives a request up when its signal aborts, and refuses a path or header that could split it', async () => {
    const server = createServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new HttpClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const stop = new AbortController();
      const pending = client.request({ method: 'GET', path: '/', signal: stop.signal });
      setTimeout(() => stop.abort(new Error('stopping')), 50);
      await assert.rejects(pending, /stopping/);
      await assert.rejects(client.request({ method: 'GET', path: '/a b' }), TypeError);
      await assert.rejects(client.request({ method: 'GET', path: '/', headers: { authorization: 'Bearer x\r\nx-evil: 1' } }), TypeError);
      await assert.rejects(client.request({ method: 'GET', path: '/', headers: { 'bad name': 'x' } }), TypeError);
    } finally {
      client.close();
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
