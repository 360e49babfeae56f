/**
 * The hub's Prometheus metrics (prom-client), in a registry of each hub's own, so that hubs side
 * by side in one process (tests) never share a counter:
 *
 * - `idleforge_hub_leases_total{kind}`: tasks leased (replicas included).
 * - `idleforge_hub_results_total{kind,verdict}`: results judged, by the verdict the worker was
 *   answered with (`accepted`, `pending`: waiting for a replica, `rejected`). Results refused
 *   before judging (lease expired, not the lease holder, too large) are the 4xx of the result
 *   route in the request histogram.
 * - `idleforge_hub_tasks_queued{kind}`, `idleforge_hub_tasks_leased{kind}`: open tasks, read from
 *   the store at each scrape.
 * - `idleforge_hub_oldest_lease_age_seconds`: how long the oldest lease still held has been out (0
 *   with none); past the lease time it is a lapsed lease not yet taken back.
 * - `idleforge_hub_payouts{state}`: payouts by state (pending, sent, confirmed, failed).
 * - `idleforge_hub_payout_lag_seconds`: age of the oldest payout not yet settled (pending or
 *   sent; 0 with none): how far behind the chain payouts are.
 * - `idleforge_hub_http_request_duration_seconds{method,route,status_class}`: latency of every
 *   request, by route pattern (`/v1/tasks/:id/result`, `unmatched` for unknown paths) and status
 *   class (`2xx`…), never the raw URL.
 * - the process's default metrics (`process_*`, `nodejs_*`), once per process.
 *
 * Served on a port of their own (`metrics.port`, on the hub's host) or on the hub's port at
 * `/metrics` behind `Authorization: Bearer <metrics.token>`; neither by default.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_KINDS, ResultStatusSchema, type ResultResponse } from '../protocol/index.js';
import { HubError } from './errors.js';
import { BODY_LIMITS } from './http-guards.js';
import { payoutsStore, tasksStore, type HubDb } from './store/index.js';

export interface HubMetricsOptions {
  /** Serve the metrics on this port of the hub's host (0: a free one). */
  port?: number;
  /** Serve them on the hub's own port at /metrics, to `Authorization: Bearer <token>` only. */
  token?: string;
}

export const METRICS_PATH = '/metrics';
/** A metrics token: 16 to 256 visible ASCII characters (no spaces). */
const TOKEN_FORMAT = /^[\x21-\x7e]{16,256}$/;
const PAYOUT_STATES = ['pending', 'sent', 'confirmed', 'failed'] as const;
/** Seconds: from a health check (~1 ms) to a 64 MiB result upload over a home line. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Why `o` cannot be served, or null; startHub throws it, the CLI says it as a usage error. */
export function metricsOptionsProblem(o: HubMetricsOptions | undefined): string | null {
  if (!o) return null;
  if (o.port !== undefined && o.token !== undefined) return 'serve the metrics on a port of their own or behind a token on the hub\'s port, not both';
  if (o.port !== undefined && (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535)) return `the metrics port must be a whole number from 0 to 65535, not ${o.port}`;
  if (o.token !== undefined && !TOKEN_FORMAT.test(o.token)) return 'the metrics token must be 16 to 256 visible ASCII characters, without spaces';
  return null;
}

/** The process's default metrics, made once per process however many hubs it runs. */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** What the scrape-time gauges read: the hub's store (outside any transaction) and clock. */
export interface MetricsSource {
  readonly db: HubDb;
  readonly now: () => number;
  /** Every lease lasts this long, so a lease began its expiry less this. */
  readonly leaseMs: number;
}

export class HubMetrics {
  readonly registry = new Registry();
  private readonly leases: Counter<'kind'>;
  private readonly results: Counter<'kind' | 'verdict'>;
  private readonly latency: Histogram<'method' | 'route' | 'status_class'>;
  private readonly withProcess: boolean;

