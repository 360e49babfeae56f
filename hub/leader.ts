/**
 * The network's leader: of all hub processes on one database, the one that runs the loops that
 * must run once per network (payouts, the hub's own checks of lone results, watching the chain
 * for deposits). Leadership is a PostgreSQL session advisory lock held on a connection of its
 * own: it is the leader's while that connection lives, and PostgreSQL frees it the moment the
 * connection ends (the process exits, is killed, or loses the network), so another process takes
 * it at its next try. Each loop asks `holds()` before each run.
 */
import pg from 'pg';
import { hubClientConfig } from './postgres/db.js';

/** pg_advisory_lock's two keys: 'idlf' and 3, the leader. (1 is the schema's, 2 the test template's.) */
export const LEADER_LOCK: readonly [number, number] = [0x69646c66, 3];

export class LeaderLease {
  private client: pg.Client | null = null;
  private held = false;
  private pending: Promise<boolean> | null = null;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /** Whether this process leads now: keeps the lease, or takes it when it is free. */
  holds(): Promise<boolean> {
    this.pending ??= this.check().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /** Whether this process led at its last check (for health and metrics; no database call). */
  get leading(): boolean {
    return this.held;
  }

  private async check(): Promise<boolean> {
    if (this.closed) return false;
    try {
      if (!this.client) {
        const c = new pg.Client(hubClientConfig(this.url, { connectionTimeoutMillis: 5000 }));
        c.on('error', () => this.drop());
        await c.connect();
        this.client = c;
      }
      if (this.held) {
        // Still connected, so still ours.
        await this.client.query('SELECT 1');
        return true;
      }
      const r = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [...LEADER_LOCK]);
      this.held = r.rows[0]?.ok === true;
      if (this.held) this.log('this hub process now leads the network (payouts, checks of lone results, deposits)');
      return this.held;
    } catch {
      this.drop();
      return false;
    }
  }

  private drop(): void {
    if (this.held) this.log('this hub process lost the lead (its database connection ended)');
    this.held = false;
    const c = this.client;
    this.client = null;
    c?.end().catch(() => undefined);
  }

  /** Gives the lease up (closing its connection frees the lock). */
  async close(): Promise<void> {
    this.closed = true;
    await this.pending?.catch(() => undefined);
    const c = this.client;
    this.client = null;
    this.held = false;
    await c?.end().catch(() => undefined);
  }
}
