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
    return reply.type('application/octet-stream').send(result.bytes);
  });
}
