/**
 * Guards of the hub's HTTP server against clients that hoard it:
 *
 * - Body limits, per endpoint, checked on `Content-Length` before a byte of the body is read
 *   (413 BODY_TOO_LARGE, then the connection is closed); a chunked body is cut off with the same
 *   413 once it passes the limit (Fastify's parser does that).
 * - A headers timeout: a connection whose request head is not complete within it, counted from
 *   the connection or from the first byte of a request, gets 408 REQUEST_TIMEOUT and is closed.
 * - A minimum body rate, averaged over a window: a body still coming at the end of a window in
 *   which fewer than rate × window bytes of it came gets 408 BODY_TOO_SLOW and is closed. An
 *   honest upload over a slow home line (32 KiB/s is 256 kbit/s) gets through; a body trickled
 *   in to hold the connection does not.
 * - Caps on open connections, per client address and in total: one past either is closed at once
 *   (with a 429 TOO_MANY_CONNECTIONS when it can still be written). A connection is counted when
 *   it is accepted, before any header names a forwarded client, so the cap per address is on the
 *   direct peer; a trusted reverse proxy (the hub's `trustProxy`) carries many clients, so only
 *   the total holds for its connections. Every other per-address rule (rate limits, sign-in's
 *   bucket, a worker's network) uses the forwarded client address from a trusted proxy.
 *
 * Errors keep the protocol's shape `{ error: { code, message } }`, also those Node's HTTP parser
 * raises before Fastify sees a request (bad HTTP, headers too large, headers timeout).
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { errorBody, HubError } from './errors.js';

/**
 * Body limits (bytes) of the endpoints with small bodies or none. Each fits the largest honest
 * body of its schema (protocol/http.ts) with room to spare; results and jobs keep their own
 * (RESULT_BODY_LIMIT, JOB_BODY_LIMIT).
 */
export const BODY_LIMITS = {
  /** GET endpoints and `POST /v1/tasks/{id}/release` (the worker sends `{}`). */
  none: 1024,
  /** `{ address }`: 55 bytes. */
  challenge: 1024,
  /** `{ message, signature }`: a message of at most 4096 characters, a 132-character signature. */
  login: 16 * 1024,
  /** `{ appVersion, state, gpus, benchmark }`: 64 GPUs with long names come to about 10 kB. */
  heartbeat: 16 * 1024,
  /** `{ address }` or `{ address: null }`. */
  payoutAddress: 1024,
  /** `{ kinds }`: at most 16 names of at most 32 characters. */
  lease: 2 * 1024,
  /** `{ code }` or `{ signature }` (`POST /v1/fleet/join`); a command and its signature (`POST /v1/fleet/commands`): about 400 bytes. */
  fleet: 2 * 1024,
} as const;

/** A client gets this long to send a request's head (method, path, headers). */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/**
 * A whole request (head and body) must come within this: the largest body (80 MiB) at the
 * minimum rate takes 43 minutes.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60 * 60_000;
/** Bodies must come at 32 KiB/s at least (256 kbit/s, a slow home upload)… */
export const DEFAULT_MIN_BODY_BYTES_PER_SECOND = 32 * 1024;
/** …averaged over windows of 10 s, so that a stall of a few seconds is forgiven. */
export const DEFAULT_BODY_RATE_WINDOW_MS = 10_000;
/** Open connections from one address: room for many workers behind one NAT. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256;
/** Open connections in all. */
export const DEFAULT_MAX_CONNECTIONS = 4096;

export interface HttpGuards {
  headersTimeoutMs: number;
  /** 0: no limit on a whole request (the body rate still holds). */
  requestTimeoutMs: number;
  minBodyBytesPerSecond: number;
  bodyRateWindowMs: number;
  maxConnectionsPerAddress: number;
  maxConnections: number;
}

export const DEFAULT_HTTP_GUARDS: HttpGuards = {
  headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
  minBodyBytesPerSecond: DEFAULT_MIN_BODY_BYTES_PER_SECOND,
  bodyRateWindowMs: DEFAULT_BODY_RATE_WINDOW_MS,
  maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
};

