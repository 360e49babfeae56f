/**
 * The hub's structured log: JSON lines (pino, the logger Fastify is built around), one line per
 * HTTP request with its request id, and the operator's lines (payouts, background errors) as
 * `msg` of their own lines.
 *
 * A request's id is the client's `X-Request-Id` when that is short and safe (what a proxy such as
 * HAProxy's unique-id sets), else a fresh UUID; it is sent back in `X-Request-Id` and logged as
 * `reqId` on every line the request writes. Secrets never reach the log: Fastify's serializers
 * log a request's method, URL and address, not its headers or body, and whatever logs headers
 * anyway gets its credentials redacted.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type HubLogLevel = (typeof LOG_LEVELS)[number];

export interface HubLogOptions {
  /** Default `info`: one line per request. `warn` keeps errors and operator warnings only. */
  level?: HubLogLevel;
  /** Where each JSON line goes (with its trailing newline); default standard output. */
  write?: (line: string) => void;
}

export const REQUEST_ID_HEADER = 'x-request-id';
/** An incoming request id is kept only when it is this: no spaces, quotes or control characters. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Paths pino blanks out wherever they appear (in case something logs headers or a body). */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
  '*.authorization',
  '*.token',
  '*.apiKey',
  '*.signature',
  '*.treasuryKey',
  '*.privateKey',
];

export function isLogLevel(v: string): v is HubLogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

/** The hub's logger: JSON lines with an ISO time, credentials redacted. */
export function createHubLogger(opts: HubLogOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (!isLogLevel(level)) throw new RangeError(`the log level must be one of ${LOG_LEVELS.join(', ')}`);
  const write = opts.write;
  return pino(
    {
      level,
      base: { service: 'idleforge-hub', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    write ? { write } : pino.destination({ dest: 1, sync: true }),
  );
}

/** The request id of a request: its safe `X-Request-Id`, else a fresh UUID (Fastify's genReqId). */
export function requestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * One line per request, when it has been answered: the request (method, URL, address), its route
 * pattern, status and milliseconds; at `error` with the error when the answer failed. Fastify's
 * own two lines per request (incoming, completed) become this one.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const fields = { req, route: req.routeOptions.url ?? null, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) req.log.error({ ...fields, err: error }, 'request failed');
    else req.log.info(fields, 'request');
  }
}

/** Sends every request's id back in `X-Request-Id` (errors and 404s too: this hook goes first). */
export function installRequestIds(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    void reply.header(REQUEST_ID_HEADER, req.id);
  });
}

/** Fastify's options for the above: the logger (or none), request ids, one line per request. */
export function fastifyLogOptions(logger: Logger | null): { loggerInstance?: FastifyBaseLogger; genReqId: (req: IncomingMessage) => string; logController: LogController } {
  return { ...(logger ? { loggerInstance: logger } : {}), genReqId: requestId, logController: new OneLinePerRequest() };
}
