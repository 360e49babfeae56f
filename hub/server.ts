/**
 * The Idleforge hub: an HTTP server speaking protocol v1 (see PROTOCOL.md) over one SQLite file.
 * Listens on 127.0.0.1 only.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { createCustomer } from './auth.js';
import type { HubContext } from './context.js';
import { HubError, installErrorHandlers } from './errors.js';
import { InputsCache } from './inputs-cache.js';
import { DEFAULT_REWARD_PER_GFLOP } from './jobs.js';
import { unlimited, type RateLimiter } from './ratelimit.js';
import { registerCustomerRoutes } from './routes/customer.js';
import { registerPublicRoutes } from './routes/public.js';
import { registerWorkerRoutes } from './routes/worker.js';
import { openHubDb, type HubDb } from './store/index.js';

export const HUB_VERSION = '0.1.0';
export const DEFAULT_CHAIN_ID = 31337;
export const DEFAULT_LEASE_SECONDS = 120;
/** Body limit of every endpoint that does not set its own. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface HubOptions {
  dbPath: string;
  host?: '127.0.0.1';
  /** 0 (the default) picks a free port. */
  port?: number;
  chainId?: number;
  leaseSeconds?: number;
  /** Base units paid per 10⁹ floating-point operations; default 10¹⁸ (1 token per GFLOP). */
  rewardPerGflop?: bigint;
  /** EIP-4361 domain workers sign in for; default the listening host:port. */
  domain?: string;
  /** EIP-4361 URI; default the hub's URL (http://127.0.0.1:port). */
  uri?: string;
  /** Clock in ms since the epoch; tests inject one to expire nonces and leases. */
  now?: () => number;
  /** Fastify's request logging; off by default. */
  logger?: boolean;
  /** Seam for per-client rate limits (429 + Retry-After); default: no limit. */
  rateLimiter?: RateLimiter;
  /** Memory kept for decoded job inputs (bytes); default 256 MiB. */
  inputsCacheBytes?: number;
}

export interface Hub {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  readonly db: HubDb;
  readonly chainId: number;
  close(): Promise<void>;
  /** Creates a customer; returns its API key in plain text (only its SHA-256 is stored). */
  createCustomer(name: string): string;
}

export async function startHub(opts: HubOptions): Promise<Hub> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error('the hub listens on 127.0.0.1 only');
  const chainId = opts.chainId ?? DEFAULT_CHAIN_ID;
  const leaseSeconds = opts.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  if (!Number.isInteger(chainId) || chainId <= 0) throw new RangeError('chainId must be a positive whole number');
  if (!(leaseSeconds > 0)) throw new RangeError('leaseSeconds must be positive');
  const rewardPerGflop = opts.rewardPerGflop ?? DEFAULT_REWARD_PER_GFLOP;
  if (rewardPerGflop < 0n) throw new RangeError('rewardPerGflop must not be negative');
  const now = opts.now ?? Date.now;
  const rateLimiter = opts.rateLimiter ?? unlimited;

  const db = openHubDb(opts.dbPath);
  const ctx: HubContext = {
    db,
    now,
    chainId,
    leaseMs: Math.round(leaseSeconds * 1000),
    rewardPerGflop,
    domain: opts.domain ?? '',
    uri: opts.uri ?? '',
    inputs: new InputsCache(opts.inputsCacheBytes),
  };

  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: DEFAULT_BODY_LIMIT });
  installErrorHandlers(app);
  app.addHook('onRequest', async (req) => {
    const d = rateLimiter.take(req.ip, req.routeOptions.url ?? req.url, now());
    if (!d.ok) throw new HubError(429, 'RATE_LIMITED', 'too many requests; wait a little and try again', d.retryAfterS);
  });
  registerPublicRoutes(app, ctx, HUB_VERSION);
  registerWorkerRoutes(app, ctx);
  registerCustomerRoutes(app, ctx);

  let url: string;
  try {
    await app.listen({ host, port: opts.port ?? 0 });
    const { port } = app.server.address() as AddressInfo;
    url = `http://${host}:${port}`;
  } catch (err) {
    await app.close().catch(() => undefined);
    db.close();
    throw err;
  }
  ctx.domain = opts.domain ?? new URL(url).host;
  ctx.uri = opts.uri ?? url;

  let closing: Promise<void> | null = null;
  return {
    url,
    db,
    chainId,
    createCustomer: (name) => createCustomer(db, name, now()).apiKey,
    close() {
      closing ??= (async () => {
        try {
          await app.close();
        } finally {
          db.close();
        }
      })();
      return closing;
    },
  };
}