export function checkHttpGuards(g: HttpGuards): void {
  for (const name of ['headersTimeoutMs', 'minBodyBytesPerSecond', 'bodyRateWindowMs'] as const) {
    if (!(Number.isFinite(g[name]) && g[name] > 0)) throw new RangeError(`httpGuards.${name} must be a positive number`);
  }
  for (const name of ['maxConnectionsPerAddress', 'maxConnections'] as const) {
    if (!(Number.isInteger(g[name]) && g[name] >= 1)) throw new RangeError(`httpGuards.${name} must be a whole number ≥ 1`);
  }
  if (!(Number.isFinite(g.requestTimeoutMs) && g.requestTimeoutMs >= 0)) throw new RangeError('httpGuards.requestTimeoutMs must be 0 or a positive number');
  if (g.requestTimeoutMs > 0 && g.requestTimeoutMs < g.headersTimeoutMs) throw new RangeError('httpGuards.requestTimeoutMs must not be shorter than headersTimeoutMs');
}

/** A whole HTTP/1.1 reply in the protocol's error shape, for sockets that have no reply object. */
function rawErrorReply(status: number, statusText: string, code: string, message: string, extra = ''): string {
  const body = JSON.stringify(errorBody(code, message));
  return `HTTP/1.1 ${status} ${statusText}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`;
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses (bad HTTP, a head too large, a
 * head or request that took too long) answered in the protocol's shape, then the socket closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let reply: string;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    reply = rawErrorReply(408, 'Request Timeout', 'REQUEST_TIMEOUT', 'the request took too long to arrive; send its headers at once and its body without stalling');
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    reply = rawErrorReply(431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'the request headers are larger than the hub accepts');
  } else {
    reply = rawErrorReply(400, 'Bad Request', 'BAD_REQUEST', 'the request is not valid HTTP/1.1');
  }
  // Nothing is written into a reply already under way.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) socket.end(reply);
  socket.destroySoon();
}

/**
 * Options for Fastify(): Node's own headers and request timeouts, checked often enough to hold
 * to them (Node looks every 30 s by default), and parser errors in the protocol's shape.
 */
export function fastifyServerOptions(g: HttpGuards): { http: ServerOptions; requestTimeout: number; clientErrorHandler: typeof clientErrorHandler } {
  return {
    http: {
      headersTimeout: g.headersTimeoutMs,
      requestTimeout: g.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(g.headersTimeoutMs / 4))),
    },
    // Fastify sets the server's requestTimeout from its own option (default 0) after creating it.
    requestTimeout: g.requestTimeoutMs,
    clientErrorHandler,
  };
}

/**
 * Refuses, before any of the body is read, a request whose Content-Length is past its endpoint's
 * limit, and closes the connection (the client may still be sending). Register it before the
 * routes' own hooks, so that an oversize body is refused before anything else is looked at.
 */
export function installBodyLimitCheck(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    const length = Number(req.headers['content-length']);
    const limit = req.routeOptions.bodyLimit;
    if (length > limit) {
      void reply.header('connection', 'close');
      throw new HubError(413, 'BODY_TOO_LARGE', `the request body is larger than this endpoint accepts (${limit} bytes at most)`);
    }
  });
}

