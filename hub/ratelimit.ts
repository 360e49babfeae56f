/**
 * Rate limiting seam. The hub asks a RateLimiter before routing each request; the default lets
 * everything through. A real limiter (per IP before sign-in, per address after) plugs in via
 * `startHub({ rateLimiter })` and refuses with 429 RATE_LIMITED plus `Retry-After`.
 */
export type RateDecision = { ok: true } | { ok: false; retryAfterS: number };

export interface RateLimiter {
  /** `client` is the remote IP; `route` the matched route pattern (e.g. `/v1/tasks/:id/result`). */
  take(client: string, route: string, nowMs: number): RateDecision;
}

export const unlimited: RateLimiter = { take: () => ({ ok: true }) };
