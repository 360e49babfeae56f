/**
 * The demo job feeder: a customer that keeps the local network busy with small random matmul
 * jobs, submitted over HTTP like any other customer.
 *
 * It keeps at most `backlog` of its own jobs unfinished. Sides are random in 24..160 (often not
 * multiples of 16, to exercise edge tiles); 160³ multiply-adds is under the 2²² task cap, so
 * every demo job is a single task that a CPU WebGPU finishes in well under a second.
 *
 * It never starves real customers: the hub leases the oldest waiting task first, and the feeder
 * only tops up its backlog, so a customer job submitted at any time waits behind at most
 * `backlog` small feeder tasks (the ones already queued before it), never behind an unbounded
 * stream of them. Feeder jobs submitted after a customer job queue behind that job.
 */
import { ErrorBodySchema, JobCreatedSchema, JobStatusSchema, f32ToBase64, type JobRequest } from '../protocol/index.js';

export const FEEDER_MIN_SIDE = 24;
export const FEEDER_MAX_SIDE = 160;

export type FeederEvent =
  | { type: 'submitted'; id: string; m: number; n: number; k: number; price: string }
  | { type: 'finished'; id: string; status: 'done' | 'failed' | 'gone' }
  | { type: 'error'; message: string };

export interface FeederOptions {
  hubUrl: string;
  customerKey: string;
  /** Most unfinished feeder jobs at any time; default 4. */
  backlog?: number;
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

/** A random demo matmul job. */
export function demoMatmulJob(random: () => number = Math.random): Extract<JobRequest, { kind: 'matmul' }> {
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

async function failure(res: Response): Promise<string> {
  const body: unknown = await res.json().catch(() => null);
  const parsed = ErrorBodySchema.safeParse(body);
  return parsed.success ? `${res.status} ${parsed.data.error.code}: ${parsed.data.error.message}` : `HTTP ${res.status}`;
}

export function startFeeder(opts: FeederOptions): Feeder {
  const hubUrl = opts.hubUrl.replace(/\/+$/, '');
  const backlog = opts.backlog ?? 4;
  const intervalMs = opts.intervalMs ?? 1000;
  const random = opts.random ?? Math.random;
  const emit = opts.onEvent ?? ((): void => undefined);
  if (!Number.isInteger(backlog) || backlog < 0) throw new RangeError('backlog must be a whole number ≥ 0');
  const headers = { authorization: `Bearer ${opts.customerKey}` };
  const pending = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  async function refresh(): Promise<void> {
    for (const id of [...pending]) {
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

  async function submitOne(): Promise<void> {
    const job = demoMatmulJob(random);
    const res = await fetch(`${hubUrl}/v1/jobs`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(job),
    });
    if (res.status !== 201) throw new Error(`submitting a demo job: ${await failure(res)}`);
    const created = JobCreatedSchema.parse(await res.json());
    pending.add(created.id);
    emit({ type: 'submitted', id: created.id, m: job.m, n: job.n, k: job.k, price: created.price });
  }

  async function tick(): Promise<void> {
    try {
      await refresh();
      while (!stopped && pending.size < backlog) await submitOne();
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
      return [...pending];
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
