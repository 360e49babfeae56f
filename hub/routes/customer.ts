/** Endpoints for customers (Authorization: Bearer <API key>). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdSchema, JobRequestSchema } from '../../protocol/index.js';
import { requireCustomer } from '../auth.js';
import type { HubContext } from '../context.js';
import { badRequest, notFound, parseInput } from '../errors.js';
import { createMatmulJob, jobResult, jobStatus } from '../jobs.js';

/** Largest job body: 80 MiB of JSON, about 60 MiB of f32 for A and B together once base64 is decoded. */
export const JOB_BODY_LIMIT = 80 * 1024 * 1024;

const JobParamsSchema = z.object({ id: IdSchema });

function jobId(params: unknown): string {
  const p = JobParamsSchema.safeParse(params);
  if (!p.success) throw notFound('there is no job with that id', 'JOB_NOT_FOUND');
  return p.data.id;
}

export function registerCustomerRoutes(app: FastifyInstance, ctx: HubContext): void {
  // The API key is checked in onRequest, before Fastify reads a job body of up to 80 MiB.
  const customers = new WeakMap<FastifyRequest, string>();
  const onRequest = async (req: FastifyRequest): Promise<void> => {
    customers.set(req, requireCustomer(ctx, req.headers.authorization).id);
  };
  const customer = (req: FastifyRequest): string => customers.get(req) ?? requireCustomer(ctx, req.headers.authorization).id;

  app.post('/v1/jobs', { onRequest, bodyLimit: JOB_BODY_LIMIT }, async (req, reply) => {
    const job = parseInput(JobRequestSchema, req.body);
    if (job.kind !== 'matmul') throw badRequest(`this hub does not take ${job.kind} jobs yet`);
    return reply.code(201).send(createMatmulJob(ctx, customer(req), job));
  });

  app.get('/v1/jobs/:id', { onRequest }, async (req) => jobStatus(ctx, customer(req), jobId(req.params)));

  app.get('/v1/jobs/:id/result', { onRequest }, async (req, reply) => {
    const bytes = jobResult(ctx, customer(req), jobId(req.params));
    return reply.type('application/octet-stream').send(bytes);
  });
}