const NAMED_RANGES: Record<string, [string, number][]> = {
  loopback: [['127.0.0.1', 8], ['::1', 128]],
  linklocal: [['169.254.0.0', 16], ['fe80::', 10]],
  uniquelocal: [['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['fc00::', 7]],
};

/** A plain address: an IPv4-mapped IPv6 address as its IPv4 (a dual-stack hub sees those). */
export function plainAddress(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** An IPv6 address's eight groups, `::` filled in, each in lower-case hex without leading zeros. */
export function expandIPv6(ip: string): string[] {
  const [head = '', tail = ''] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => (g.includes('.') ? g : Number.parseInt(g || '0', 16).toString(16)));
}

/**
 * What per-address limits count by: an IPv4 address, or an IPv6 address's /64, the block one
 * subscriber is given (counting by whole address would give each of them 2⁶⁴ sets of limits).
 */
export function limitKey(address: string): string {
  const a = plainAddress(address);
  return isIP(a) === 6 ? `${expandIPv6(a).slice(0, 4).join(':')}::/64` : a;
}

/**
 * The addresses of Fastify's `trustProxy` (a list, or a string of comma-separated entries):
 * addresses, CIDR ranges (`10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `fd00::/8`) and the names
 * `loopback`, `linklocal`, `uniquelocal`.
 */
export function trustedProxies(trustProxy: string | readonly string[] | undefined): BlockList {
  const list = new BlockList();
  const entries = trustProxy === undefined ? [] : typeof trustProxy === 'string' ? trustProxy.split(',') : trustProxy;
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const named = NAMED_RANGES[entry];
    if (named) {
      for (const [net, prefix] of named) list.addSubnet(net, prefix, isIP(net) === 6 ? 'ipv6' : 'ipv4');
      continue;
    }
    const [address = '', mask] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new RangeError(`trustProxy: ${entry} is not an address or a range`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (mask === undefined) {
      list.addAddress(address, type);
      continue;
    }
    let prefix = /^\d{1,3}$/.test(mask) ? Number(mask) : NaN;
    if (family === 4 && isIP(mask) === 4) {
      const bits = mask.split('.').reduce((n, part) => n * 256 + Number(part), 0);
      const ones = bits.toString(2).replace(/0+$/, '');
      prefix = bits === 0 ? 0 : /^1+$/.test(ones) && bits.toString(2).length === 32 ? ones.length : NaN;
    }
    if (!(prefix >= 0 && prefix <= (family === 6 ? 128 : 32))) throw new RangeError(`trustProxy: ${entry} has no valid prefix length`);
    list.addSubnet(address, prefix, type);
  }
  return list;
}

/**
 * Connection caps and the minimum body rate, on the HTTP server under Fastify. Connections from
 * `trusted` (reverse proxies) count towards the total only.
 */
export function installConnectionGuards(server: Server, g: HttpGuards, trusted: BlockList = new BlockList()): void {
  // Node closes a connection past the total before it reaches any listener.
  server.maxConnections = g.maxConnections;

  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const peer = plainAddress(socket.remoteAddress ?? '');
    if (isIP(peer) !== 0 && trusted.check(peer, isIP(peer) === 6 ? 'ipv6' : 'ipv4')) return;
    const address = limitKey(peer);
    const open = perAddress.get(address) ?? 0;
    if (open >= g.maxConnectionsPerAddress) {
      socket.end(rawErrorReply(429, 'Too Many Requests', 'TOO_MANY_CONNECTIONS', `too many open connections from your address (${g.maxConnectionsPerAddress} at most); reuse one or close some`, 'retry-after: 1\r\n'));
      socket.destroySoon();
      return;
    }
    perAddress.set(address, open + 1);
    socket.once('close', () => {
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n > 0) perAddress.set(address, n);
      else perAddress.delete(address);
    });
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => guardBodyRate(req, res, g));
}

/**
 * Times a request's body in windows of `bodyRateWindowMs`: at the end of each, a body still
 * coming must have brought `minBodyBytesPerSecond` × window bytes in it. A window in which nobody
 * reads the body (the hub not ready for it yet) is not held against the client.
 */
function guardBodyRate(req: IncomingMessage, res: ServerResponse, g: HttpGuards): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody || req.complete) return;
  const socket = req.socket;
  const minBytes = (g.minBodyBytesPerSecond * g.bodyRateWindowMs) / 1000;
  let seen = socket.bytesRead;
  let timer: NodeJS.Timeout | undefined;
  const stop = (): void => clearTimeout(timer);
  const check = (): void => {
    if (req.complete || socket.destroyed) return;
    const came = socket.bytesRead - seen;
    seen = socket.bytesRead;
    if (req.readableFlowing !== true || came >= minBytes) {
      timer = setTimeout(check, g.bodyRateWindowMs).unref();
      return;
    }
    cutOff(res, socket, g);
  };
  timer = setTimeout(check, g.bodyRateWindowMs).unref();
  // The request's own events only: a kept-alive socket carries many requests, and listeners on it
  // would pile up. A request closes when its socket does.
  req.once('end', stop);
  req.once('close', stop);
}

function cutOff(res: ServerResponse, socket: Socket, g: HttpGuards): void {
  const message = `the request body came slower than ${g.minBodyBytesPerSecond} bytes a second; send it without stalling`;
  if (!res.headersSent) {
    const body = JSON.stringify(errorBody('BODY_TOO_SLOW', message));
    res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  }
  // The reply (ours, or one already sent while the body kept coming) closes the connection; if
  // the client does not take it in, the connection goes anyway.
  setTimeout(() => socket.destroy(), 1000).unref();
  if (res.writableFinished) socket.destroySoon();
  else res.once('finish', () => socket.destroySoon());
}
