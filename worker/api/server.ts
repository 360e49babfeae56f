/**
 * The engine's API on 127.0.0.1, for the dashboard of the headless worker: POST /api/v1/<method>
 * with JSON, a WebSocket of events at /api/v1/events, the CSV at /api/v1/earnings.csv, and the
 * built dashboard at `/` under a strict CSP. Every API request carries a random token in the
 * `Authorization: Bearer` header. Only the two addresses a browser opens without a way to set
 * headers (the WebSocket and the CSV download link) may carry it as `token` in the query instead:
 * a token in a URL ends up in histories and logs, so every other method refuses one there. The
 * dashboard's static files need none (the page reads the token from its URL's fragment). The Host
 * header must be the loopback address, against DNS rebinding, and a WebSocket opened by a page
 * must come from the dashboard's own origin (see originOk).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable, type Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { DASHBOARD_CSP, EngineApiError, type EngineEvent } from '../../protocol/index.js';
import { NOT_BUILT_PAGE, type DashboardFiles } from './dashboard-files.js';

export interface ApiServerOptions {
  call: (method: string, params: unknown) => Promise<unknown>;
  /** The earnings CSV as chunks of text, streamed to the download as they come. */
  csv: () => { chunks: AsyncIterable<string>; filename: string };
  /** Subscribes to engine events; returns an unsubscribe function. */
  subscribe: (send: (e: EngineEvent) => void) => () => void;
  port?: number;
  /** The dashboard's files (loadDashboardFiles); without them `/` says how to build it. */
  files?: DashboardFiles | null;
}

export interface ApiServer {
  /** The dashboard's address, token included (in the fragment, so it never reaches logs). */
  url: string;
  origin: string;
  token: string;
  close(): Promise<void>;
}

/** The two addresses a browser opens itself, without a way to add a header: they take `?token=`. */
const EVENTS_PATH = '/api/v1/events';
const CSV_PATH = '/api/v1/earnings.csv';
const pathOf = (url: string | undefined): string => new URL(url ?? '/', 'http://x').pathname;

const STATUS: Record<string, number> = { UNKNOWN_METHOD: 404, INVALID_PARAMS: 400, INVALID_SETTINGS: 400 };

export async function startApiServer(o: ApiServerOptions): Promise<ApiServer> {
  const token = randomBytes(32).toString('hex');
  const tokenBytes = Buffer.from(token);
  const tokenOk = (given: string | undefined | null): boolean => {
    if (!given) return false;
    const b = Buffer.from(given);
    return b.length === tokenBytes.length && timingSafeEqual(b, tokenBytes);
  };
  let port = 0;
  const hostOk = (host: string | undefined): boolean => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  // Browsers always send Origin on a WebSocket handshake, so a page elsewhere (any site the user
  // visits can try ws://127.0.0.1:PORT) is refused by it. No Origin at all means a client that is
  // not a browser (the tests, scripts): it could write any Origin it liked, so refusing it would
  // protect nothing; the token still guards it.
  const originOk = (origin: string | undefined): boolean =>
    origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
  const headerToken = (req: { headers: IncomingMessage['headers'] }): string | null => {
    const auth = req.headers.authorization;
    return typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : null;
  };
  const queryToken = (url: string | undefined): string | null => new URL(url ?? '/', 'http://x').searchParams.get('token');

  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  const fail = (reply: FastifyReply, status: number, code: string, message: string): FastifyReply =>
    reply.code(status).send({ error: { code, message } });

  const files = o.files ?? null;
  const staticPath = (url: string): string | null => {
    const path = new URL(url, 'http://x').pathname;
    if (path === '/') return '/index.html';
    return files?.has(path) && path !== '/build-info.json' ? path : null;
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    void reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    if (!hostOk(req.headers.host)) return fail(reply, 403, 'BAD_HOST', 'this server answers only on 127.0.0.1');
    if (req.method === 'GET' && staticPath(req.url)) return;
    const inQuery = queryToken(req.url);
    if (inQuery !== null && !(req.method === 'GET' && pathOf(req.url) === CSV_PATH)) {
      return fail(reply, 401, 'TOKEN_IN_URL', 'send the token in the Authorization: Bearer header; only the event stream and the CSV download take it in the address');
    }
    if (!tokenOk(headerToken(req) ?? inQuery)) return fail(reply, 401, 'BAD_TOKEN', 'missing or wrong token: open the address the worker printed');
  });
  app.setErrorHandler((error, _req, reply) => {
    if (error instanceof EngineApiError) return fail(reply, STATUS[error.code] ?? 409, error.code, error.message);
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    if (fastifyError.statusCode && fastifyError.statusCode < 500) {
      return fail(reply, fastifyError.statusCode, 'BAD_REQUEST', fastifyError.message ?? 'bad request');
    }
    return fail(reply, 500, 'INTERNAL', 'the engine failed to answer; see its log');
  });
  app.setNotFoundHandler((_req, reply) => fail(reply, 404, 'NOT_FOUND', 'no such endpoint'));

  const serveStatic = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const path = staticPath(req.url);
    const file = path ? files?.get(path) : undefined;
    void reply.header('content-security-policy', DASHBOARD_CSP);
    if (!file) return reply.code(path === '/index.html' ? 200 : 404).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT_PAGE);
    return reply
      .type(file.type)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(file.body);
  };
  app.get('/', serveStatic);
  for (const path of files?.keys() ?? []) if (path !== '/build-info.json') app.get(path, serveStatic);
  app.post<{ Params: { method: string } }>('/api/v1/:method', async (req) => o.call(req.params.method, req.body ?? {}));
  app.get(CSV_PATH, async (_req, reply) => {
    const { chunks, filename } = o.csv();
    return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}"`).send(Readable.from(chunks));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  const sockets = new Set<WebSocket>();
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req.url) !== EVENTS_PATH || !hostOk(req.headers.host) || !originOk(req.headers.origin)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!tokenOk(headerToken(req) ?? queryToken(req.url))) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      const off = o.subscribe((e) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(e));
      });
      ws.on('close', () => {
        off();
        sockets.delete(ws);
      });
    });
  });

  await app.listen({ host: '127.0.0.1', port: o.port ?? 0 });
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/#token=${token}`,
    origin,
    token,
    async close() {
      for (const ws of sockets) ws.terminate();
      wss.close();
      await app.close();
    },
  };
}
