/**
 * Per-client rate limits: token buckets, refused with 429 RATE_LIMITED and `Retry-After`.
 *
 * The hub asks `take(client, route)` once per request with the remote address (`ip:…`), and again
 * once the caller is known: a signed-in worker (`worker:0x…`) or a customer (`customer:cus_…`).
 * Sign-in endpoints have a bucket of their own per address, so a flood of challenges cannot
 * crowd out a worker's leases from the same address.
 *
 * The buckets live in this process. With several hub processes, the proxy in front sends each
 * client address to one of them (deploy/haproxy.cfg: `balance source`), so the limits hold per
 * client across processes without a shared store (docs/running-a-network.md says why).
 */
export type RateDecision = { ok: true } | { ok: false; retryAfterS: number };

export interface RateLimiter {
  /** `client` is `ip:<addr>`, `worker:<address>` or `customer:<id>`; `route` the matched route pattern. */
  take(client: string, route: string, nowMs: number): RateDecision;
}

export const unlimited: RateLimiter = { take: () => ({ ok: true }) };

export interface Bucket {
  /** Requests per second, sustained. */
  perSecond: number;
  /** Requests allowed at once after a quiet spell. */
  burst: number;
}

export interface RateLimits {
  /** Every request, per remote address. */
  perIp: Bucket;
  /** `POST /v1/auth/challenge` and `/v1/auth/login`, per remote address. */
  signIn: Bucket;
  /** Worker endpoints, per signed-in address. */
  perWorker: Bucket;
  /** Customer endpoints, per customer. */
  perCustomer: Bucket;
}

/**
 * Generous for honest use: a worker makes a few requests per task, and many workers may share an
 * address behind NAT. Raise them for load tests (`idleforge bench hub` does).
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  perIp: { perSecond: 500, burst: 1000 },
  signIn: { perSecond: 10, burst: 60 },
  perWorker: { perSecond: 50, burst: 200 },
  perCustomer: { perSecond: 50, burst: 200 },
};

export const SIGN_IN_ROUTES: ReadonlySet<string> = new Set(['/v1/auth/challenge', '/v1/auth/login']);

interface State {
  tokens: number;
  at: number;
}

export class TokenBuckets implements RateLimiter {
  private readonly buckets = new Map<string, State>();
  private takes = 0;

  constructor(private readonly limits: RateLimits = DEFAULT_RATE_LIMITS) {
    for (const [name, b] of Object.entries(limits) as [string, Bucket][]) {
      if (!(b.perSecond > 0) || !(b.burst >= 1)) throw new RangeError(`rate limit ${name} needs perSecond > 0 and burst ≥ 1`);
    }
  }

  take(client: string, route: string, nowMs: number): RateDecision {
    if (++this.takes % 10_000 === 0) this.prune(nowMs);
    if (client.startsWith('ip:')) {
      const first = this.takeFrom(`ip|${client}`, this.limits.perIp, nowMs);
      if (!first.ok || !SIGN_IN_ROUTES.has(route)) return first;
      return this.takeFrom(`signin|${client}`, this.limits.signIn, nowMs);
    }
    if (client.startsWith('worker:')) return this.takeFrom(client, this.limits.perWorker, nowMs);
    return this.takeFrom(client, this.limits.perCustomer, nowMs);
  }

  private takeFrom(key: string, bucket: Bucket, nowMs: number): RateDecision {
    let s = this.buckets.get(key);
    if (!s) {
      s = { tokens: bucket.burst, at: nowMs };
      this.buckets.set(key, s);
    }
    s.tokens = Math.min(bucket.burst, s.tokens + (Math.max(0, nowMs - s.at) / 1000) * bucket.perSecond);
    s.at = nowMs;
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - s.tokens) / bucket.perSecond)) };
  }

  /** Forgets buckets idle long enough to be full again (they would start full anyway). */
  private prune(nowMs: number): void {
    for (const [key, s] of this.buckets) if (nowMs - s.at > 10 * 60_000) this.buckets.delete(key);
  }
}
