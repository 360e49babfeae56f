/**
 * The Idleforge hub: an HTTP server speaking protocol v1 (see PROTOCOL.md) over a PostgreSQL
 * database that any number of hub processes share, and, when given a chain, the payouts on it. Listens on 127.0.0.1 unless told another address;
 * behind a reverse proxy, `publicUrl` is the address workers use (see docs/running-a-network.md).
 */
import { isIP, type AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { createCustomer } from './auth.js';
import { checkQuotas, creditCustomer, DEFAULT_QUOTAS, settleDoneJobs, type CustomerQuotas } from './billing.js';
import { Chain, type ChainConfig } from './chain.js';
import type { HubContext, ReplicationPolicy } from './context.js';
import { DepositWatcher, type DepositWatcherOptions } from './deposits.js';
import { HubError, installErrorHandlers } from './errors.js';
import { checkHttpGuards, DEFAULT_HTTP_GUARDS, fastifyServerOptions, installBodyLimitCheck, installConnectionGuards, limitKey, trustedProxies, type HttpGuards } from './http-guards.js';
import { maintainReplicas } from './kinds/hashsearch.js';
import { RENDER_TASK_FLOPS, RENDER_TILE_PIXELS } from './kinds/render.js';
import { InputsCache } from './inputs-cache.js';
import { createHubLogger, fastifyLogOptions, installRequestIds, type HubLogOptions } from './logging.js';
import { HubMetrics, metricsOptionsProblem, registerMetricsRoute, serveMetrics, type HubMetricsOptions, type MetricsServer } from './metrics.js';
import { DEFAULT_HASHSEARCH_TASK_COUNT, DEFAULT_REWARD_PER_GFLOP, DEFAULT_REWARD_PER_MHASH, MAX_TASK_MACS } from './jobs.js';
import { LeaderLease } from './leader.js';
import { SessionCache } from './session-cache.js';
import { Loop } from './loop.js';
import { Payouts, type PayoutCrashPoint } from './payouts.js';
import { DEFAULT_RATE_LIMITS, TokenBuckets, unlimited, type RateLimiter, type RateLimits } from './ratelimit.js';
import { registerCustomerRoutes } from './routes/customer.js';
import { TOKEN_INFO, registerPublicRoutes } from './routes/public.js';
import { registerWorkerRoutes } from './routes/worker.js';
import { DEFAULT_REPLICA_POLICY, type ReplicaPolicy } from './replica-assign.js';
import { checkStandingPolicy, DEFAULT_STANDING, type StandingPolicy } from './standing.js';
import { openHubDb, type HubDb } from './store/index.js';
import type { ReferencePrice } from '../protocol/index.js';

export const HUB_VERSION = '0.2.0';
export const DEFAULT_CHAIN_ID = 31337;
export const DEFAULT_LEASE_SECONDS = 120;
/** Body limit of every endpoint that does not set its own. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;
/** Default payout threshold: 1 token (10¹⁸ base units of an 18-decimal token). */
export const DEFAULT_PAYOUT_THRESHOLD = 10n ** 18n;
/**
 * The hub's own hashing: 1024 nonces of every result (about 1.5 ms of CPU); a result without a
 * second worker after 5 minutes, 2¹⁴ nonces (about 25 ms), 4 such checks a second at most.
 */
export const DEFAULT_REPLICATION: ReplicationPolicy = { replicaTimeoutMs: 5 * 60_000, submitCheckNonces: 1024, selfCheckNonces: 2 ** 14, selfCheckPerRound: 4 };

export interface HubChainOptions extends ChainConfig {
  /** Pay a worker once its verified, unpaid balance reaches this many base units; default 1 token. */
  payoutThreshold?: bigint;
  /** How often payouts are looked at without new credit; default 2000 ms. */
  pollMs?: number;
  /** Tests only: SIGKILL the hub at this point of a payout. */
  crashAt?: PayoutCrashPoint;
  /** The watcher crediting customers' token transfers to the treasury (see deposits.ts). */
  deposits?: DepositWatcherOptions;
}

export interface HubOptions {
  /** The database: a postgres:// URL (see store/db.ts; `openLocalHubDb` starts a local one). */
  db: string;
  /** Connections this process keeps to it; default `defaultDbConnections()` (store/db.ts). */
  dbConnections?: number;
  /** The address to listen on (any IPv4 or IPv6 address; `0.0.0.0` or `::` for all); default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Without `chain`: the chain id sign-in messages name (default 31337). With it: must match the chain's, if given. */
  chainId?: number;
  /** The chain and token to pay in; without it the hub keeps its ledger but pays nothing. */
  chain?: HubChainOptions;
  leaseSeconds?: number;
  /** Base units paid per 10⁹ floating-point operations; default 10¹⁸ (1 token per GFLOP). */
  rewardPerGflop?: bigint;
  /** Base units paid per 10⁶ hashes; default 10¹⁸ (1 token per MH). */
  rewardPerMhash?: bigint;
  /**
   * The token's reference value in a currency, published on `GET /v1/rates` (workers use it as
   * the default value of what they earn); default none.
   */
  referencePrice?: ReferencePrice | null;
  /** Most multiply-adds in one matmul task; default 2²². */
  matmulTaskMacs?: number;
  /** Most nonces in a hashsearch task for a key with no observed rate (hub/sizing.ts); default 2²⁰. */
  hashsearchTaskCount?: number;
  /** Most floating-point operations in a render task for a key with no observed rate (hub/sizing.ts; at least one sample); default 2³⁰. */
  renderTaskFlops?: number;
  /** Pixels a render tile is planned at, about (a side of its square root to twice that; hub/kinds/render.ts planRender); default 2¹⁷. */
  renderTilePixels?: number;
  /**
   * Base units credited to every customer `Hub.createCustomer` makes (an operator credit, reason
   * "starting balance"); default 0: customers pay for their jobs from deposits and credits.
   */
  customerStartingBalance?: bigint;
  /** Most open jobs and tasks per customer; default DEFAULT_QUOTAS (100 jobs, 100,000 tasks). */
  quotas?: Partial<CustomerQuotas>;
  /** Trust, spot checks and cut-off (see standing.ts). */
  standing?: Partial<Omit<StandingPolicy, 'newKey'>> & { newKey?: Partial<StandingPolicy['newKey']> };
  /** When the hub checks a lone result itself (see kinds/hashsearch.ts). */
  replication?: Partial<ReplicationPolicy>;
  /** Who replicas go to (see replica-assign.ts); `loopbackDistinct` is for the devnet and tests only. */
  replicaPolicy?: Partial<ReplicaPolicy>;
  /**
   * Proxies whose X-Forwarded-For the hub believes (Fastify's trustProxy: addresses or CIDRs), so
   * that a worker's network is its own, not the proxy's. Default none: the socket's address.
   */
  trustProxy?: string | string[];
  /** Uniform [0, 1) for spot checks; default Math.random. */
  random?: () => number;
  /**
   * The URL workers reach the hub at (behind a reverse proxy, the proxy's: `https://hub.example`):
   * sign-in messages name its host as their EIP-4361 domain and it as their URI. Default the
   * hub's own `url`.
   */
  publicUrl?: string;
  /** EIP-4361 domain workers sign in for; default `publicUrl`'s host[:port]. */
  domain?: string;
  /** EIP-4361 URI; default `publicUrl`. */
  uri?: string;
  /** Clock in ms since the epoch; tests inject one to expire nonces and leases. */
  now?: () => number;
  /**
   * The structured log (JSON lines, one per request with its id, see logging.ts): `true` to
   * standard output, or where and at what level; off by default.
   */
  logger?: boolean | HubLogOptions;
  /**
   * Prometheus metrics (see metrics.ts): on a port of their own, or at /metrics of the hub's port
   * behind a bearer token; not served by default.
   */
  metrics?: HubMetricsOptions;
  /** Operator log lines (payouts, background errors); default the structured log's, if on, else none. Never given secrets. */
  log?: (line: string) => void;
  /** Per-client rate limits; `false` turns them off. Default DEFAULT_RATE_LIMITS. */
  rateLimits?: Partial<RateLimits> | false;
  /** Replaces the limiter built from `rateLimits` (tests). */
  rateLimiter?: RateLimiter;
  /** Memory kept for decoded job inputs (bytes); default 256 MiB. */
  inputsCacheBytes?: number;
  /** How often background checks (lone replicas) run; default 1000 ms. */
  maintenanceMs?: number;
  /** Headers timeout, minimum body rate, connection caps (see http-guards.ts); default DEFAULT_HTTP_GUARDS. */
  httpGuards?: Partial<HttpGuards>;
}

export interface Hub {
  /**
   * Where this machine reaches the hub, without a trailing slash: `http://<host>:<port>`, with
   * 127.0.0.1 (or [::1]) for a hub listening on every address.
   */
  readonly url: string;
  /** The URL sign-in messages name (`publicUrl`, else `url`), without a trailing slash. */
  readonly publicUrl: string;
  readonly db: HubDb;
  readonly chainId: number;
  /** The chain payouts go to, or null when the hub pays nothing. */
  readonly chain: Chain | null;
  /** Where the metrics are served (`…/metrics`), or null when they are not. */
  readonly metricsUrl: string | null;
  close(): Promise<void>;
  /**
   * Creates a customer; returns its API key in plain text (only its SHA-256 is stored). Its
   * balance starts at `balance` (default the hub's `customerStartingBalance`, else 0).
   */
  createCustomer(name: string, opts?: { balance?: bigint }): Promise<string>;
  /** createCustomer, returning the customer's id too (what `idleforge hub credit` takes). */
  createCustomerAccount(name: string, opts?: { balance?: bigint }): Promise<{ id: string; apiKey: string }>;
  /** Reads the chain for deposits now (normally every few seconds); a no-op without a chain. */
  scanDeposits(): Promise<void>;
  /** Runs the payout round now (normally after credit and every few seconds); resolves when done. */
  payNow(): Promise<void>;
  /** Settles lone pending hashsearch results now (normally every second); returns how many. */
  checkOverdueReplicas(): Promise<number>;
}

export async function startHub(opts: HubOptions): Promise<Hub> {
  const host = opts.host ?? '127.0.0.1';
  if (isIP(host) === 0) throw new RangeError(`host must be an IPv4 or IPv6 address, not ${host}`);
  const publicUrl = opts.publicUrl === undefined ? undefined : normalizePublicUrl(opts.publicUrl);
  const leaseSeconds = opts.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (opts.chainId !== undefined && (!Number.isInteger(opts.chainId) || opts.chainId <= 0)) throw new RangeError('chainId must be a positive whole number');
  if (!(leaseSeconds > 0)) throw new RangeError('leaseSeconds must be positive');
  const rewardPerGflop = opts.rewardPerGflop ?? DEFAULT_REWARD_PER_GFLOP;
  const rewardPerMhash = opts.rewardPerMhash ?? DEFAULT_REWARD_PER_MHASH;
  if (rewardPerGflop < 0n || rewardPerMhash < 0n) throw new RangeError('rewards must not be negative');
  const matmulTaskMacs = opts.matmulTaskMacs ?? MAX_TASK_MACS;
  const hashsearchTaskCount = opts.hashsearchTaskCount ?? DEFAULT_HASHSEARCH_TASK_COUNT;
  if (!Number.isInteger(matmulTaskMacs) || matmulTaskMacs < 1) throw new RangeError('matmulTaskMacs must be a whole number ≥ 1');
  if (!Number.isInteger(hashsearchTaskCount) || hashsearchTaskCount < 1) throw new RangeError('hashsearchTaskCount must be a whole number ≥ 1');
  const renderTaskFlops = opts.renderTaskFlops ?? RENDER_TASK_FLOPS;
  if (!Number.isSafeInteger(renderTaskFlops) || renderTaskFlops < 1) throw new RangeError('renderTaskFlops must be a whole number ≥ 1');
  const renderTilePixels = opts.renderTilePixels ?? RENDER_TILE_PIXELS;
  if (!Number.isSafeInteger(renderTilePixels) || renderTilePixels < 1) throw new RangeError('renderTilePixels must be a whole number ≥ 1');
  const standing = { ...DEFAULT_STANDING, ...opts.standing, newKey: { ...DEFAULT_STANDING.newKey, ...opts.standing?.newKey } };
  checkStandingPolicy(standing);
  const replication = { ...DEFAULT_REPLICATION, ...opts.replication };
  const quotas = { ...DEFAULT_QUOTAS, ...opts.quotas };
  checkQuotas(quotas);
  const startingBalance = opts.customerStartingBalance ?? 0n;
  if (startingBalance < 0n) throw new RangeError('customerStartingBalance must not be negative');
  const now = opts.now ?? Date.now;
  const metricsProblem = metricsOptionsProblem(opts.metrics);
  if (metricsProblem) throw new RangeError(metricsProblem);
  const logger = opts.logger ? createHubLogger(opts.logger === true ? {} : opts.logger) : null;
  const log = opts.log ?? (logger ? (line: string): void => logger.info(line) : (): void => undefined);
  const limiter = opts.rateLimiter ?? (opts.rateLimits === false ? unlimited : new TokenBuckets({ ...DEFAULT_RATE_LIMITS, ...opts.rateLimits }));
  const httpGuards = { ...DEFAULT_HTTP_GUARDS, ...opts.httpGuards };
  checkHttpGuards(httpGuards);
  const proxies = trustedProxies(opts.trustProxy);

  const chain = opts.chain ? await Chain.connect(opts.chain) : null;
  const chainId = chain?.chainId ?? opts.chainId ?? DEFAULT_CHAIN_ID;
  if (chain && opts.chainId !== undefined && opts.chainId !== chain.chainId) {
    chain.close();
    throw new Error(`the chain at ${opts.chain!.rpcUrl} has id ${chain.chainId}, not ${opts.chainId}`);
  }

  let db: HubDb;
  try {
    db = await openHubDb(opts.db, opts.dbConnections === undefined ? {} : { max: opts.dbConnections });
  } catch (err) {
    chain?.close();
    throw err;
  }
  const leader = new LeaderLease(opts.db, log);
  const ctx: HubContext = {
    db,
    now,
    chainId,
    leaseMs: Math.round(leaseSeconds * 1000),
    rewardPerGflop,
    rewardPerMhash,
    referencePrice: opts.referencePrice ?? null,
    matmulTaskMacs,
    hashsearchTaskCount,
    renderTaskFlops,
    renderTilePixels,
    standing,
    replication,
    quotas,
    replicaPolicy: { ...DEFAULT_REPLICA_POLICY, ...opts.replicaPolicy },
    random: opts.random ?? Math.random,
    domain: opts.domain ?? '',
    uri: opts.uri ?? '',
    inputs: new InputsCache(opts.inputsCacheBytes),
    limiter,
    write: (fn, options) => db.tx(fn, options),
    leads: () => leader.holds(),
    sessions: new SessionCache(),
    token: chain ? { ...chain.token } : { ...TOKEN_INFO },
    treasury: chain ? chain.treasury : null,
    onCredited: () => undefined,
    log,
    metrics: new HubMetrics({ db, now, leaseMs: Math.round(leaseSeconds * 1000) }, { processMetrics: opts.metrics !== undefined }),
  };
  const payouts = chain ? new Payouts(ctx, chain, { threshold: opts.chain?.payoutThreshold ?? DEFAULT_PAYOUT_THRESHOLD, pollMs: opts.chain?.pollMs, crashAt: opts.chain?.crashAt }) : null;
  if (payouts) ctx.onCredited = () => payouts.kick();
  const deposits = chain ? new DepositWatcher(ctx, chain, opts.chain?.deposits) : null;
  let lastSettled = 0;
  // The leader's rounds: replicas and lone results, and jobs a stopped hub left unsettled.
  const maintenance = new Loop(
    'replica checks',
    opts.maintenanceMs ?? 1000,
    async (signal) => {
      lastSettled = await maintainReplicas(ctx, signal);
      if (!signal.aborted) await settleDoneJobs(ctx);
    },
    log,
    ctx.leads,
  );

  const app = Fastify({ ...fastifyLogOptions(logger), bodyLimit: DEFAULT_BODY_LIMIT, ...fastifyServerOptions(httpGuards), ...(opts.trustProxy !== undefined ? { trustProxy: opts.trustProxy } : {}) });
  installErrorHandlers(app);
  // First: every answer, a refusal of the hooks below included, carries its request id and is timed.
  installRequestIds(app);
  ctx.metrics.installHttp(app);
  app.addHook('onRequest', async (req) => {
    const d = limiter.take(`ip:${limitKey(req.ip)}`, req.routeOptions.url ?? req.url, now());
    if (!d.ok) throw new HubError(429, 'RATE_LIMITED', 'too many requests; wait a little and try again', d.retryAfterS);
  });
  // Body limits on Content-Length before any hook reads more; slow clients and connection caps.
  installBodyLimitCheck(app);
  installConnectionGuards(app.server, httpGuards, proxies);
  registerPublicRoutes(app, ctx, HUB_VERSION);
  registerWorkerRoutes(app, ctx);
  registerCustomerRoutes(app, ctx);
  if (opts.metrics?.token !== undefined) registerMetricsRoute(app, ctx.metrics, opts.metrics.token);

  const shutdown = async (): Promise<void> => {
    await maintenance.stop();
    await payouts?.stop();
    await deposits?.stop();
    await leader.close();
    await db.close();
    chain?.close();
  };

  let url: string;
  let metricsServer: MetricsServer | null = null;
  try {
    await app.listen({ host, port: opts.port ?? 0, listenTextResolver: (address) => `http server up on ${address}` });
    const { port } = app.server.address() as AddressInfo;
    url = localUrl(host, port);
    if (opts.metrics?.port !== undefined) metricsServer = await serveMetrics(ctx.metrics, host, opts.metrics.port);
  } catch (err) {
    await app.close().catch(() => undefined);
    await shutdown();
    throw err;
  }
  ctx.domain = opts.domain ?? new URL(publicUrl ?? url).host;
  ctx.uri = opts.uri ?? publicUrl ?? url;
  payouts?.start();
  deposits?.start();
  maintenance.start();

  const createAccount = (name: string, o?: { balance?: bigint }): Promise<{ id: string; apiKey: string }> => {
    const balance = o?.balance ?? startingBalance;
    return db.tx(async (q) => {
      const c = await createCustomer(q, name, now());
      if (balance > 0n) await creditCustomer(q, { customerId: c.id, amount: balance, reason: 'starting balance', id: `start:${c.id}` }, now());
      return c;
    });
  };

  let closing: Promise<void> | null = null;
  return {
    url,
    publicUrl: publicUrl ?? url,
    db,
    chainId,
    chain,
    metricsUrl: metricsServer?.url ?? (opts.metrics?.token !== undefined ? `${url}/metrics` : null),
    createCustomer: async (name, o) => (await createAccount(name, o)).apiKey,
    createCustomerAccount: (name, o) => createAccount(name, o),
    scanDeposits: async () => void (await deposits?.runNow()),
    payNow: () => payouts?.runNow() ?? Promise.resolve(),
    checkOverdueReplicas: async () => {
      await maintenance.runNow();
      return lastSettled;
    },
    close() {
      closing ??= (async () => {
        try {
          await metricsServer?.close();
          await app.close();
        } finally {
          await shutdown();
        }
      })();
      return closing;
    },
  };
}

/** `http://host:port` for this machine: a wildcard host is reached on loopback; IPv6 in brackets. */
export function localUrl(host: string, port: number): string {
  const reach = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(reach) === 6 ? `[${reach}]` : reach}:${port}`;
}

/**
 * A public URL as sign-in messages name it: http or https, no credentials, query or fragment,
 * no trailing slash (`https://hub.example/` is `https://hub.example`).
 */
export function normalizePublicUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new RangeError(`publicUrl ${value} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError(`publicUrl ${value} must be http:// or https://`);
  if (u.username || u.password || u.search || u.hash) throw new RangeError(`publicUrl ${value} must have no user, query or fragment`);
  return u.href.replace(/\/+$/, '');
}
