/**
 * The hub protocol's HTTP client, on npm `undici` (the library under Node's fetch, used here
 * through its Dispatcher `request`, without fetch's WHATWG streams): connections kept alive by its
 * per-origin Pool; bodies sent as they are (strings, bytes); an answer read whole, into memory the
 * caller gives when its length is announced (`into`, see BufferPool); an answer longer than
 * `maxBodyBytes` refused; the whole request, connect to last byte, timed; abortable.
 *
 * Proxies: a hub on another machine is reached through undici's EnvHttpProxyAgent, which honours
 * HTTPS_PROXY (https hubs), HTTP_PROXY (http hubs) and NO_PROXY (host names, `.suffix`, `*`; the
 * lower-case forms win), read when the client is made; CONNECT tunnels, the hub's TLS inside
 * them. A hub on this machine's loopback (localhost, 127.0.0.0/8, ::1) is always reached
 * directly: no proxy elsewhere could reach it.
 *
 * Retries: none here. undici closes an idle connection before the keep-alive timeout the server
 * announces (Node and fastify announce theirs; 4 s when none is), so a request rarely meets a
 * connection the hub has just closed; when it does, it fails as HubUnreachableError and the
 * engine tries again, as after any network failure (results are saved before they are sent).
 *
 * Why undici and not the hand-written HTTP/1.1 client over sockets that was here before (455
 * lines: its own parser, one read buffer per connection, no proxies): measured, the difference
 * does not show in the worker's whole slowdown.
 *
 * Measured 2026-12-07, Node 20.20, undici 7.30, on a 2-core VM shared with other builds (load
 * average 5–13 throughout), SwiftShader as the GPU; no real GPU was lent for this comparison.
 * Method: `idleforge bench hub --json --seconds 0.5 --warmup 0 --workers 8 --client
 * sockets|undici` (a switch that existed for this comparison only, in commit 1199ff3, where the
 * old client is too; undici went through EnvHttpProxyAgent with no proxy set there, where a
 * loopback hub now gets a Pool of its own): 58 counted feeder-size matmul tasks, worker engine
 * on core 0, hub child on core 1; 9 A/B pairs run alternately in ABBA order. Per pair, sockets vs
 * undici, the worker's whole slowdown against the same tasks run locally, then the worker's CPU
 * for the protocol alone per task (instant compute host; engine, store and client):
 *   1  +6.2% vs  +2.2%   2.21 vs 3.50 ms     6  +32.4% vs +70.0%   2.83 vs 5.95 ms
 *   2 +41.1% vs  +1.0%   2.34 vs 4.89 ms     7  +11.6% vs −10.2%   2.55 vs 3.67 ms
 *   3 +51.3% vs +26.6%   2.62 vs 3.28 ms     8  +95.0% vs +24.7%   1.79 vs 5.61 ms
 *   4 +16.2% vs +49.7%   3.12 vs 4.34 ms     9   +2.2% vs +36.8%   2.31 vs 3.91 ms
 *   5 +129.5% vs −4.6%   1.80 vs 4.01 ms
 * Medians: whole slowdown +32.4% (sockets) vs +24.7% (undici); protocol CPU 2.34 vs 4.01 ms
 * per task, +1.7 ms (undici higher in every pair, +0.7 to +3.8). The client alone (a loop of
 * lease 2 MiB into pooled memory + submit 1 MiB against a node:http server in another process,
 * 8 alternating rounds of 50): 0.66 vs 3.33 ms of CPU per lease+submit, mostly undici's fresh
 * buffer per socket read and the garbage collection it brings. So undici costs about 1.7 ms of
 * CPU per feeder task, about 2% of a task's ~80 ms of SwiftShader compute when the worker's core
 * is otherwise idle: far inside the whole slowdown's spread here (−10% to +130% between runs),
 * where it does not show (undici's median is the lower one). On a real GPU that CPU runs while
 * the GPU computes the task in hand (the engine leases ahead), so the GPU does not wait on it;
 * the GPU's idle share was 0.04–8.0% for either client here, noise alike.
 */
