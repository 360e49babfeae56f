/**
 * A lean HTTP/1.1 client for the hub protocol, with keep-alive, over plain sockets (node:net, or
 * node:tls for https).
 *
 * Why not fetch or node:http: per feeder task a worker receives about 2 MB (the task frame) and
 * sends 1 MB (C). undici's fetch passes the body through WHATWG streams and promises and copies
 * the chunks together; node:http allocates a fresh buffer for every socket read and copies every
 * body chunk once more into another fresh buffer, and fresh memory faults on first touch. On this
 * machine that was about 7 ms of the worker's CPU per task with fetch and 5 ms with node:http, on
 * the core a software GPU computes on. Here each connection reads into one buffer of its own,
 * reused for its life (`onread`), and the bytes of a body whose length is announced are copied
 * once, straight into the buffer it will be used from (`into`, see BufferPool). A request body is
 * written as it is. An answer larger than `maxBodyBytes` is refused rather than held in memory.
 *
 * What it speaks: HTTP/1.1 requests with a content-length; answers framed by content-length,
 * chunked transfer-coding, or the end of the connection; informational (1xx) answers skipped;
 * connections kept alive unless either side says `connection: close`. A request sent on a
 * kept-alive connection that the server closed meanwhile fails before any byte of an answer; the
 * server never read it, so it is sent once more on a fresh connection (as node:http's
 * documentation advises, see `request.reusedSocket`).
 */
import { isIP, connect as netConnect, type OnReadOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface HttpAnswer {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path and query, from the origin. */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /**
   * Where an answer of the announced `length` is read into (a buffer of exactly that length),
   * instead of a fresh allocation; see BufferPool.
   */
  into?: (length: number) => Buffer;
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

/** Bytes one socket read may bring (the connection's own buffer). */
const READ_BUFFER_BYTES = 256 * 1024;
/** Largest status line and headers read. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Idle connections kept for reuse. */
const MAX_IDLE = 4;

export class HttpClient {
  private readonly origin: URL;
  private readonly secure: boolean;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly idle: Connection[] = [];
  private readonly ca: string | Buffer | undefined;

  constructor(origin: string, options: HttpClientOptions = {}) {
    this.origin = new URL(origin);
    this.secure = this.origin.protocol === 'https:';
    if (!this.secure && this.origin.protocol !== 'http:') throw new TypeError(`not an http(s) URL: ${origin}`);
    this.port = this.origin.port === '' ? (this.secure ? 443 : 80) : Number(this.origin.port);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
    this.ca = options.ca;
  }

  async request(r: HttpRequest): Promise<HttpAnswer> {
    // Nothing that could end a line or split a field gets into the request's head (a token that
    // came from a hub, say).
    if (!/^\/\S*$/.test(r.path)) throw new TypeError(`not a request path: ${JSON.stringify(r.path)}`);
    for (const [name, value] of Object.entries(r.headers ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) throw new TypeError(`not a header that can be sent: ${JSON.stringify(name)}`);
    }
    const reused = this.idle.pop();
    if (!reused) return this.exchange(this.open(), r);
    try {
      return await this.exchange(reused, r);
    } catch (error) {
      if (error instanceof Stale) return this.exchange(this.open(), r);
      throw error;
    }
  }

  /** Closes idle connections; later requests open new ones. */
  close(): void {
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }

  private open(): Connection {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const connection = new Connection();
    const onread = { buffer, callback: (n: number, buf: Uint8Array) => connection.onData(buf as Buffer, n) };
    const host = this.origin.hostname.replace(/^\[|\]$/g, '');
    // node:tls takes `onread` as node:net does (since Node 15), though its types do not say so.
    const tlsOptions: ConnectionOptions & { onread: OnReadOpts } = {
      host,
      port: this.port,
      // SNI takes names only (RFC 6066); an address is still checked against the certificate.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(this.ca !== undefined ? { ca: this.ca } : {}),
      ALPNProtocols: ['http/1.1'],
      onread,
    };
    connection.socket = this.secure ? tlsConnect(tlsOptions) : netConnect({ host, port: this.port, noDelay: true, onread });
    connection.socket.on('error', (error: NodeJS.ErrnoException) => connection.onEnd(error));
    connection.socket.on('close', () => {
      const i = this.idle.indexOf(connection);
      if (i >= 0) this.idle.splice(i, 1);
      connection.onEnd(null);
    });
    return connection;
  }

  private exchange(c: Connection, r: HttpRequest): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
      const lines = [`${r.method} ${this.origin.pathname.replace(/\/+$/, '')}${r.path} HTTP/1.1`, `host: ${this.origin.host}`];
      for (const [name, value] of Object.entries(r.headers ?? {})) lines.push(`${name}: ${value}`);
      lines.push(`content-length: ${body?.byteLength ?? 0}`, '', '');
      const timer = setTimeout(() => {
        c.fail(new HttpFailure(`no answer within ${this.timeoutMs} ms`, 'ETIMEDOUT'));
      }, this.timeoutMs);
      c.begin({
        into: r.into,
        max: this.maxBodyBytes,
        done: (answer, reusable) => {
          clearTimeout(timer);
          // Reused only once the whole request went out (a server may answer before reading it all).
          if (reusable && c.socket.writableLength === 0 && this.idle.length < MAX_IDLE) {
            // An idle connection does not keep the process alive.
            c.socket.unref();
            this.idle.push(c);
          } else {
            c.socket.destroy();
          }
          resolve(answer);
        },
        failed: (error) => {
          clearTimeout(timer);
          c.socket.destroy();
          reject(error);
        },
      });
      const socket = c.socket;
      socket.ref();
      socket.cork();
      socket.write(lines.join('\r\n'), 'latin1');
      if (body !== undefined && body.byteLength > 0) socket.write(body);
      socket.uncork();
    });
  }
}

