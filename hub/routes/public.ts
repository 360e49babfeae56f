/** Health and worker sign-in: the endpoints that need no token. */
import type { FastifyInstance } from 'fastify';
import { ChallengeRequestSchema, ChallengeResponseSchema, HealthSchema, LoginRequestSchema, LoginResponseSchema, PROTOCOL_VERSION } from '../../protocol/index.js';
import { issueChallenge, login } from '../auth.js';
import type { HubContext } from '../context.js';
import { checkOutput, parseInput } from '../errors.js';
import { BODY_LIMITS } from '../http-guards.js';

/** What /v1/health says of the token while the hub has no chain. */
export const TOKEN_INFO = { address: null, symbol: 'IDLE', decimals: 18 } as const;

export function registerPublicRoutes(app: FastifyInstance, ctx: HubContext, version: string): void {
  app.get('/v1/health', { bodyLimit: BODY_LIMITS.none }, async () =>
    checkOutput(HealthSchema, { ok: true, version: `${PROTOCOL_VERSION} hub ${version}`, chainId: ctx.chainId, token: { ...ctx.token } }),
  );

  app.post('/v1/auth/challenge', { bodyLimit: BODY_LIMITS.challenge }, async (req) => {
    const { address } = parseInput(ChallengeRequestSchema, req.body);
    return checkOutput(ChallengeResponseSchema, { message: await issueChallenge(ctx, address) });
  });

  app.post('/v1/auth/login', { bodyLimit: BODY_LIMITS.login }, async (req) => {
    const { message, signature } = parseInput(LoginRequestSchema, req.body);
    return checkOutput(LoginResponseSchema, await login(ctx, message, signature, req.ip));
  });
}
