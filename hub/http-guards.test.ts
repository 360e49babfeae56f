/**
 * Hoarding and slow clients, against a real hub on 127.0.0.1 over raw sockets: body
 * limits checked before the body is read, a headers timeout, a minimum body rate, and caps on
 * open connections per address and in total.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Wallet } from 'ethers';
import { ErrorBodySchema, HeartbeatRequestSchema } from '../protocol/index.js';
import { BODY_LIMITS, trustedProxies } from './http-guards.js';
import { RESULT_BODY_LIMIT } from './routes/worker.js';
import { matmulJobBody, signIn, startTestHub, type TestHub } from './testkit.js';

interface Raw {
  socket: Socket;
  /** Resolves with everything the hub sent and when the socket closed (ms after it opened). */
  closed: Promise<{ text: string; afterMs: number }>;
  /** Resolves once a whole HTTP reply has come (or the socket closed). */
  reply(): Promise<{ status: number; text: string; atMs: number }>;
}

/** Every raw connection opened, so that a failed test leaves none holding the hub open. */
const opened = new Set<Socket>();
function dropAll(): void {
  for (const s of opened) s.destroy();
  opened.clear();
}

/** A raw connection to the hub, optionally from another loopback address (127.0.0.2, …). */
async function open(url: string, localAddress?: string): Promise<Raw> {
  const { port } = new URL(url);
  const socket = connect({ host: '127.0.0.1', port: Number(port), ...(localAddress ? { localAddress } : {}) });
  opened.add(socket);
  const t0 = Date.now();
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let waiter: (() => void) | null = null;
  socket.on('data', (d: Buffer) => {
    text += d.toString('latin1');
    waiter?.();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<{ text: string; afterMs: number }>((resolve) => socket.once('close', () => resolve({ text, afterMs: Date.now() - t0 })));
  void closed.then(() => waiter?.());
  const reply = async (): Promise<{ status: number; text: string; atMs: number }> => {
    for (;;) {
      const head = text.indexOf('\r\n\r\n');
      if (head !== -1) {
        const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head));
        if (!length || text.length >= head + 4 + Number(length[1])) {
          return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text, atMs: Date.now() - t0 };
        }
      }
      if (socket.destroyed) return { status: 0, text, atMs: Date.now() - t0 };
      await new Promise<void>((resolve) => (waiter = resolve));
    }
  };
  return { socket, closed, reply };
}

function errorCode(text: string): string {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return ErrorBodySchema.parse(JSON.parse(body)).error.code;
}

function head(method: string, path: string, headers: Record<string, string | number>): string {
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`${what}: nothing within ${ms} ms`)))]);