import { isIP } from 'node:net';
import { EnvHttpProxyAgent, Pool, type Dispatcher } from 'undici';

export interface HttpAnswer {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path and query, from the origin (after the client's URL's own path, if it has one). */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /**
   * Where an answer of the announced `length` is read into (a buffer of exactly that length),
   * instead of a fresh allocation; see BufferPool.
   */
  into?: (length: number) => Buffer;
  /** Gives up on the request: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The request never got a whole answer: refused, reset, timed out, cut off, or not HTTP. */
export class HttpFailure extends Error {
  constructor(message: string, readonly code: string | null) {
    super(message);
    this.name = 'HttpFailure';
  }
}

export interface HttpClientOptions {
  /** Whole request, connect to last byte; default 60 s. */
  timeoutMs?: number;
  /** Largest answer body read; default 64 MiB. */
  maxBodyBytes?: number;
  /** Certificate authorities trusted for https (PEM); default: Node's own list. */
  ca?: string | Buffer;
}

/** Connections kept per hub: more than the engine has requests in flight (a lease, a submit, a heartbeat). */
const CONNECTIONS = 4;

export class HttpClient {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly loopback: boolean;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly ca: string | Buffer | undefined;
  private dispatcher: Dispatcher;

  constructor(origin: string, options: HttpClientOptions = {}) {
    const url = new URL(origin);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`not an http(s) URL: ${origin}`);
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.loopback = isLoopback(url.hostname);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
    this.ca = options.ca;
    this.dispatcher = this.dispatcherFor();
  }

  private dispatcherFor(): Dispatcher {
    const tls = this.ca !== undefined ? { ca: this.ca } : {};
    // The whole request is timed in `request`; these stop only undici's own, longer timers.
    const common = { connections: CONNECTIONS, headersTimeout: 0, bodyTimeout: 0, connect: tls };
    if (this.loopback) return new Pool(this.origin, common);
    // The hub's TLS is `connect` straight, `requestTls` inside a proxy's tunnel.
    return new EnvHttpProxyAgent({ ...common, requestTls: tls });
  }

  async request(r: HttpRequest): Promise<HttpAnswer> {
    // Nothing that could end a line or split a field gets into the request's head (a token that
    // came from a hub, say); undici refuses these too, though with its own errors.
    if (!/^\/\S*$/.test(r.path)) throw new TypeError(`not a request path: ${JSON.stringify(r.path)}`);
    for (const [name, value] of Object.entries(r.headers ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) throw new TypeError(`not a header that can be sent: ${JSON.stringify(name)}`);
    }
    r.signal?.throwIfAborted();
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new HttpFailure(`no answer within ${this.timeoutMs} ms`, 'ETIMEDOUT')), this.timeoutMs);
    const onAbort = (): void => abort.abort(r.signal?.reason);
    r.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await this.dispatcher.request({
        origin: this.origin,
        path: this.prefix + r.path,
        method: r.method,
        headers: r.headers ?? {},
        body: r.body ?? null,
        signal: abort.signal,
      });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const body = await this.read(res.body, headers['content-length'], r.into);
      return { status: res.statusCode, headers, body };
    } catch (error) {
      throw abort.signal.aborted ? abort.signal.reason : failure(error);
    } finally {
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Reads a body whole: into the memory `into` gives when its length is announced. */
  private read(stream: Dispatcher.ResponseData['body'], announced: string | undefined, into: HttpRequest['into']): Promise<Buffer> {
    const max = this.maxBodyBytes;
    let whole: Buffer | null = null;
    if (announced !== undefined) {
      const length = Number(announced);
      if (!Number.isSafeInteger(length) || length < 0) return refuse(stream, new HttpFailure(`a bad content-length: ${announced}`, 'EPROTO'));
      if (length > max) return refuse(stream, new HttpFailure(`the answer is ${length} bytes, more than the ${max} this client reads`, 'E2BIG'));
      whole = into?.(length) ?? Buffer.allocUnsafe(length);
    }
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let length = 0;
      stream.on('data', (chunk: Buffer) => {
        if (length + chunk.length > (whole ? whole.length : max)) {
          stream.destroy(whole ? new HttpFailure('the answer is longer than its content-length', 'EPROTO') : new HttpFailure(`the answer is more than the ${max} bytes this client reads`, 'E2BIG'));
          return;
        }
        if (whole) chunk.copy(whole, length);
        else chunks.push(chunk);
        length += chunk.length;
      });
      stream.on('error', reject);
      // undici has checked the length against the announced one.
      stream.on('end', () => resolve(whole ?? Buffer.concat(chunks, length)));
    });
  }

  /** Closes the kept-alive connections once the requests in flight finish; later requests open new ones. */
  close(): void {
    const old = this.dispatcher;
    this.dispatcher = this.dispatcherFor();
    void old.close();
  }
}

