/**
 * The demo job feeder: a customer that keeps the local network busy with small random jobs,
 * submitted over HTTP like any other customer.
 *
 * matmul: at most `backlog` of its jobs unfinished. Sides are random in 256..512 (often not
 * multiples of 16, to exercise edge tiles); 512³ multiply-adds is the hub's task cap, so every
 * demo job is a single task: about 10–100 ms on a CPU WebGPU with the tuned kernel, a few ms on a
 * gaming GPU. Tasks this size keep the protocol's cost (two round trips, A and B on the wire)
 * small beside the compute (see `idleforge bench hub`).
 *
 * hashsearch: at most `hashsearchBacklog` jobs unfinished (a backlog of their own, so matmul work
 * never waits behind hashsearch jobs that no worker takes), each one task of 2¹⁷..2¹⁹ nonces
 * (about 0.2–1 s on a software GPU) over a random header, with a target that about four nonces
 * of the range meet.
 *
 * It never starves real customers: the hub leases the oldest waiting task first, and the feeder
 * only tops up its backlogs, so a customer job submitted at any time waits behind at most the
 * feeder tasks already queued before it, never behind an unbounded stream of them. Feeder jobs
 * submitted after a customer job queue behind that job.
 */
import { ErrorBodySchema, JobCreatedSchema, JobStatusSchema, f32ToBase64, type JobRequest } from '../protocol/index.js';

export const FEEDER_MIN_SIDE = 256;
export const FEEDER_MAX_SIDE = 512;
/** Nonces of a demo hashsearch job: 2^17 .. 2^19. */
export const FEEDER_MIN_NONCES = 2 ** 17;
export const FEEDER_MAX_NONCES = 2 ** 19;
export const FEEDER_DEFAULT_BACKLOG = 4;
export const FEEDER_DEFAULT_HASHSEARCH_BACKLOG = 1;
export const FEEDER_DEFAULT_INTERVAL_MS = 1000;

export type FeederEvent =
  | { type: 'submitted'; kind: 'matmul'; id: string; m: number; n: number; k: number; price: string }
  | { type: 'submitted'; kind: 'hashsearch'; id: string; count: number; price: string }
  | { type: 'finished'; id: string; status: 'done' | 'failed' | 'gone' }
  | { type: 'error'; message: string };

export interface FeederOptions {
  hubUrl: string;
  customerKey: string;
  /** Most unfinished matmul jobs at any time; default 4. */
  backlog?: number;
  /** Most unfinished hashsearch jobs at any time; default 1 (0: none). */
  hashsearchBacklog?: number;
  /** Pause between checks; default 1000 ms. */
  intervalMs?: number;
  /** Uniform [0, 1) source for sizes and values; default Math.random. */
  random?: () => number;
  onEvent?: (event: FeederEvent) => void;
}

export interface Feeder {
  /** Stops submitting; resolves once any request in flight has finished. */
  stop(): Promise<void>;
  /** Ids of the feeder's jobs it still considers unfinished. */
  readonly pending: readonly string[];
}

type MatmulJob = Extract<JobRequest, { kind: 'matmul' }>;
type HashsearchJob = Extract<JobRequest, { kind: 'hashsearch' }>;

/** A random demo matmul job. */
export function demoMatmulJob(random: () => number = Math.random): MatmulJob {
  const side = (): number => FEEDER_MIN_SIDE + Math.floor(random() * (FEEDER_MAX_SIDE - FEEDER_MIN_SIDE + 1));
  const m = side();
  const n = side();
  const k = side();
  const fill = (len: number): Float32Array => {
    const v = new Float32Array(len);
    for (let i = 0; i < len; i++) v[i] = random() * 2 - 1;
    return v;
  };
  return { kind: 'matmul', m, n, k, a: f32ToBase64(fill(m * k)), b: f32ToBase64(fill(k * n)) };
}

/** A random demo hashsearch job: one task whose range about four nonces meet. */
export function demoHashsearchJob(random: () => number = Math.random): HashsearchJob {
  const bits = Math.log2(FEEDER_MIN_NONCES) + Math.floor(random() * (Math.log2(FEEDER_MAX_NONCES / FEEDER_MIN_NONCES) + 1));
  const count = 2 ** bits;
  const hex = (bytes: number): string => Array.from({ length: bytes }, () => Math.floor(random() * 256).toString(16).padStart(2, '0')).join('');
  // (target + 1) / 2^256 = 4 / count: the top (bits - 2) bits are zero, the rest ones.
  const target = ((1n << BigInt(256 - (bits - 2))) - 1n).toString(16).padStart(64, '0');
  const start = BigInt(Math.floor(random() * 2 ** 32)) * 2n ** 16n;
  return { kind: 'hashsearch', header: hex(32 + Math.floor(random() * 48)), target, start: start.toString(), count };
}