describe('body limits, checked before the body is read', () => {
  let t: TestHub;
  let token: string;
  let customerKey: string;
  before(async () => {
    t = await startTestHub();
    token = await signIn(t.hub.url, Wallet.createRandom());
    customerKey = await t.hub.createCustomer('acme');
  });
  after(async () => {
    dropAll();
    await t.close();
  });

  it('answers 413 at once to a 60 MiB Content-Length on sign-in, without waiting for the body', async () => {
    const c = await open(t.hub.url);
    c.socket.write(head('POST', '/v1/auth/challenge', { 'content-type': 'application/octet-stream', 'content-length': 62914560 }));
    const r = await within(c.reply(), 2000, 'a reply to the oversize challenge');
    assert.equal(r.status, 413);
    assert.equal(errorCode(r.text), 'BODY_TOO_LARGE');
    assert.match(r.text, /\r\nconnection: close\r\n/i);
    await within(c.closed, 2000, 'the connection closing');
  });

  it('reads a large result only from the task’s lease holder, and only up to what that task’s result can be', async () => {
    const r = await fetch(`${t.hub.url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${customerKey}`, 'content-type': 'application/json' }, body: JSON.stringify(matmulJobBody(8, 8, 8, 1).body) });
    assert.equal(r.status, 201);
    const leased = await fetch(`${t.hub.url}/v1/tasks/lease`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"kinds":["matmul"]}' });
    const { task } = (await leased.json()) as { task: { id: string } };
    const stranger = await signIn(t.hub.url, Wallet.createRandom());
    // A signed-in key with no lease: refused before its 60 MiB body is read.
    const a = await open(t.hub.url);
    a.socket.write(head('POST', `/v1/tasks/${task.id}/result`, { authorization: `Bearer ${stranger}`, 'content-type': 'application/octet-stream', 'content-length': 62914560 }));
    const ra = await within(a.reply(), 2000, 'a reply to a stranger’s 60 MiB result');
    assert.equal(ra.status, 403);
    assert.equal(errorCode(ra.text), 'NOT_YOUR_LEASE');
    // The holder, declaring more than an 8×8 result can be: 413 before reading it.
    const b = await open(t.hub.url);
    b.socket.write(head('POST', `/v1/tasks/${task.id}/result`, { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': 62914560 }));
    const rb = await within(b.reply(), 2000, 'a reply to an oversize result');
    assert.equal(rb.status, 413);
    assert.equal(errorCode(rb.text), 'BODY_TOO_LARGE');
    // The holder, sending a chunked body (no length to check first): cut off once it passes
    // what an 8×8 result can be, not read up to the route's 80 MiB.
    const c = await open(t.hub.url);
    c.socket.write(head('POST', `/v1/tasks/${task.id}/result`, { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }));
    const chunk = Buffer.alloc(4096, 0x61);
    let sent = 0;
    // Writing stops once the answer is in: bytes sent after the hub closed would make it reset
    // the connection, which can drop the answer before it is read.
    let answered = false;
    c.socket.once('data', () => (answered = true));
    for (let i = 0; i < 256 && !answered && !c.socket.destroyed && !c.socket.writableEnded; i++) {
      c.socket.write(`${chunk.length.toString(16)}\r\n`);
      c.socket.write(chunk);
      c.socket.write('\r\n');
      sent += chunk.length;
      await sleep(5);
    }
    if (!answered && !c.socket.destroyed && !c.socket.writableEnded) c.socket.write('0\r\n\r\n');
    const rc = await within(c.reply(), 2000, 'a reply to an oversize chunked result');
    assert.ok(sent < 256 * 4096, `cut off after ${sent} bytes, not read to the end`);
    // The hub answers 413 and closes; a chunk already on its way when it closed makes the
    // connection reset, which may drop the answer unread (status 0). Either way it stopped reading.
    if (rc.status !== 0) {
      assert.equal(rc.status, 413, `after ${sent} bytes sent`);
      assert.equal(errorCode(rc.text), 'BODY_TOO_LARGE');
    }
  });

  it('gives every endpoint its own small limit, whatever the content type', async () => {
    const routes: [string, string, number, string?][] = [
      ['POST', '/v1/auth/challenge', BODY_LIMITS.challenge],
      ['POST', '/v1/auth/login', BODY_LIMITS.login],
      ['POST', '/v1/workers/heartbeat', BODY_LIMITS.heartbeat, token],
      ['POST', '/v1/workers/payout-address', BODY_LIMITS.payoutAddress, token],
      ['POST', '/v1/tasks/lease', BODY_LIMITS.lease, token],
      ['POST', '/v1/tasks/t_1/release', BODY_LIMITS.none, token],
      ['POST', '/v1/tasks/t_1/result', RESULT_BODY_LIMIT, token],
      ['GET', '/v1/health', BODY_LIMITS.none],
      ['GET', '/v1/earnings', BODY_LIMITS.none, token],
      ['GET', '/v1/payouts/received', BODY_LIMITS.none, token],
      ['GET', '/v1/jobs/j_1', BODY_LIMITS.none, customerKey],
    ];
    for (const [method, path, limit, bearer] of routes) {
      for (const type of ['application/octet-stream', 'application/json']) {
        const c = await open(t.hub.url);
        c.socket.write(head(method, path, { 'content-type': type, 'content-length': limit + 1, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) }));
        const r = await within(c.reply(), 2000, `${method} ${path} (${type}) with ${limit + 1} bytes`);
        assert.equal(r.status, 413, `${method} ${path} (${type})`);
        assert.equal(errorCode(r.text), 'BODY_TOO_LARGE');
        c.socket.destroy();
      }
    }
    // The limits fit honest bodies: a heartbeat with 64 GPUs of long names, a sign-in message of the longest kind.
    const gpu = { vendor: 'NVIDIA Corporation', model: 'NVIDIA GeForce RTX 4090 Laptop GPU (SwiftShader fallback)', vramMiB: 16376, driver: '560.35.03 (Vulkan 1.3.289)', software: false };
    const heartbeat = HeartbeatRequestSchema.parse({ appVersion: '0.1.0-beta.12', state: 'working', gpus: Array.from({ length: 64 }, () => gpu), benchmark: { gflops: 12345.678, mhs: 9876.54 } });
    assert.ok(Buffer.byteLength(JSON.stringify(heartbeat)) <= BODY_LIMITS.heartbeat);
    assert.ok(Buffer.byteLength(JSON.stringify({ message: 'm'.repeat(4096), signature: `0x${'ab'.repeat(65)}` })) <= BODY_LIMITS.login);
    assert.ok(Buffer.byteLength(JSON.stringify({ kinds: Array.from({ length: 16 }, () => 'k'.repeat(32)) })) <= BODY_LIMITS.lease);
  });

  it('cuts a chunked body off with 413 once it passes the limit', async () => {
    const c = await open(t.hub.url);
    c.socket.write(head('POST', '/v1/auth/challenge', { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }));
    const chunk = Buffer.alloc(4096, 0x61);
    let sent = 0;
    for (let i = 0; i < 64 && !c.socket.destroyed && !c.socket.writableEnded; i++) {
      c.socket.write(`${chunk.length.toString(16)}\r\n`);
      c.socket.write(chunk);
      c.socket.write('\r\n');
      sent += chunk.length;
      await sleep(10);
      if (c.socket.destroyed) break;
    }
    if (!c.socket.destroyed) c.socket.write('0\r\n\r\n');
    const r = await within(c.reply(), 2000, 'a reply to the chunked body');
    assert.equal(r.status, 413, `after ${sent} bytes sent`);
    assert.equal(errorCode(r.text), 'BODY_TOO_LARGE');
    await within(c.closed, 2000, 'the connection closing');
  });
});