function refuse(stream: Dispatcher.ResponseData['body'], error: HttpFailure): Promise<never> {
  stream.destroy();
  return Promise.reject(error);
}

/** localhost (and names under it), 127.0.0.0/8 and ::1. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** undici's errors as HttpFailure: the innermost message and code (a refused connect, say). */
function failure(error: unknown): unknown {
  if (error instanceof HttpFailure || error instanceof TypeError) return error;
  const e = error as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const cause = e.cause !== null && typeof e.cause === 'object' ? e.cause : null;
  const code = cause?.code ?? e.code ?? null;
  // A connection closed in the middle of an answer.
  const message = code === 'UND_ERR_SOCKET' ? `the connection closed before the whole answer came (${e.message ?? ''})` : (cause?.message ?? e.message ?? String(error));
  return new HttpFailure(message, code);
}

/**
 * Large buffers kept for reuse. A fresh megabyte buffer is new memory, and every page of it
 * faults on first touch: measured here, a 2 MB lease read into a fresh buffer cost 7.1 ms of
 * CPU (about 260 page faults) against 1.5 ms into a reused one. Buffers are handed out in
 * whole granules and at most `max` are kept; one never given back is simply collected.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  /** The memory this pool allocated: nothing else is ever taken in. */
  private readonly ours = new WeakSet<ArrayBufferLike>();

  constructor(
    private readonly max = 4,
    private readonly granule = 256 * 1024,
    private readonly smallest = 0,
  ) {}

  /**
   * A buffer of exactly `length` bytes (its contents are whatever was there). Below `smallest`
   * bytes, fresh memory from Node's own small-buffer pool, never kept here.
   */
  take(length: number): Buffer {
    if (length < this.smallest) return Buffer.allocUnsafe(length);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const size = this.free[i]!.length;
      if (size >= length && (best < 0 || size < this.free[best]!.length)) best = i;
    }
    let whole: Buffer;
    if (best >= 0) {
      whole = this.free.splice(best, 1)[0]!;
    } else {
      whole = Buffer.allocUnsafeSlow(Math.max(this.granule, Math.ceil(length / this.granule) * this.granule));
      this.ours.add(whole.buffer);
    }
    return whole.subarray(0, length);
  }

  /** Gives back a buffer from `take` (anything else is ignored); nothing may use it afterwards. */
  give(buffer: Uint8Array): void {
    const memory = buffer.buffer;
    if (!this.ours.has(memory) || this.free.some((b) => b.buffer === memory)) return;
    this.free.push(Buffer.from(memory, 0, memory.byteLength));
    if (this.free.length > this.max) {
      this.free.sort((x, y) => y.length - x.length);
      this.free.length = this.max;
    }
  }

  /** Buffers held for reuse. */
  get held(): number {
    return this.free.length;
  }
}