/** Internal: a kept-alive connection closed before any answer came; the request goes again. */
class Stale extends Error {}

interface Exchange {
  into: ((length: number) => Buffer) | undefined;
  max: number;
  done(answer: HttpAnswer, reusable: boolean): void;
  failed(error: Error): void;
}

type Framing = { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'none' };

/** One socket, one exchange at a time: writes nothing itself, parses what arrives. */
class Connection {
  socket!: Socket;
  private current: Exchange | null = null;
  private used = 0;
  /** Bytes of the answer so far: the head (until parsed), then the body. */
  private headBytes: Buffer[] = [];
  private headLength = 0;
  private status = 0;
  private headers: Record<string, string> = {};
  private framing: Framing = { kind: 'none' };
  private keepAlive = true;
  private whole: Buffer | null = null;
  private chunks: Buffer[] = [];
  private length = 0;
  private gotAny = false;
  /** Chunked coding: bytes left of the chunk being read, and what was read of a size line. */
  private chunkLeft = 0;
  private chunkLine = '';
  private chunkState: 'size' | 'data' | 'data-end' | 'trailer' = 'size';

  begin(x: Exchange): void {
    this.current = x;
    this.used += 1;
    this.headBytes = [];
    this.headLength = 0;
    this.status = 0;
    this.headers = {};
    this.whole = null;
    this.chunks = [];
    this.length = 0;
    this.gotAny = false;
    this.chunkState = 'size';
    this.chunkLine = '';
  }

  fail(error: Error): void {
    const x = this.current;
    this.current = null;
    x?.failed(error);
  }

  onEnd(error: NodeJS.ErrnoException | null): void {
    const x = this.current;
    if (!x) return;
    if (!this.gotAny && this.used > 1) return this.fail(new Stale());
    if (this.status !== 0 && this.framing.kind === 'close' && error === null) return this.finish(false);
    if (error && !this.gotAny) return this.fail(new HttpFailure(error.message, error.code ?? null));
    this.fail(new HttpFailure(this.status === 0 ? 'the connection closed before an answer came' : 'the answer was cut off', error?.code ?? 'ECONNRESET'));
  }

  onData(buf: Buffer, n: number): boolean {
    if (!this.current) {
      // Bytes nobody asked for: the connection is not fit for reuse.
      this.socket.destroy();
      return false;
    }
    this.gotAny = true;
    let at = 0;
    while (at < n && this.current) {
      if (this.status === 0) at = this.readHead(buf, at, n);
      else at = this.readBody(buf, at, n);
    }
    return true;
  }