  /** `processMetrics`: add the process's default metrics to what this hub serves. */
  constructor(src: MetricsSource, opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.withProcess = opts.processMetrics ?? false;
    if (this.withProcess) processMetrics();
    this.leases = new Counter({ name: 'idleforge_hub_leases_total', help: 'Tasks leased to workers (replicas included), by kind.', labelNames: ['kind'], registers });
    this.results = new Counter({
      name: 'idleforge_hub_results_total',
      help: 'Results judged, by kind and the verdict the worker was answered with (pending: waiting for a replica).',
      labelNames: ['kind', 'verdict'],
      registers,
    });
    // Every series exists from the start at 0, so a first increase shows in rate().
    for (const kind of JOB_KINDS) {
      this.leases.inc({ kind }, 0);
      for (const verdict of ResultStatusSchema.options) this.results.inc({ kind, verdict }, 0);
    }
    this.latency = new Histogram({
      name: 'idleforge_hub_http_request_duration_seconds',
      help: 'HTTP request latency, by method, route pattern and status class.',
      labelNames: ['method', 'route', 'status_class'],
      buckets: LATENCY_BUCKETS,
      registers,
    });

    const openTasks = (name: string, status: 'queued' | 'leased', help: string): void =>
      void new Gauge({
        name,
        help,
        labelNames: ['kind'],
        registers,
        async collect() {
          const open = await tasksStore.openTasksByKind(src.db);
          for (const kind of JOB_KINDS) this.set({ kind }, open.find((r) => r.kind === kind && r.status === status)?.n ?? 0);
        },
      });
    openTasks('idleforge_hub_tasks_queued', 'queued', 'Tasks waiting for a worker (queue depth), by kind.');
    openTasks('idleforge_hub_tasks_leased', 'leased', 'Tasks leased and not yet answered, by kind.');
    new Gauge({
      name: 'idleforge_hub_oldest_lease_age_seconds',
      help: 'How long the oldest lease still held has been out, in seconds (0: no lease).',
      registers,
      async collect() {
        const expiry = await tasksStore.earliestLeaseExpiry(src.db);
        this.set(expiry === null ? 0 : ageSeconds(src.now(), Date.parse(expiry) - src.leaseMs));
      },
    });
    new Gauge({
      name: 'idleforge_hub_payouts',
      help: 'Payouts by state (pending: recorded, maybe signed; sent: broadcast; confirmed; failed).',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = await payoutsStore.countPayoutsByStatus(src.db);
        for (const state of PAYOUT_STATES) this.set({ state }, counts[state]);
      },
    });
    new Gauge({
      name: 'idleforge_hub_payout_lag_seconds',
      help: 'Age in seconds of the oldest payout not yet settled (pending or sent); 0 when none is open.',
      registers,
      async collect() {
        const at = await payoutsStore.oldestOpenPayoutAt(src.db);
        this.set(at === null ? 0 : ageSeconds(src.now(), Date.parse(at)));
      },
    });
  }

  /** A task of `kind` was leased. */
  leased(kind: string): void {
    this.leases.inc({ kind });
  }

  /** A result of `kind` was judged and answered with `verdict`. */
  judged(kind: string, verdict: ResultResponse['status']): void {
    this.results.inc({ kind, verdict });
  }

  /** Times every request of `app` (by route pattern and status class) as it is answered. */
  installHttp(app: FastifyInstance): void {
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url;
      this.latency.observe({ method: req.method, route: route ?? 'unmatched', status_class: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000);
    });
  }

  readonly contentType = this.registry.contentType;

  /** The text a scrape gets: this hub's metrics, and the process's when asked for. */
  async exposition(): Promise<string> {
    if (!this.withProcess) return this.registry.metrics();
    return Registry.merge([this.registry, processMetrics()]).metrics();
  }
}

function ageSeconds(now: number, since: number): number {
  return Number.isFinite(since) ? Math.max(0, (now - since) / 1000) : 0;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Whether an Authorization header carries `Bearer <token>`. Both sides are hashed first, so the
 * comparison takes the same time whatever the length or the first wrong character.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer ([\x21-\x7e]{1,1024})$/.exec(header ?? '');
  const given = digest(m?.[1] ?? '');
  return timingSafeEqual(given, digest(token)) && m !== null;
}

/** `GET /metrics` on the hub's own port, for `Authorization: Bearer <token>` only (401 otherwise). */
export function registerMetricsRoute(app: FastifyInstance, metrics: HubMetrics, token: string): void {
  app.get(
    METRICS_PATH,
    {
      bodyLimit: BODY_LIMITS.none,
      onRequest: async (req, reply) => {
        if (bearerMatches(req.headers.authorization, token)) return;
        void reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw new HubError(401, 'UNAUTHORIZED', 'the metrics need Authorization: Bearer <the metrics token>');
      },
    },
    async (_req, reply) => reply.type(metrics.contentType).send(await metrics.exposition()),
  );
}

export interface MetricsServer {
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The metrics on a port of their own: `GET /metrics` answers, anything else 404 or 405. */
export async function serveMetrics(metrics: HubMetrics, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const send = (status: number, text: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(text);
    };
    if (path !== METRICS_PATH) return send(404, 'not found: the metrics are at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'only GET\n', { allow: 'GET, HEAD' });
    // The request has no body to wait for: answer and let the connection go.
    metrics.exposition().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => send(500, 'the metrics could not be read\n'),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