/**
 * The most the feeder can spend in `durationMs` (base units) at the given pay rates: it submits
 * only in rounds at least `intervalMs` apart (the first at once), each at most `backlog` matmul
 * jobs of at most 512³ multiply-adds (2·512³ FLOP) and `hashsearchBacklog` hashsearch jobs of at
 * most 2¹⁹ nonces, however fast the workers are.
 */
export function feederSpendBound(
  opts: Pick<FeederOptions, 'backlog' | 'hashsearchBacklog' | 'intervalMs'> & { rewardPerGflop: bigint; rewardPerMhash: bigint },
  durationMs: number,
): bigint {
  const intervalMs = opts.intervalMs ?? FEEDER_DEFAULT_INTERVAL_MS;
  const rounds = BigInt(Math.ceil(durationMs / Math.max(1, intervalMs)) + 1);
  const matmulJob = (2n * BigInt(FEEDER_MAX_SIDE) ** 3n * opts.rewardPerGflop) / 1_000_000_000n;
  const hashsearchJob = (BigInt(FEEDER_MAX_NONCES) * opts.rewardPerMhash) / 1_000_000n;
  const perRound = BigInt(opts.backlog ?? FEEDER_DEFAULT_BACKLOG) * matmulJob + BigInt(opts.hashsearchBacklog ?? FEEDER_DEFAULT_HASHSEARCH_BACKLOG) * hashsearchJob;
  return rounds * perRound;
}

async function failure(res: Response): Promise<string> {
  const body: unknown = await res.json().catch(() => null);
  const parsed = ErrorBodySchema.safeParse(body);
  return parsed.success ? `${res.status} ${parsed.data.error.code}: ${parsed.data.error.message}` : `HTTP ${res.status}`;
}

export function startFeeder(opts: FeederOptions): Feeder {
  const hubUrl = opts.hubUrl.replace(/\/+$/, '');
  const backlog = { matmul: opts.backlog ?? FEEDER_DEFAULT_BACKLOG, hashsearch: opts.hashsearchBacklog ?? FEEDER_DEFAULT_HASHSEARCH_BACKLOG };
  const intervalMs = opts.intervalMs ?? FEEDER_DEFAULT_INTERVAL_MS;
  const random = opts.random ?? Math.random;
  const emit = opts.onEvent ?? ((): void => undefined);
  for (const [kind, n] of Object.entries(backlog)) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`the ${kind} backlog must be a whole number ≥ 0`);
  }
  const headers = { authorization: `Bearer ${opts.customerKey}` };
  const pending = new Map<string, 'matmul' | 'hashsearch'>();
  const unfinished = (kind: 'matmul' | 'hashsearch'): number => [...pending.values()].filter((k) => k === kind).length;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  async function refresh(): Promise<void> {
    for (const id of [...pending.keys()]) {
      if (stopped) return;
      const res = await fetch(`${hubUrl}/v1/jobs/${encodeURIComponent(id)}`, { headers });
      if (res.status === 404) {
        pending.delete(id);
        emit({ type: 'finished', id, status: 'gone' });
        continue;
      }
      if (!res.ok) throw new Error(`checking job ${id}: ${await failure(res)}`);
      const status = JobStatusSchema.parse(await res.json());
      if (status.status === 'done' || status.status === 'failed') {
        pending.delete(id);
        emit({ type: 'finished', id, status: status.status });
      }
    }
  }

  async function submit(job: MatmulJob | HashsearchJob): Promise<void> {
    const res = await fetch(`${hubUrl}/v1/jobs`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(job),
    });
    if (res.status !== 201) throw new Error(`submitting a demo ${job.kind} job: ${await failure(res)}`);
    const created = JobCreatedSchema.parse(await res.json());
    pending.set(created.id, job.kind);
    if (job.kind === 'matmul') emit({ type: 'submitted', kind: 'matmul', id: created.id, m: job.m, n: job.n, k: job.k, price: created.price });
    else emit({ type: 'submitted', kind: 'hashsearch', id: created.id, count: job.count, price: created.price });
  }

  async function tick(): Promise<void> {
    try {
      await refresh();
      while (!stopped && unfinished('matmul') < backlog.matmul) await submit(demoMatmulJob(random));
      while (!stopped && unfinished('hashsearch') < backlog.hashsearch) await submit(demoHashsearchJob(random));
    } catch (err) {
      if (!stopped) emit({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
    if (!stopped) {
      timer = setTimeout(() => {
        running = tick();
      }, intervalMs);
      timer.unref();
    }
  }

  running = tick();
  return {
    get pending() {
      return [...pending.keys()];
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
