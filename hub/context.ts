/** What every route handler and background task of one hub shares. */
import type { ReferencePrice } from '../protocol/index.js';
import type { CustomerQuotas } from './billing.js';
import type { InputsCache } from './inputs-cache.js';
import type { HubMetrics } from './metrics.js';
import type { RateLimiter } from './ratelimit.js';
import type { ReplicaPolicy } from './replica-assign.js';
import type { SessionCache } from './session-cache.js';
import type { StandingPolicy } from './standing.js';
import type { HubDb, Sql, TxOptions } from './store/index.js';

export interface ReplicationPolicy {
  /** How long a result waits for a second worker before the hub checks it itself (ms). */
  replicaTimeoutMs: number;
  /**
   * Nonces of a range the hub hashes itself when it checks a result (a random stretch of the
   * range, never the whole of a big one): at submission, and for a result no second worker came for.
   */
  selfCheckNonces: number;
  /** Nonces of a random stretch the hub hashes itself for every result it is given. */
  submitCheckNonces: number;
  /** Results the hub checks itself per maintenance round: its CPU budget for lone results. */
  selfCheckPerRound: number;
}

export interface TokenDescription {
  /** null while the hub has no chain (no payouts). */
  address: string | null;
  symbol: string;
  decimals: number;
}

export interface HubContext {
  readonly db: HubDb;
  /** Milliseconds since the epoch; injected so tests can move time. */
  readonly now: () => number;
  readonly chainId: number;
  readonly leaseMs: number;
  /** Base units paid per 10⁹ floating-point operations of verified matmul work. */
  readonly rewardPerGflop: bigint;
  /** Base units paid per 10⁶ hashes of verified hashsearch work. */
  readonly rewardPerMhash: bigint;
  /** The token's reference value in a currency (`GET /v1/rates`); null: none published. */
  readonly referencePrice: ReferencePrice | null;
  /** Most multiply-adds in one matmul task. */
  readonly matmulTaskMacs: number;
  /** Most nonces in a hashsearch task for a key with no observed rate (tasks are carved per worker: hub/sizing.ts). */
  readonly hashsearchTaskCount: number;
  /** Most floating-point operations in a render task for a key with no observed rate (at least one sample; hub/sizing.ts). */
  readonly renderTaskFlops: number;
  /** Pixels a render tile is planned at, about (hub/kinds/render.ts planRender). */
  readonly renderTilePixels: number;
  readonly standing: StandingPolicy;
  readonly replication: ReplicationPolicy;
  /** Most open jobs and tasks per customer (see billing.ts). */
  readonly quotas: CustomerQuotas;
  /** Who a replica goes to (see replica-assign.ts). */
  readonly replicaPolicy: ReplicaPolicy;
  /** Uniform [0, 1) for spot checks; injected by tests. */
  readonly random: () => number;
  /** EIP-4361 domain (host[:port]) and URI the hub signs workers in for; set once listening. */
  domain: string;
  uri: string;
  readonly inputs: InputsCache;
  readonly limiter: RateLimiter;
  /**
   * Runs `fn` in a serializable transaction (`db.tx`, see store/db.ts) and resolves once it is
   * committed. `fn` may run more than once (after a serialization failure): it writes only
   * through `q` and touches nothing outside the database.
   */
  readonly write: <T>(fn: (q: Sql) => Promise<T>, options?: TxOptions) => Promise<T>;
  /** The token workers are paid in, as /v1/health describes it. */
  token: TokenDescription;
  /** The address payouts are sent from (the treasury), as /v1/health publishes it; null without a chain. */
  readonly treasury?: string | null;
  /** Called after work was credited: a payout may be due. */
  onCredited: () => void;
  /**
   * Whether this process leads the network now (see leader.ts): loops that must run once per
   * network (payouts, lone-result checks, deposits) run only while it does.
   */
  readonly leads: () => Promise<boolean>;
  /** Sessions looked up in the last second (see session-cache.ts). */
  readonly sessions: SessionCache;
  /** Operator log (one line per call); never given secrets. */
  readonly log: (line: string) => void;
  /** The hub's Prometheus counters (see metrics.ts). */
  readonly metrics: HubMetrics;
}
