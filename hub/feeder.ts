/**
 * The demo job feeder: a customer that keeps the local network busy with small random jobs,
 * submitted over HTTP like any other customer.
 *
 * Each kind has a backlog of its own (its spec's `demo.backlog` unless told otherwise: 4 matmul
 * jobs, 1 hashsearch job), so work of one kind never waits behind jobs of another that no worker
 * takes, and each kind's spec in jobs/ makes its demo jobs (`demo.make`). Demo jobs are one task
 * each and small: tasks this size keep the protocol's cost (two round trips, the inputs on the
 * wire) small beside the compute (see `idleforge bench hub`).
 *
 * It never starves real customers: the hub leases the oldest waiting task first, and the feeder
 * only tops up its backlogs, so a customer job submitted at any time waits behind at most the
 * feeder tasks already queued before it, never behind an unbounded stream of them. Feeder jobs
 * submitted after a customer job queue behind that job.
 */
import { ErrorBodySchema, JOB_KINDS, JobCreatedSchema, JobStatusSchema, type JobKind, type JobRequest } from '../protocol/index.js';
import { JOB_SPECS, type DemoFieldsOf, type DemoJobs, type RewardRates } from '../jobs/index.js';

export const FEEDER_DEFAULT_INTERVAL_MS = 1000;

/** A demo job the feeder submitted: its kind, id, price and size (the kind's `demo.fields`). */
export type SubmittedEvent = { [K in JobKind]: { type: 'submitted'; kind: K; id: string; price: string } & DemoFieldsOf<K> }[JobKind];

export type FeederEvent = SubmittedEvent | { type: 'finished'; id: string; status: 'done' | 'failed' | 'gone' } | { type: 'error'; message: string };

export interface FeederOptions {
  hubUrl: string;
  customerKey: string;
  /** Most unfinished jobs of each kind at any time (0: none); default each kind's `demo.backlog`. */
  backlogs?: Partial<Record<JobKind, number>>;
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

/** Each kind's demo jobs, as the feeder sees them (a kind's own types widened to any kind's). */
const demoOf = (kind: JobKind): DemoJobs<JobKind, object> => JOB_SPECS[kind].demo as unknown as DemoJobs<JobKind, object>;

const backlogOf = (backlogs: FeederOptions['backlogs'], kind: JobKind): number => backlogs?.[kind] ?? JOB_SPECS[kind].demo.backlog;

/** A submitted demo job in words (its size). */
export function describeSubmitted(event: SubmittedEvent): string {
  return demoOf(event.kind).describe(event);
}

/**
 * The most the feeder can spend in `durationMs` (base units) at the given pay rates: it submits
 * only in rounds at least `intervalMs` apart (the first at once), each at most each kind's backlog
 * of jobs of at most that kind's largest demo job's price, however fast the workers are.
 */
export function feederSpendBound(opts: Pick<FeederOptions, 'backlogs' | 'intervalMs'> & RewardRates, durationMs: number): bigint {
  const intervalMs = opts.intervalMs ?? FEEDER_DEFAULT_INTERVAL_MS;
  const rounds = BigInt(Math.ceil(durationMs / Math.max(1, intervalMs)) + 1);
  const perRound = JOB_KINDS.reduce((sum, kind) => sum + BigInt(backlogOf(opts.backlogs, kind)) * demoOf(kind).maxPrice(opts), 0n);
  return rounds * perRound;
}

async function failure(res: Response): Promise<string> {
  const body: unknown = await res.json().catch(() => null);
  const parsed = ErrorBodySchema.safeParse(body);
  return parsed.success ? `${res.status} ${parsed.data.error.code}: ${parsed.data.error.message}` : `HTTP ${res.status}`;
}

export function startFeeder(opts: FeederOptions): Feeder {
  const hubUrl = opts.hubUrl.replace(/\/+$/, '');
  const backlog = Object.fromEntries(JOB_KINDS.map((kind) => [kind, backlogOf(opts.backlogs, kind)])) as Record<JobKind, number>;
  const intervalMs = opts.intervalMs ?? FEEDER_DEFAULT_INTERVAL_MS;
  const random = opts.random ?? Math.random;
  const emit = opts.onEvent ?? ((): void => undefined);
  for (const [kind, n] of Object.entries(backlog)) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`the ${kind} backlog must be a whole number ≥ 0`);
  }
  const headers = { authorization: `Bearer ${opts.customerKey}` };
  const pending = new Map<string, JobKind>();
  const unfinished = (kind: JobKind): number => [...pending.values()].filter((k) => k === kind).length;
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

  async function submit(job: JobRequest): Promise<void> {
    const res = await fetch(`${hubUrl}/v1/jobs`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(job),
    });
    if (res.status !== 201) throw new Error(`submitting a demo ${job.kind} job: ${await failure(res)}`);
    const created = JobCreatedSchema.parse(await res.json());
    pending.set(created.id, job.kind);
    emit({ type: 'submitted', kind: job.kind, id: created.id, ...demoOf(job.kind).fields(job), price: created.price } as SubmittedEvent);
  }

  async function tick(): Promise<void> {
    try {
      await refresh();
      for (const kind of JOB_KINDS) {
        while (!stopped && unfinished(kind) < backlog[kind]) await submit(demoOf(kind).make(random));
      }
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
