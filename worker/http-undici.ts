/**
 * The hub protocol's HTTP client on npm `undici` (the library under Node's fetch, used here
 * without fetch's WHATWG streams): keep-alive connections from its per-origin Pool, and HTTP
 * proxies through its EnvHttpProxyAgent, which honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY (or
 * their lower-case forms) as read when the client is made.
 */
import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { HttpFailure, type HttpAnswer, type HttpClientOptions, type HttpRequest } from './http.js';

/** Connections kept alive per origin (the worker has at most a lease and a submit in flight). */
const CONNECTIONS = 4;

export class UndiciHttpClient {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly ca: string | Buffer | undefined;
  private dispatcher: Dispatcher;

  constructor(origin: string, options: HttpClientOptions = {}) {
    const url = new URL(origin);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`not an http(s) URL: ${origin}`);
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
    this.ca = options.ca;
    this.dispatcher = this.makeDispatcher();
  }

  private makeDispatcher(): Dispatcher {
    const tls = this.ca !== undefined ? { ca: this.ca } : {};
    return new EnvHttpProxyAgent({
      connections: CONNECTIONS,
      // The hub's TLS: straight (connect), or through a proxy's tunnel (requestTls).
      connect: tls,
      requestTls: tls,
      // The whole request is timed below; these only stop undici's own, longer defaults.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async request(r: HttpRequest & { signal?: AbortSignal }): Promise<HttpAnswer> {
    // Nothing that could end a line or split a field gets into the request's head (a token that
    // came from a hub, say); undici refuses these too, but with its own errors.
    if (!/^\/\S*$/.test(r.path)) throw new TypeError(`not a request path: ${JSON.stringify(r.path)}`);
    for (const [name, value] of Object.entries(r.headers ?? {})) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n\0]/.test(value)) throw new TypeError(`not a header that can be sent: ${JSON.stringify(name)}`);
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new HttpFailure(`no answer within ${this.timeoutMs} ms`, 'ETIMEDOUT')), this.timeoutMs);
    const onAbort = (): void => abort.abort(r.signal!.reason);
    if (r.signal?.aborted) onAbort();
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
      const body = await this.readBody(res.body, headers['content-length'], r.into);
      return { status: res.statusCode, headers, body };
    } catch (error) {
      throw failure(error, abort.signal);
    } finally {
      clearTimeout(timer);
      r.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Reads a body whole: into the memory `into` gives when its length is announced. */
  private readBody(stream: Dispatcher.ResponseData['body'], announced: string | undefined, into: HttpRequest['into']): Promise<Buffer> {
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
        if (whole) {
          // undici has already checked the bytes against the announced length.
          chunk.copy(whole, length);
        } else if (length + chunk.length > max) {
          stream.destroy(new HttpFailure(`the answer is more than the ${max} bytes this client reads`, 'E2BIG'));
          return;
        } else {
          chunks.push(chunk);
        }
        length += chunk.length;
      });
      stream.on('error', reject);
      stream.on('end', () => resolve(whole ?? Buffer.concat(chunks, length)));
    });
  }

  /** Closes the kept-alive connections once the requests in flight finish; later requests open new ones. */
  close(): void {
    const old = this.dispatcher;
    this.dispatcher = this.makeDispatcher();
    void old.close();
  }
}

function refuse(stream: Dispatcher.ResponseData['body'], error: HttpFailure): Promise<never> {
  stream.destroy();
  return Promise.reject(error);
}

/** Any failure below as an HttpFailure, with the code that says what happened. */
function failure(error: unknown, signal: AbortSignal): unknown {
  if (error instanceof HttpFailure) return error;
  if (signal.aborted && signal.reason instanceof HttpFailure) return signal.reason;
  if (signal.aborted) return signal.reason;
  if (error instanceof TypeError) return error;
  const e = error as { message?: string; code?: string; cause?: { message?: string; code?: string } };
  const cause = e.cause && typeof e.cause === 'object' ? e.cause : null;
  return new HttpFailure(cause?.message ?? e.message ?? String(error), cause?.code ?? e.code ?? null);
}
