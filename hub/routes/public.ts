/** Health and worker sign-in: the endpoints that need no token. */
import type { FastifyInstance } from 'fastify';
import { ChallengeRequestSchema, ChallengeResponseSchema, HealthSchema, LoginRequestSchema, LoginResponseSchema, PROTOCOL_VERSION, RatesSchema, type Rates } from '../../protocol/index.js';
import { KIND_NAMES, RATE_MEASURES, specOf } from '../../jobs/index.js';
import { issueChallenge, login } from '../auth.js';
import type { HubContext } from '../context.js';
import { checkOutput, HubError, parseInput } from '../errors.js';
import { BODY_LIMITS } from '../http-guards.js';
import { tasksStore } from '../store/index.js';

/** What /v1/health says of the token while the hub has no chain. */
export const TOKEN_INFO = { address: null, symbol: 'IDLE', decimals: 18 } as const;

/** How long /v1/health waits for the database before it calls it unreachable. */
export const HEALTH_DB_TIMEOUT_MS = 2000;

/** Why the database cannot be used now (`SELECT 1` failed or took too long), or null. */
async function databaseProblem(ctx: HubContext): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ctx.db.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${HEALTH_DB_TIMEOUT_MS / 1000} s`)), HEALTH_DB_TIMEOUT_MS);
      }),
    ]);
    return null;
  } catch (error) {
    return error instanceof Error && error.message ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What the hub pays per unit of each kind, how much of each it has waiting, the token's reference
 * value, and the strikes that suspend a worker: what a worker needs to say what it would earn,
 * and to stop before the hub cuts it off.
 */
export async function currentRates(ctx: HubContext): Promise<Rates> {
  const open = await tasksStore.openTasksByKind(ctx.db);
  const count = (kind: string, status: 'queued' | 'leased'): number => Number(open.find((r) => r.kind === kind && r.status === status)?.n ?? 0);
  return {
    kinds: KIND_NAMES.map((kind) => {
      const paidBy = specOf(kind).paidBy;
      return { kind, rate: ctx[paidBy].toString(), unit: RATE_MEASURES[paidBy].unit, queued: count(kind, 'queued'), leased: count(kind, 'leased') };
    }),
    token: { symbol: ctx.token.symbol, decimals: ctx.token.decimals },
    referencePrice: ctx.referencePrice,
    strikeLimit: ctx.standing.maxStrikes,
    forgiveAfter: ctx.standing.forgiveAfter,
    at: new Date(ctx.now()).toISOString(),
  };
}

export function registerPublicRoutes(app: FastifyInstance, ctx: HubContext, version: string): void {
  // Healthy means able to serve: a process that cannot reach its database answers 503 with the
  // reason (HAProxy then sends its clients elsewhere) and 200 again once the database is back.
  app.get('/v1/health', { bodyLimit: BODY_LIMITS.none }, async () => {
    const problem = await databaseProblem(ctx);
    if (problem) throw new HubError(503, 'DATABASE_UNAVAILABLE', `the hub cannot reach its database: ${problem}`, 2);
    return checkOutput(HealthSchema, { ok: true, version: `${PROTOCOL_VERSION} hub ${version}`, chainId: ctx.chainId, token: { ...ctx.token }, treasury: ctx.treasury ?? null });
  });

  app.get('/v1/rates', { bodyLimit: BODY_LIMITS.none }, async () => checkOutput(RatesSchema, await currentRates(ctx)));

  app.post('/v1/auth/challenge', { bodyLimit: BODY_LIMITS.challenge }, async (req) => {
    const { address } = parseInput(ChallengeRequestSchema, req.body);
    return checkOutput(ChallengeResponseSchema, { message: await issueChallenge(ctx, address) });
  });

  app.post('/v1/auth/login', { bodyLimit: BODY_LIMITS.login }, async (req) => {
    const { message, signature } = parseInput(LoginRequestSchema, req.body);
    return checkOutput(LoginResponseSchema, await login(ctx, message, signature, req.ip));
  });
}
