/** Endpoints for customers (Authorization: Bearer <API key>). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdSchema, JobRequestSchema } from '../../protocol/index.js';
import { requireCustomer } from '../auth.js';
import { customerBalance, issueAddressChallenge, registerAddress } from '../billing.js';
import type { HubContext } from '../context.js';
import { HubError, notFound, parseInput } from '../errors.js';
import { BODY_LIMITS } from '../http-guards.js';
import { jobStatus } from '../jobs.js';
import { createJob, jobResult } from '../kinds/index.js';

/** Largest job body: 80 MiB of JSON, about 60 MiB of f32 for A and B together once base64 is decoded. */
export const JOB_BODY_LIMIT = 80 * 1024 * 1024;

const JobParamsSchema = z.object({ id: IdSchema });

function jobId(params: unknown): string {
  const p = JobParamsSchema.safeParse(params);
  if (!p.success) throw notFound('there is no job with that id', 'JOB_NOT_FOUND');
  return p.data.id;
}

/** The quality (q) an Accept header gives a media type, by its exact entry or the nearest wildcard; 0 when none matches. */
export function acceptQuality(accept: string | undefined, type: string): number {
  if (!accept) return 0;
  let best = -1;
  let quality = 0;
  for (const entry of accept.split(',')) {
    const [range = '', ...params] = entry.trim().toLowerCase().split(';');
    const [main, sub] = type.split('/');
    const specificity = range === type ? 2 : range === `${main}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (specificity < 0 || specificity < best) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = q ? Number(q.slice(2)) : 1;
    best = specificity;
    quality = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
    void sub;
  }
  return quality;
}

/** Whether a picture's raw f32 RGB is asked for rather than its PNG (the default). */
export function prefersOctetStream(accept: string | undefined): boolean {
  const raw = acceptQuality(accept, 'application/octet-stream');
  return raw > 0 && raw > acceptQuality(accept, 'image/png');
}

export function registerCustomerRoutes(app: FastifyInstance, ctx: HubContext): void {
  // The API key (and the customer's rate limit) is checked in onRequest, before Fastify reads a
  // job body of up to 80 MiB.
  const customers = new WeakMap<FastifyRequest, string>();
  const onRequest = async (req: FastifyRequest): Promise<void> => {
    const { id } = await requireCustomer(ctx, req.headers.authorization);
    const d = ctx.limiter.take(`customer:${id}`, req.routeOptions.url ?? req.url, ctx.now());
    if (!d.ok) throw new HubError(429, 'RATE_LIMITED', 'too many requests from this customer; wait a little and try again', d.retryAfterS);
    customers.set(req, id);
  };
  const customer = async (req: FastifyRequest): Promise<string> => customers.get(req) ?? (await requireCustomer(ctx, req.headers.authorization)).id;

  app.post('/v1/jobs', { onRequest, bodyLimit: JOB_BODY_LIMIT }, async (req, reply) => {
    const job = parseInput(JobRequestSchema, req.body);
    const created = await createJob(ctx, await customer(req), job);
    return reply.code(201).send(created);
  });

  app.get('/v1/jobs/:id', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => jobStatus(ctx, await customer(req), jobId(req.params)));

  // Balances (billing.ts): the address a customer pays from, proved by a signature; its balance.
  app.post('/v1/customers/address/challenge', { onRequest, bodyLimit: BODY_LIMITS.challenge }, async (req) => issueAddressChallenge(ctx, await customer(req), req.body));
  app.post('/v1/customers/address', { onRequest, bodyLimit: BODY_LIMITS.login }, async (req) => registerAddress(ctx, await customer(req), req.body));
  app.get('/v1/customers/balance', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req) => customerBalance(ctx, await customer(req)));

  app.get('/v1/jobs/:id/result', { onRequest, bodyLimit: BODY_LIMITS.none }, async (req, reply) => {
    const result = await jobResult(ctx, await customer(req), jobId(req.params));
    if (result.type === 'json') return reply.send(result.body);
    if (result.type === 'image') {
      if (prefersOctetStream(req.headers.accept)) return reply.type('application/octet-stream').send(result.raw);
      return reply.type('image/png').send(result.png());
    }
    return reply.type('application/octet-stream').send(result.bytes);
  });
}