  /** Gathers head bytes; once the head is whole, parses it and returns where the body starts. */
  private readHead(buf: Buffer, at: number, n: number): number {
    // Usually the whole head is in this read: it is parsed in place, and the body bytes after it
    // are never copied here. A head split across reads is gathered (copied: the buffer is reused).
    const view = buf.subarray(at, n);
    const before = this.headLength;
    const all = before === 0 ? view : Buffer.concat([...this.headBytes, view]);
    const end = all.indexOf('\r\n\r\n');
    if ((end < 0 ? all.length : end) > MAX_HEAD_BYTES) {
      this.fail(new HttpFailure(`the answer’s headers are longer than ${MAX_HEAD_BYTES} bytes`, 'EPROTO'));
      return n;
    }
    if (end < 0) {
      this.headBytes.push(Buffer.from(view));
      this.headLength += view.length;
      return n;
    }
    this.headBytes = [];
    this.headLength = 0;
    const bodyStart = at + end + 4 - before;
    const lines = all.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
    if (!m) {
      this.fail(new HttpFailure(`not an HTTP/1.x answer: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`, 'EPROTO'));
      return n;
    }
    const status = Number(m[2]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    if (status >= 100 && status < 200) return bodyStart; // informational: the real answer follows
    this.status = status;
    this.headers = headers;
    const connection = (headers.connection ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? !/\bclose\b/.test(connection) : /\bkeep-alive\b/.test(connection);
    const x = this.current!;
    if (status === 204 || status === 304) {
      this.framing = { kind: 'none' };
    } else if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
      this.framing = { kind: 'chunked' };
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (!Number.isSafeInteger(length) || length < 0) {
        this.fail(new HttpFailure(`a bad content-length: ${headers['content-length']}`, 'EPROTO'));
        return n;
      }
      if (length > x.max) {
        this.fail(new HttpFailure(`the answer is ${length} bytes, more than the ${x.max} this client reads`, 'E2BIG'));
        return n;
      }
      this.framing = { kind: 'length', left: length };
      this.whole = x.into?.(length) ?? Buffer.allocUnsafe(length);
    } else {
      this.framing = { kind: 'close' };
      this.keepAlive = false;
    }
    if (this.framing.kind === 'none' || (this.framing.kind === 'length' && this.framing.left === 0)) this.finish(this.keepAlive);
    return bodyStart;
  }

  private readBody(buf: Buffer, at: number, n: number): number {
    const f = this.framing;
    if (f.kind === 'length') {
      const take = Math.min(f.left, n - at);
      buf.copy(this.whole!, this.length, at, at + take);
      this.length += take;
      f.left -= take;
      if (f.left === 0) {
        if (at + take < n) this.fail(new HttpFailure('the answer is longer than its content-length', 'EPROTO'));
        else this.finish(this.keepAlive);
      }
      return at + take;
    }
    if (f.kind === 'close') {
      this.keep(buf, at, n);
      return n;
    }
    if (f.kind === 'chunked') return this.readChunked(buf, at, n);
    this.fail(new HttpFailure('bytes after an answer that has no body', 'EPROTO'));
    return n;
  }

  private readChunked(buf: Buffer, at: number, n: number): number {
    while (at < n && this.current) {
      if (this.chunkState === 'data') {
        const take = Math.min(this.chunkLeft, n - at);
        if (!this.keep(buf, at, at + take)) return n;
        at += take;
        this.chunkLeft -= take;
        if (this.chunkLeft === 0) this.chunkState = 'data-end';
        continue;
      }
      const eol = buf.indexOf(10, at);
      const stop = eol < 0 || eol >= n ? n : eol + 1;
      this.chunkLine += buf.toString('latin1', at, stop);
      at = stop;
      if (!this.chunkLine.endsWith('\n')) {
        if (this.chunkLine.length > 1024) this.fail(new HttpFailure('a chunk line is too long', 'EPROTO'));
        continue;
      }
      const line = this.chunkLine.trim();
      this.chunkLine = '';
      if (this.chunkState === 'data-end') {
        this.chunkState = 'size';
      } else if (this.chunkState === 'size') {
        const size = parseInt(line.split(';')[0] ?? '', 16);
        if (!Number.isSafeInteger(size) || size < 0 || !/^[0-9a-f]/i.test(line)) {
          this.fail(new HttpFailure(`a bad chunk size: ${JSON.stringify(line.slice(0, 20))}`, 'EPROTO'));
          return n;
        }
        if (size === 0) this.chunkState = 'trailer';
        else {
          this.chunkLeft = size;
          this.chunkState = 'data';
        }
      } else if (line === '') {
        // The empty line after the trailers: the answer is whole.
        if (at < n) this.fail(new HttpFailure('bytes after the end of a chunked answer', 'EPROTO'));
        else this.finish(this.keepAlive);
      }
    }
    return n;
  }

  /** Keeps body bytes of unannounced length (copied: the read buffer is reused). */
  private keep(buf: Buffer, from: number, to: number): boolean {
    const x = this.current!;
    if (this.length + (to - from) > x.max) {
      this.fail(new HttpFailure(`the answer is more than the ${x.max} bytes this client reads`, 'E2BIG'));
      return false;
    }
    this.chunks.push(Buffer.from(buf.subarray(from, to)));
    this.length += to - from;
    return true;
  }

  private finish(reusable: boolean): void {
    const x = this.current!;
    this.current = null;
    const body = this.whole ?? Buffer.concat(this.chunks, this.length);
    x.done({ status: this.status, headers: this.headers, body }, reusable);
  }
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
