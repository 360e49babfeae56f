/** Endpoints for signed-in workers (Authorization: Bearer <session token>). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdSchema } from '../../protocol/index.js';
import { requireWorker } from '../auth.js';
import type { HubContext } from '../context.js';
import { HubError, notFound } from '../errors.js';
import { earnings, heartbeat, leaseTask, payouts, releaseLease, setPayoutAddress, submitResult } from '../work.js';

/** Largest result body: a 64 MiB C slice as base64 plus JSON. */
export const RESULT_BODY_LIMIT = 64 * 1024 * 1024;

const TaskParamsSchema = z.object({ id: IdSchema });

export function registerWorkerRoutes(app: FastifyInstance, ctx: HubContext): void {
  // The token (and the worker's rate limit) is checked in onRequest, before Fastify reads
  // (possibly large) bodies.
  const signedIn = new WeakMap<FastifyRequest, string>();
  const onRequest = async (req: FastifyRequest): Promise<void> => {
    const address = requireWorker(ctx, req.headers.authorization);
    const d = ctx.limiter.take(`worker:${address}`, req.routeOptions.url ?? req.url, ctx.now());
    if (!d.ok) throw new HubError(429, 'RATE_LIMITED', 'too many requests from this worker; wait a little and try again', d.retryAfterS);
    signedIn.set(req, address);
  };
  const worker = (req: FastifyRequest): string => signedIn.get(req) ?? requireWorker(ctx, req.headers.authorization);

  app.post('/v1/workers/heartbeat', { onRequest }, async (req) => heartbeat(ctx, worker(req), req.body));
  app.post('/v1/workers/payout-address', { onRequest }, async (req) => setPayoutAddress(ctx, worker(req), req.body));

  // A lease may be answered before it is on disk: one lost to a power cut only means the task is
  // leased again and the first worker's result gets a 409; it never credits anything.
  app.post('/v1/tasks/lease', { onRequest, config: { durable: false } }, async (req, reply) => {
    const leased = await leaseTask(ctx, worker(req), req.body);
    if (!leased) return reply.code(204).send();
    return leased;
  });

  // A matmul result may come as its raw f32 bytes (application/octet-stream, the form the
  // customer reads C in): parsed here into a Buffer, checked by the judge.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: RESULT_BODY_LIMIT }, (_req, body, done) => done(null, body));
  app.post('/v1/tasks/:id/result', { onRequest, bodyLimit: RESULT_BODY_LIMIT }, async (req) => {
    const params = TaskParamsSchema.safeParse(req.params);
    if (!params.success) throw notFound('there is no task with that id', 'TASK_NOT_FOUND');
    return submitResult(ctx, worker(req), params.data.id, req.body);
  });

  app.post('/v1/tasks/:id/release', { onRequest }, async (req) => {
    const params = TaskParamsSchema.safeParse(req.params);
    if (!params.success) throw notFound('there is no task with that id', 'TASK_NOT_FOUND');
    return releaseLease(ctx, worker(req), params.data.id);
  });

  app.get('/v1/earnings', { onRequest }, async (req) => earnings(ctx, worker(req), req.query));

  app.get('/v1/payouts', { onRequest }, async (req) => payouts(ctx, worker(req)));
}
