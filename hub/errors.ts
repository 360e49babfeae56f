/**
 * Every failure leaves the hub as `{ error: { code, message } }` (protocol ErrorBodySchema)
 * with plain-words messages. Handlers throw HubError; the handlers installed here turn it, and
 * Fastify's own errors (body too large, bad JSON, wrong content type), into that shape.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { ErrorBodySchema, type ErrorBody } from '../protocol/index.js';

export class HubError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds, sent as `Retry-After` (429, 503). */
    readonly retryAfterS?: number,
    /** More fields of the error object beside code and message (e.g. the amounts of a 402). */
    readonly details?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export const badRequest = (message: string, code = 'INVALID_BODY'): HubError => new HubError(400, code, message);
export const unauthorized = (message: string, code = 'UNAUTHORIZED'): HubError => new HubError(401, code, message);
export const forbidden = (message: string, code = 'FORBIDDEN'): HubError => new HubError(403, code, message);
export const notFound = (message: string, code = 'NOT_FOUND'): HubError => new HubError(404, code, message);
export const conflict = (message: string, code: string): HubError => new HubError(409, code, message);

/** `a.b[2].c` for a zod issue path; empty for the root. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Parses outside input with a protocol schema; a misfit is a 400 naming the first problem. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, code = 'INVALID_BODY', what = 'body'): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (!issue) throw badRequest(`the ${what} is not valid`, code);
  const path = formatPath(issue.path);
  throw badRequest(path ? `${path}: ${issue.message}` : `the ${what} is not valid: ${issue.message}`, code);
}

/**
 * Checks what the hub is about to send with its protocol schema. A misfit is the hub's own bug,
 * so it surfaces as a 500, never as the client's fault.
 */
export function checkOutput<S extends z.ZodType>(schema: S, value: z.input<S>): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Error(`hub response does not fit its schema at ${formatPath(issue?.path ?? [])}: ${issue?.message ?? 'unknown'}`);
}

export function errorBody(code: string, message: string, details?: Readonly<Record<string, string>>): ErrorBody {
  const body = ErrorBodySchema.parse({ error: { code, message } });
  // Extra fields go after the schema's check (which keeps only code and message) and never replace them.
  return details ? { error: { ...details, ...body.error } } : body;
}

const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE', message: 'the request body is larger than this endpoint accepts' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'INVALID_BODY', message: 'the body is empty but its content type says JSON' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'INVALID_JSON', message: 'the body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'INVALID_BODY', message: 'the body length does not match its Content-Length' },
};

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as Partial<FastifyError>).code === 'string';
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request, reply) => {
    if (err instanceof HubError) {
      if (err.retryAfterS !== undefined) void reply.header('retry-after', String(Math.ceil(err.retryAfterS)));
      return reply.code(err.status).send(errorBody(err.code, err.message, err.details));
    }
    if (isFastifyError(err)) {
      const known = FASTIFY_ERRORS[err.code];
      if (known) return reply.code(known.status).send(errorBody(known.code, known.message));
      // JSON syntax errors and other client errors Fastify raises itself.
      const status = err.statusCode ?? 500;
      if (status >= 400 && status < 500) {
        return reply.code(status).send(errorBody(status === 400 ? 'INVALID_BODY' : 'BAD_REQUEST', err.message || 'the request is not valid'));
      }
    }
    request.log.error({ err }, 'unexpected error');
    return reply.code(500).send(errorBody('INTERNAL', 'the hub hit an unexpected error; try again later'));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    return reply.code(404).send(errorBody('NOT_FOUND', `there is no endpoint ${request.method} ${path}`));
  });
}