describe('slow clients', () => {
  it('closes bodies that trickle in under the minimum rate, while an honest upload gets through', async () => {
    const windowMs = 1000;
    const t = await startTestHub({ httpGuards: { bodyRateWindowMs: windowMs, minBodyBytesPerSecond: 32 * 1024 } });
    try {
      const key = await t.hub.createCustomer('acme');
      const slow = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const c = await open(t.hub.url);
          // Half of them on sign-in, half on the job endpoint with its 80 MiB limit.
          c.socket.write(
            i % 2 === 0
              ? head('POST', '/v1/auth/login', { 'content-type': 'application/json', 'content-length': 8000 })
              : head('POST', '/v1/jobs', { 'content-type': 'application/json', 'content-length': 1_000_000, authorization: `Bearer ${key}` }),
          );
          const drip = setInterval(() => {
            if (!c.socket.destroyed) c.socket.write('x'.repeat(100));
          }, 500);
          void c.closed.then(() => clearInterval(drip));
          return c;
        }),
      );
      // The honest customer: a 256³ matmul job (≈700 kB of JSON) at 160 KiB/s, five times the minimum, over several windows.
      const honest = (async () => {
        const c = await open(t.hub.url);
        const body = Buffer.from(JSON.stringify(matmulJobBody(256, 256, 256).body));
        c.socket.write(head('POST', '/v1/jobs', { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${key}` }));
        for (let at = 0; at < body.length; at += 16 * 1024) {
          c.socket.write(body.subarray(at, at + 16 * 1024));
          await sleep(100);
        }
        const r = await c.reply();
        c.socket.destroy();
        return { ...r, bytes: body.length };
      })();
      const ends = await within(Promise.all(slow.map((c) => c.closed)), 10_000, 'the slow clients closing');
      for (const e of ends) {
        assert.ok(e.afterMs <= windowMs + 1500, `a slow client stayed ${e.afterMs} ms`);
        if (e.text) {
          assert.match(e.text, /^HTTP\/1\.1 408 /);
          assert.equal(errorCode(e.text), 'BODY_TOO_SLOW');
        }
      }
      assert.ok(ends.filter((e) => e.text.startsWith('HTTP/1.1 408 ')).length >= 25, 'most saw the 408 before the close');
      const h = await honest;
      assert.equal(h.status, 201, h.text.slice(0, 300));
      assert.ok(h.atMs > 2 * windowMs, `the honest upload spanned several windows (${h.atMs} ms for ${h.bytes} bytes)`);
    } finally {
      dropAll();
      await t.close();
    }
  });

  it('leaves nothing behind per request on a connection kept alive', async () => {
    const t = await startTestHub();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const { hostname, port } = new URL(t.hub.url);
      for (let i = 0; i < 40; i++) {
        const status = await new Promise<number>((resolve, reject) => {
          const req = request({ agent, host: hostname, port, path: '/v1/auth/challenge', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(JSON.stringify({ address: `0x${'1'.repeat(40)}` }));
        });
        assert.equal(status, 200);
      }
      await sleep(10);
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
      agent.destroy();
      await t.close();
    }
  });

  it('closes a client that never finishes its headers, or never sends any, after the headers timeout', async () => {
    const t = await startTestHub({ httpGuards: { headersTimeoutMs: 500 } });
    try {
      const partial = await open(t.hub.url);
      partial.socket.write('POST /v1/auth/challenge HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: appl');
      const silent = await open(t.hub.url);
      // Each header line comes in time, but the whole never ends.
      const dribble = await open(t.hub.url);
      dribble.socket.write('GET /v1/health HTTP/1.1\r\n');
      const timer = setInterval(() => dribble.socket.writable && dribble.socket.write('x-pad: 1\r\n'), 100);
      try {
        for (const [name, c] of [['partial', partial], ['silent', silent], ['dribble', dribble]] as const) {
          const e = await within(c.closed, 3000, `the ${name} client closing`);
          assert.ok(e.afterMs >= 450 && e.afterMs <= 1500, `${name} closed after ${e.afterMs} ms`);
          assert.match(e.text, /^HTTP\/1\.1 408 /, name);
          assert.equal(errorCode(e.text), 'REQUEST_TIMEOUT');
        }
      } finally {
        clearInterval(timer);
      }
      // A client that sends its request in time is answered as ever.
      const ok = await fetch(`${t.hub.url}/v1/health`);
      assert.equal(ok.status, 200);
    } finally {
      dropAll();
      await t.close();
    }
  });

  it("answers what Node's HTTP parser refuses in the protocol's error shape", async () => {
    const t = await startTestHub();
    try {
      const garbage = await open(t.hub.url);
      garbage.socket.write('HELLO THERE\r\n\r\n');
      const g = await within(garbage.closed, 2000, 'the garbage connection closing');
      assert.match(g.text, /^HTTP\/1\.1 400 /);
      assert.equal(errorCode(g.text), 'BAD_REQUEST');
      const huge = await open(t.hub.url);
      huge.socket.write(head('GET', '/v1/health', { 'x-pad': 'x'.repeat(20_000) }));
      const h = await within(huge.closed, 2000, 'the oversize-headers connection closing');
      assert.match(h.text, /^HTTP\/1\.1 431 /);
      assert.equal(errorCode(h.text), 'HEADERS_TOO_LARGE');
    } finally {
      dropAll();
      await t.close();
    }
  });

  it('closes connections past the cap per address and in total at once, and serves the others', async () => {
    const t = await startTestHub({ httpGuards: { maxConnectionsPerAddress: 4, maxConnections: 7 } });
    const held: Raw[] = [];
    try {
      for (let i = 0; i < 4; i++) held.push(await open(t.hub.url, '127.0.0.2'));
      // The fifth from 127.0.0.2 is closed at once, and so are more.
      for (let i = 0; i < 3; i++) {
        const extra = await open(t.hub.url, '127.0.0.2');
        const e = await within(extra.closed, 1000, 'an excess connection closing');
        assert.ok(!e.text || /^HTTP\/1\.1 429 /.test(e.text), e.text);
      }
      // Those within the cap still work, on the same connections.
      for (const c of held) {
        c.socket.write(head('GET', '/v1/health', {}));
        assert.equal((await within(c.reply(), 2000, 'health on a held connection')).status, 200);
      }
      // Another address has a cap of its own…
      for (let i = 0; i < 3; i++) held.push(await open(t.hub.url, '127.0.0.3'));
      const last = held.at(-1)!;
      last.socket.write(head('GET', '/v1/health', {}));
      assert.equal((await within(last.reply(), 2000, 'health from 127.0.0.3')).status, 200);
      // …but the total is 7: an eighth, from anywhere, is closed at once.
      const eighth = await open(t.hub.url, '127.0.0.4');
      await within(eighth.closed, 1000, 'the connection past the total closing');
      // Once one goes, a new one is taken.
      held.shift()!.socket.destroy();
      await sleep(100);
      const again = await open(t.hub.url, '127.0.0.2');
      again.socket.write(head('GET', '/v1/health', {}));
      assert.equal((await within(again.reply(), 2000, 'health after a slot freed')).status, 200);
      held.push(again);
    } finally {
      dropAll();
      await t.close();
    }
  });

  it('holds a trusted reverse proxy to the total only', async () => {
    const t = await startTestHub({ trustProxy: '127.0.0.2', httpGuards: { maxConnectionsPerAddress: 2, maxConnections: 100 } });
    try {
      const viaProxy: Raw[] = [];
      for (let i = 0; i < 5; i++) viaProxy.push(await open(t.hub.url, '127.0.0.2'));
      for (const c of viaProxy) {
        c.socket.write(head('GET', '/v1/health', {}));
        assert.equal((await within(c.reply(), 2000, 'health through the proxy')).status, 200);
      }
      for (let i = 0; i < 2; i++) await open(t.hub.url, '127.0.0.3');
      const third = await open(t.hub.url, '127.0.0.3');
      await within(third.closed, 1000, 'the third connection from an untrusted address closing');
    } finally {
      dropAll();
      await t.close();
    }
  });

  it('reads trustProxy as Fastify does: addresses, ranges and names', () => {
    const b = trustedProxies('10.0.0.0/8, 192.168.1.7,fd00::/8 , loopback');
    assert.ok(b.check('10.20.30.40', 'ipv4'));
    assert.ok(b.check('192.168.1.7', 'ipv4'));
    assert.ok(!b.check('192.168.1.8', 'ipv4'));
    assert.ok(b.check('fd12::1', 'ipv6'));
    assert.ok(b.check('127.0.0.9', 'ipv4'));
    assert.ok(b.check('::1', 'ipv6'));
    assert.ok(!b.check('11.0.0.1', 'ipv4'));
    const masked = trustedProxies(['172.16.0.0/255.240.0.0']);
    assert.ok(masked.check('172.31.255.255', 'ipv4'));
    assert.ok(!masked.check('172.32.0.0', 'ipv4'));
    assert.ok(!trustedProxies(undefined).check('127.0.0.1', 'ipv4'));
    assert.throws(() => trustedProxies('proxy.example'), RangeError);
    assert.throws(() => trustedProxies('10.0.0.0/255.0.255.0'), RangeError);
    assert.throws(() => trustedProxies('10.0.0.0/33'), RangeError);
  });
});
