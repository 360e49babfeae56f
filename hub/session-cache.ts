/**
 * Signed-in sessions this process has looked up, kept for a second: every worker request
 * checks its bearer token, and on PostgreSQL that lookup was two of a lease+submit cycle's round
 * trips. A session is used from here for at most `ttlMs` and never past its own expiry. A worker
 * this process cuts off is dropped at once (standing.ts); one cut off by another hub process is
 * refused here within `ttlMs` (docs/DESIGN.md, "Hub store: PostgreSQL").
 */
export interface CachedSession {
  address: string;
  suspension: { at: string; reason: string } | null;
  /** The session's own expiry (ISO 8601). */
  expiresAt: string;
}

export class SessionCache {
  private readonly byToken = new Map<string, { session: CachedSession; until: number }>();

  constructor(
    private readonly ttlMs = 1000,
    private readonly max = 100_000,
  ) {}

  /** The session of a token's hash, if looked up less than `ttlMs` ago and not expired at `nowMs`. */
  get(tokenHash: string, nowMs: number, nowIso: string): CachedSession | undefined {
    const hit = this.byToken.get(tokenHash);
    if (!hit) return undefined;
    if (nowMs >= hit.until || hit.session.expiresAt <= nowIso) {
      this.byToken.delete(tokenHash);
      return undefined;
    }
    return hit.session;
  }

  set(tokenHash: string, session: CachedSession, nowMs: number): void {
    if (this.byToken.size >= this.max) {
      // The oldest entry (a Map keeps insertion order).
      const first = this.byToken.keys().next();
      if (!first.done) this.byToken.delete(first.value);
    }
    this.byToken.set(tokenHash, { session, until: nowMs + this.ttlMs });
  }

  /** Drops every session of `address` (it was cut off). */
  forgetWorker(address: string): void {
    for (const [token, { session }] of this.byToken) if (session.address === address) this.byToken.delete(token);
  }
}
