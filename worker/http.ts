/**
 * A lean HTTP/1.1 client for the hub protocol over node:http(s), with keep-alive.
 *
 * Why not fetch: undici's fetch streams a body through WHATWG streams and promises, then copies
 * the chunks together; per feeder task (2 MB leased, 1 MB submitted) that was about 4 ms of the
 * worker's CPU, on the core a software GPU computes on. Here a body whose length is announced is
 * copied once into a buffer of that size, a request body is written as it is, and a response
 * larger than `maxBodyBytes` is cut off with an error rather than held in memory.
 *
 * A request sent on a kept-alive socket that the server closed meanwhile fails with ECONNRESET
 * before any answer; the server never saw it, so it is sent once more on a fresh socket (what
 * Node's documentation advises, see `request.reusedSocket`).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
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

/** The request never got an answer: refused, reset, timed out, or the answer was cut off. */
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
}

export class HttpClient {
  private readonly origin: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;

  constructor(origin: string, options: HttpClientOptions = {}) {
    this.origin = new URL(origin);
    const secure = this.origin.protocol === 'https:';
    if (!secure && this.origin.protocol !== 'http:') throw new TypeError(`not an http(s) URL: ${origin}`);
    this.agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.send = secure ? httpsRequest : httpRequest;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  }

  async request(r: HttpRequest): Promise<HttpAnswer> {
    try {
      return await this.once(r);
    } catch (error) {
      if (error instanceof Retry) return this.once(r);
      throw error;
    }
  }

  /** Closes idle kept-alive sockets (those in use finish first). */
  close(): void {
    this.agent.destroy();
  }

  private once(r: HttpRequest): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
      const headers: Record<string, string | number> = { ...r.headers };
      if (body !== undefined) headers['content-length'] = body.byteLength;
      let answered = false;
      const req = this.send(
        {
          protocol: this.origin.protocol,
          hostname: this.origin.hostname,
          port: this.origin.port,
          method: r.method,
          path: `${this.origin.pathname.replace(/\/+$/, '')}${r.path}`,
          headers,
          agent: this.agent,
        },
        (res) => {
          answered = true;
          readBody(res, this.maxBodyBytes, r.into).then(
            (data) => {
              clearTimeout(timer);
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data });
            },
            (error: unknown) => {
              clearTimeout(timer);
              req.destroy();
              reject(error);
            },
          );
        },
      );
      const timer = setTimeout(() => req.destroy(new HttpFailure(`no answer within ${this.timeoutMs} ms`, 'ETIMEDOUT')), this.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (answered) return;
        if (req.reusedSocket && error.code === 'ECONNRESET') reject(new Retry());
        else reject(error instanceof HttpFailure ? error : new HttpFailure(error.message, error.code ?? null));
      });
      req.end(body);
    });
  }
}

/** Internal: the kept-alive socket was closed under the request; send it again. */
class Retry extends Error {}

/** The whole body: copied once into a buffer of the announced length, else gathered and joined. */
function readBody(res: IncomingMessage, max: number, into: ((length: number) => Buffer) | undefined): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const announced = Number(res.headers['content-length']);
    const sized = Number.isSafeInteger(announced) && announced >= 0;
    if (sized && announced > max) {
      res.destroy();
      reject(new HttpFailure(`the answer is ${announced} bytes, more than the ${max} this client reads`, 'E2BIG'));
      return;
    }
    const whole = sized ? (into?.(announced) ?? Buffer.allocUnsafe(announced)) : null;
    const chunks: Buffer[] = [];
    let length = 0;
    // The first failure is the one reported (destroying the answer also cuts it off).
    let failed = false;
    const fail = (error: HttpFailure): void => {
      if (failed) return;
      failed = true;
      reject(error);
      res.destroy();
    };
    res.on('data', (chunk: Buffer) => {
      if (failed) return;
      if (whole !== null) {
        if (length + chunk.length > whole.length) return fail(new HttpFailure('the answer is longer than its content-length', 'EPROTO'));
        chunk.copy(whole, length);
      } else {
        if (length + chunk.length > max) return fail(new HttpFailure(`the answer is more than the ${max} bytes this client reads`, 'E2BIG'));
        chunks.push(chunk);
      }
      length += chunk.length;
    });
    res.on('error', (error: Error) => fail(error instanceof HttpFailure ? error : new HttpFailure(error.message, null)));
    res.on('aborted', () => fail(new HttpFailure('the answer was cut off', 'ECONNRESET')));
    res.on('end', () => {
      if (failed) return;
      if (whole === null) resolve(Buffer.concat(chunks, length));
      else if (length === whole.length) resolve(whole);
      else reject(new HttpFailure(`the answer was cut off after ${length} of ${whole.length} bytes`, 'ECONNRESET'));
    });
  });
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
  ) {}

  /** A buffer of exactly `length` bytes (its contents are whatever was there). */
  take(length: number): Buffer {
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
