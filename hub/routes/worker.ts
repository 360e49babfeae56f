/** Endpoints for signed-in workers (Authorization: Bearer <session token>). */
import { Readable, Transform } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdSchema, NO_WORK_HEADER, TASK_FRAME_TYPE } from '../../protocol/index.js';
import { requireSession, requireWorker } from '../auth.js';
import type { HubContext } from '../context.js';
import { HubError, notFound } from '../errors.js';
import { suspendedError } from '../standing.js';
import { BODY_LIMITS } from '../http-guards.js';
import { commands, fleet, joinFleet, pairingCode, sendCommand } from '../fleet.js';
import { earnings, heartbeat, leaseAnswer, leaseTask, payouts, receivedPayouts, releaseLease, resultBodyLimit, setPayoutAddress, submitResult } from '../worker-requests.js';

/** Largest result body: a 64 MiB C slice as base64 plus JSON. */
export const RESULT_BODY_LIMIT = 64 * 1024 * 1024;

const TaskParamsSchema = z.object({ id: IdSchema });
/** The routes a worker that was cut off may no longer use. */
const WORKING_ROUTES: ReadonlySet<string> = new Set(['/v1/tasks/lease', '/v1/tasks/:id/result']);
/** Result bodies above this size (or of unknown size) are checked against the lease before they are read. */
const PRECHECK_ABOVE_BYTES = 64 * 1024;

/** Whether an Accept header takes the binary task frame (listed, and not with q=0). */
export function acceptsTaskFrame(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    return type === TASK_FRAME_TYPE && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

export function registerWorkerRoutes(app: FastifyInstance, ctx: HubContext): void {
  // The token (and the worker's rate limit) is checked in onRequest, before Fastify reads
  // (possibly large) bodies.
  const signedIn = new WeakMap<FastifyRequest, string>();
  const onRequest = async (req: FastifyRequest): Promise<void> => {
    const { address, suspension } = await requireSession(ctx, req.headers.authorization);
    const d = ctx.limiter.take(`worker:${address}`, req.routeOptions.url ?? req.url, ctx.now());
    if (!d.ok) throw new HubError(429, 'RATE_LIMITED', 'too many requests from this worker; wait a little and try again', d.retryAfterS);
    // A worker that was cut off may still read its ledger and payouts, but leases and submits nothing.
    if (suspension && WORKING_ROUTES.has(req.routeOptions.url ?? '')) throw suspendedError(suspension);
    signedIn.set(req, address);
  };
  const worker = async (req: FastifyRequest): Promise<string> => signedIn.get(req) ?? (await requireWorker(ctx, req.headers.authorization));

  app.post('/v1/workers/heartbeat', { onRequest, bodyLimit: BODY_LIMITS.heartbeat }, async (req) => heartbeat(ctx, await worker(req), req.body));
  app.post('/v1/workers/payout-address', { onRequest, bodyLimit: BODY_LIMITS.payoutAddress }, async (req) => setPayoutAddress(ctx, await worker(req), req.body));

  app.post('/v1/tasks/lease', { onRequest, bodyLimit: BODY_LIMITS.lease }, async (req, reply) => {
    const leased = await leaseTask(ctx, await worker(req), req.body);
    if (!('task' in leased)) {
      // No work for this worker now; when a limit is why, say so (docs/PROTOCOL.md).
      if (leased.reason) reply.header(NO_WORK_HEADER, leased.reason);
      return reply.code(204).send();
    }
    if (!acceptsTaskFrame(req.headers.accept)) return leaseAnswer(leased, 'json');
    // The frame's parts are written as they are (the matrices are views of the cache), no copy.
    const parts = leaseAnswer(leased, 'frame');
    const length = parts.reduce((n, p) => n + p.byteLength, 0);
    return reply.type(TASK_FRAME_TYPE).header('content-length', length).send(Readable.from(parts, { objectMode: false }));
  });

  // A matmul or render result may come as its raw f32 bytes (application/octet-stream, the form
  // the customer reads C or the picture in): parsed here into a Buffer, checked by the judge. The parser keeps the
  // hub's default limit: a route without a bodyLimit of its own falls back to it.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // A large or chunked body is read only from the task's lease holder, and only up to what a
  // result of that task can be (small bodies cost less to read than to check first).
  // A chunked body declares no length: it is cut off once it passes the task's limit.
  const chunkedLimits = new WeakMap<FastifyRequest, number>();
  const tooLarge = (limit: number): HubError => new HubError(413, 'BODY_TOO_LARGE', `a result for this task is at most ${limit} bytes`);
  const resultFits = async (req: FastifyRequest): Promise<void> => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) <= PRECHECK_ABOVE_BYTES) return;
    const params = TaskParamsSchema.safeParse(req.params);
    if (!params.success) throw notFound('there is no task with that id', 'TASK_NOT_FOUND');
    const limit = await resultBodyLimit(ctx, await worker(req), params.data.id);
    if (declared === undefined) chunkedLimits.set(req, limit);
    else if (Number(declared) > limit) throw tooLarge(limit);
  };
  const cutAtLimit = async (req: FastifyRequest, _reply: unknown, payload: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream> => {
    const limit = chunkedLimits.get(req);
    if (limit === undefined) return payload;
    let seen = 0;
    return payload.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, next) {
          seen += chunk.length;
          next(seen > limit ? tooLarge(limit) : null, chunk);
        },
      }),
    );
  };
  app.post('/v1/tasks/:id/result', { onRequest: [onRequest, resultFits], preParsing: cutAtLimit, bodyLimit: RESULT_BODY_LIMIT }, async (req) => {
    const params = TaskParamsSchema.safeParse(req.params);
    if (!params.success) throw notFound('there is no task with that id', 'TASK_NOT_FOUND');
    return submitResult(ctx, await worker(req), params.data.id, req.body);
  });

  app.post('/v1/tasks/:id/release', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => {
    const params = TaskParamsSchema.safeParse(req.params);
    if (!params.success) throw notFound('there is no task with that id', 'TASK_NOT_FOUND');
    return releaseLease(ctx, await worker(req), params.data.id);
  });

  app.get('/v1/earnings', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => earnings(ctx, await worker(req), req.query));

  // Rigs together (hub/fleet.ts): a suspended worker may still see and steer its own rigs.
  app.get('/v1/fleet', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => fleet(ctx, await worker(req)));
  app.post('/v1/fleet/pairing-codes', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => pairingCode(ctx, await worker(req)));
  app.post('/v1/fleet/join', { onRequest, bodyLimit: BODY_LIMITS.fleet }, async (req) => joinFleet(ctx, await worker(req), req.body));
  app.post('/v1/fleet/commands', { onRequest, bodyLimit: BODY_LIMITS.fleet }, async (req) => sendCommand(ctx, await worker(req), req.body));
  app.get('/v1/fleet/commands', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => commands(ctx, await worker(req), req.query));

  app.get('/v1/payouts', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => payouts(ctx, await worker(req), req.query));

  app.get('/v1/payouts/received', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => receivedPayouts(ctx, await worker(req)));
}
