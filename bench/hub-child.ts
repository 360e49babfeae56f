/**
 * The hub's side of `idleforge bench hub` (the command itself is hub.ts): a hub in a
 * child process (its own core, its CPU time read with process.cpuUsage), fresh per measurement,
 * on PostgreSQL (fsync on) and its real rate limiter (limits raised to let the bench through).
 * - throughput: tiny matmul tasks (16×16×16) and N simulated workers (default 64: each reply waits
 *   for its commit, so it takes many in flight to fill the hub) in load processes, which sign
 *   in with EIP-4361, then lease, compute (CPU reference) and submit in a loop over keep-alive
 *   HTTP: lease+submit cycles per second, p50/p99 latency of one cycle, hub CPU time per cycle;
 * - feeder-size jobs (`HubChild.queueFeederJobs`), made by the feeder's own generator, for the worker-side
 *   overhead measurement (overhead.ts).
 * IDLEFORGE_BENCH_PROFILE=DIR writes a V8 CPU profile of each hub child there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Wallet } from 'ethers';
import {
  ChallengeResponseSchema,
  JobCreatedSchema,
  LeaseResponseSchema,
  LoginResponseSchema,
  ResultResponseSchema,
  MATMUL_MAX_DIM,
  f32ToBase64, toF32,
} from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { pinProcess } from '../lib/affinity.js';
import { quantile, round } from './stats.js';
import { JOB_SPECS } from '../jobs/index.js';
import { DEFAULT_MAX_CONNECTIONS } from '../hub/http-guards.js';
import { startHub } from '../hub/server.js';
import { dbTimes } from '../hub/store/db.js';
import pg from 'pg';
import { startLocalHubDatabase } from '../hub/postgres/local-hub.js';
import { startLocalPostgres } from '../hub/postgres/local.js';
import { postmasterPid, treeCpuMs } from './process-cpu.js';

const SMALL = 16;

interface CpuReply {
  type: 'cpu';
  userUs: number;
  systemUs: number;
  /** Time waiting for PostgreSQL's answers, and the statements (see store/db.ts dbTimes). */
  dbWaitMs: number;
  statements: number;
  /** CPU in JSON.parse/JSON.stringify, and in the kinds' verify. */
  jsonMs: number;
  verifyMs: number;
}
type Sides = { m: number; n: number; k: number }[];
type ChildMessage = { type: 'ready'; url: string; customerKey: string } | CpuReply | { type: 'queued'; sides: Sides } | { type: 'failed'; message: string };

// ---- the hub child -------------------------------------------------------------------------

async function serve(dir: string, tasks: string, dbUrl: string | undefined): Promise<void> {
  await mkdir(dir, { recursive: true });
  // The database it is given (all hub children of one measurement share it), else a PostgreSQL
  // of its own beside it, as `idleforge hub --db FOLDER` runs.
  const database = dbUrl ? null : await startLocalHubDatabase({ dataDir: dir });
  process.once('exit', () => void database?.stop());
  const spent = instrument();
  const hub = await startHub({
    db: dbUrl ?? database!.url,
    // Tiny tasks for the throughput run: 16 rows of 16×16; else the hub's default cap.
    ...(tasks === 'tiny' ? { matmulTaskMacs: SMALL * SMALL * SMALL } : {}),
    leaseSeconds: 600,
    // The bench's customer never runs out of balance or quota: what is measured is the hub's work.
    customerStartingBalance: 10n ** 36n,
    quotas: { openJobs: 1_000_000, openTasks: 10_000_000 },
    rateLimits: {
      perIp: { perSecond: 1e6, burst: 1e6 },
      signIn: { perSecond: 1e4, burst: 1e4 },
      perWorker: { perSecond: 1e5, burst: 1e5 },
      perCustomer: { perSecond: 1e5, burst: 1e5 },
    },
    // Every simulated worker connects from 127.0.0.1: one address may hold as many as all.
    httpGuards: { maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS },
    ...(process.env.IDLEFORGE_BENCH_LOG ? { logger: { level: 'error' as const, write: (line: string) => process.stderr.write(line) } } : {}),
  });
  const customerKey = await hub.createCustomer('bench');
  process.on('message', (m: { type: string; count?: number; seed?: number; zeroB?: boolean }) => {
    if (m.type === 'queue') {
      queueJobs(hub.url, customerKey, m.count ?? 0, m.seed ?? 1, m.zeroB ?? false).then(
        (sides) => process.send?.({ type: 'queued', sides } satisfies ChildMessage),
        (error: unknown) => process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies ChildMessage),
      );
    } else if (m.type === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ type: 'cpu', userUs: u.user, systemUs: u.system, dbWaitMs: dbTimes.waitMs, statements: dbTimes.statements, jsonMs: spent.jsonMs, verifyMs: spent.verifyMs } satisfies CpuReply);
    } else if (m.type === 'stop') {
      // Its PostgreSQL stopped before the child exits: the bench deletes the folder next.
      void hub
        .close()
        .then(() => database?.stop())
        .then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', url: hub.url, customerKey });
}

/**
 * Times, in this hub child, the work the bench reports apart: JSON (every JSON.parse and
 * JSON.stringify of the process, Fastify's included) and verification (each kind's `verify`).
 */
function instrument(): { jsonMs: number; verifyMs: number } {
  const spent = { jsonMs: 0, verifyMs: 0 };
  const time = <A extends unknown[], R>(fn: (...args: A) => R, add: (ms: number) => void) => (...args: A): R => {
    const t0 = performance.now();
    try {
      return fn(...args);
    } finally {
      add(performance.now() - t0);
    }
  };
  JSON.parse = time(JSON.parse.bind(JSON), (ms) => (spent.jsonMs += ms)) as typeof JSON.parse;
  JSON.stringify = time(JSON.stringify.bind(JSON), (ms) => (spent.jsonMs += ms)) as typeof JSON.stringify;
  for (const spec of Object.values(JOB_SPECS) as { verify: (...args: never[]) => unknown }[]) {
    spec.verify = time(spec.verify.bind(spec), (ms) => (spent.verifyMs += ms));
  }
  return spent;
}

// ---- the driver ----------------------------------------------------------------------------

export class HubChild {
  private readonly waiting: ((m: ChildMessage) => void)[] = [];
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly customerKey: string,
  ) {
    child.on('message', (m: ChildMessage) => this.waiting.shift()?.(m));
  }

  /** Starts a hub child; `cpus` pins it (and all its threads) to those cores ("1", "2-3"). */
  static async start(dir: string, tasks: 'tiny' | 'default', o: { cpus?: string; db?: string } = {}): Promise<HubChild> {
    const profile = process.env.IDLEFORGE_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.IDLEFORGE_BENCH_PROFILE}`] : [];
    const child = fork(fileURLToPath(import.meta.url), ['--serve', dir, tasks, ...(o.db ? [o.db] : [])], { execArgv: ['--import', 'tsx', ...profile], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    if (o.cpus !== undefined && child.pid !== undefined) pinProcess(child.pid, o.cpus);
    const ready = await new Promise<ChildMessage>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`the bench hub exited (${code}) before it was ready`)));
    });
    if (ready.type !== 'ready') throw new Error('the bench hub did not say it was ready');
    return new HubChild(child, ready.url, ready.customerKey);
  }

  /**
   * Has the child queue `count` one-task matmul jobs made by the feeder's generator (seeded);
   * returns their sides. `zeroB`: B all zeros (so C = 0 is the right answer: the protocol
   * measured without compute). The child makes and posts them itself: their megabytes of base64
   * text would otherwise be garbage in the measuring process, collected (measured: pauses up to
   * 180 ms) while it measures.
   */
  async queueFeederJobs(count: number, seed = 1, zeroB = false): Promise<Sides> {
    const reply = await new Promise<ChildMessage>((resolve) => {
      this.waiting.push(resolve);
      this.child.send({ type: 'queue', count, seed, zeroB });
    });
    if (reply.type === 'failed') throw new Error(reply.message);
    if (reply.type !== 'queued') throw new Error('unexpected message from the bench hub');
    return reply.sides;
  }

  /** The child's CPU time so far, in milliseconds. */
  async cpuMs(): Promise<number> {
    return (await this.spent()).cpuMs;
  }

  /** The child's CPU so far and where its time went (ms). */
  async spent(): Promise<Spent> {
    const reply = await new Promise<ChildMessage>((resolve) => {
      this.waiting.push(resolve);
      this.child.send({ type: 'cpu' });
    });
    if (reply.type !== 'cpu') throw new Error('unexpected message from the bench hub');
    return { cpuMs: (reply.userUs + reply.systemUs) / 1000, dbWaitMs: reply.dbWaitMs, statements: reply.statements, jsonMs: reply.jsonMs, verifyMs: reply.verifyMs };
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * The simulated workers' HTTP client: node:http with keep-alive, much lighter than fetch, so
 * that on a small machine the workers leave the CPU to the hub being measured.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface Reply {
  status: number;
  text: string;
}

function post(url: string, token: string, body: unknown): Promise<Reply> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise<Reply>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': payload.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function signIn(hubUrl: string, wallet: Wallet): Promise<string> {
  const c = await post(`${hubUrl}/v1/auth/challenge`, 'none', { address: wallet.address });
  const { message } = ChallengeResponseSchema.parse(JSON.parse(c.text));
  const l = await post(`${hubUrl}/v1/auth/login`, 'none', { message, signature: await wallet.signMessage(message) });
  return LoginResponseSchema.parse(JSON.parse(l.text)).token;
}

function randomMatrix(len: number): Float32Array {
  const v = new Float32Array(len);
  for (let i = 0; i < len; i++) v[i] = Math.random() * 2 - 1;
  return v;
}

async function createJob(hub: HubChild, m: number, n: number, k: number): Promise<number> {
  const res = await post(`${hub.url}/v1/jobs`, hub.customerKey, { kind: 'matmul', m, n, k, a: f32ToBase64(randomMatrix(m * k)), b: f32ToBase64(randomMatrix(k * n)) });
  if (res.status !== 201) throw new Error(`creating a bench job: HTTP ${res.status} ${res.text}`);
  return JobCreatedSchema.parse(JSON.parse(res.text)).tasks;
}

/** One lease → compute → submit cycle; false when there was no work. */
async function cycle(hubUrl: string, token: string): Promise<boolean> {
  const res = await post(`${hubUrl}/v1/tasks/lease`, token, { kinds: ['matmul'] });
  if (res.status === 204) return false;
  if (res.status !== 200) throw new Error(`lease: HTTP ${res.status} ${res.text}`);
  const { task } = LeaseResponseSchema.parse(JSON.parse(res.text));
  if (task.kind !== 'matmul') throw new Error('the bench only leases matmul');
  const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
  const sub = await post(`${hubUrl}/v1/tasks/${task.id}/result`, token, { output: { c: f32ToBase64(c) } });
  if (sub.status !== 200) throw new Error(`submit: HTTP ${sub.status} ${sub.text}`);
  const verdict = ResultResponseSchema.parse(JSON.parse(sub.text));
  if (verdict.status !== 'accepted') throw new Error(`the hub did not accept a bench result: ${verdict.reason ?? verdict.status}`);
  return true;
}


/** A hub child's CPU and where its time went, so far (ms). */
export interface Spent {
  cpuMs: number;
  dbWaitMs: number;
  statements: number;
  jsonMs: number;
  verifyMs: number;
}

export interface ThroughputResult {
  /** Hub processes on the one database. */
  processes: number;
  /** Processes the simulated workers ran in. */
  loadProcesses: number;
  workers: number;
  seconds: number;
  task: { m: number; n: number; k: number };
  cycles: number;
  cyclesPerSecond: number;
  latencyMs: { p50: number; p99: number };
  /** CPU of all hub processes per cycle. */
  hubCpuMsPerCycle: number;
  /** CPU time of the simulated workers per cycle. */
  workersCpuMsPerCycle: number;
  /** CPU of the PostgreSQL cluster per cycle (every backend), where the bench started it on Linux; else null. */
  dbCpuMsPerCycle: number | null;
  /**
   * Bytes of write-ahead log per cycle: what the database wrote for it (rows, index entries,
   * commits), a figure that does not swing with the machine's load as times do; null where not read.
   */
  walBytesPerCycle: number | null;
  /**
   * Where a cycle's time goes in the hubs, per cycle: waiting on PostgreSQL (statements in
   * flight at once each count), and CPU in JSON and in verification; `statements` per cycle.
   */
  perCycle: { dbWaitMs: number; statements: number; jsonMs: number; verifyMs: number };
}

/**
 * The throughput figures of one measured window: every cycle that ended in it (its latency, ms),
 * the window's length, and the CPU time the hub and the simulated workers spent in it (ms).
 */
export function throughputFigures(o: {
  workers: number;
  latenciesMs: number[];
  elapsedS: number;
  hubCpuMs: number;
  workersCpuMs: number;
  dbCpuMs?: number | null;
  walBytes?: number | null;
  processes?: number;
  loadProcesses?: number;
  spent?: Omit<Spent, 'cpuMs'>;
}): ThroughputResult {
  const latencies = [...o.latenciesMs].sort((a, b) => a - b);
  const n = Math.max(1, latencies.length);
  const spent = o.spent ?? { dbWaitMs: 0, statements: 0, jsonMs: 0, verifyMs: 0 };
  return {
    processes: o.processes ?? 1,
    loadProcesses: o.loadProcesses ?? 1,
    workers: o.workers,
    seconds: round(o.elapsedS, 2),
    task: { m: SMALL, n: SMALL, k: SMALL },
    cycles: latencies.length,
    cyclesPerSecond: round(latencies.length / o.elapsedS, 1),
    latencyMs: { p50: round(quantile(latencies, 0.5)), p99: round(quantile(latencies, 0.99)) },
    hubCpuMsPerCycle: round(o.hubCpuMs / n),
    workersCpuMsPerCycle: round(o.workersCpuMs / n),
    dbCpuMsPerCycle: o.dbCpuMs === undefined || o.dbCpuMs === null ? null : round(o.dbCpuMs / n),
    walBytesPerCycle: o.walBytes === undefined || o.walBytes === null ? null : Math.round(o.walBytes / n),
    perCycle: { dbWaitMs: round(spent.dbWaitMs / n), statements: round(spent.statements / n, 1), jsonMs: round(spent.jsonMs / n, 3), verifyMs: round(spent.verifyMs / n, 3) },
  };
}

// ---- the load: simulated workers in processes of their own -----------------------------------

type LoadMessage = { type: 'ready' } | { type: 'done'; latencies: number[]; cpuMs: number; elapsedS: number } | { type: 'failed'; message: string };

/** In a load child: `workers` simulated workers over the hubs at `urls`, driven by the parent. */
async function load(urls: string[], workers: number): Promise<void> {
  const tokens = await Promise.all(Array.from({ length: workers }, (_, i) => signIn(urls[i % urls.length]!, Wallet.createRandom() as unknown as Wallet)));
  let measuring = false;
  let stop = false;
  let latencies: number[] = [];
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  const fail = (error: unknown): void => {
    process.send?.({ type: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies LoadMessage);
  };
  const loop = async (url: string, token: string): Promise<void> => {
    while (!stop) {
      const t = performance.now();
      if (!(await cycle(url, token))) throw new Error('the bench ran out of tasks; lower --seconds');
      if (measuring) latencies.push(performance.now() - t);
    }
  };
  let running: Promise<void[]> | null = null;
  process.on('message', (m: { type: string }) => {
    if (m.type === 'go') {
      running = Promise.all(tokens.map((token, i) => loop(urls[i % urls.length]!, token)));
      running.catch(fail);
    } else if (m.type === 'mark') {
      latencies = [];
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      measuring = true;
    } else if (m.type === 'stop') {
      measuring = false;
      const elapsedS = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      stop = true;
      void (running ?? Promise.resolve([])).then(
        () => {
          process.send?.({ type: 'done', latencies, cpuMs: (cpu.user + cpu.system) / 1000, elapsedS } satisfies LoadMessage);
          setImmediate(() => process.exit(0));
        },
        (error: unknown) => {
          fail(error);
          process.exit(1);
        },
      );
    }
  });
  process.send?.({ type: 'ready' } satisfies LoadMessage);
}

class LoadChild {
  private readonly next: ((m: LoadMessage) => void)[] = [];
  private failure: string | null = null;
  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: LoadMessage) => {
      if (m.type === 'failed') this.failure = m.message;
      this.next.shift()?.(m);
    });
  }

  static async start(urls: string[], workers: number): Promise<LoadChild> {
    const child = fork(fileURLToPath(import.meta.url), ['--load', JSON.stringify(urls), String(workers)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const l = new LoadChild(child);
    const ready = await l.reply();
    if (ready.type !== 'ready') throw new Error(ready.type === 'failed' ? ready.message : 'the load process did not start');
    return l;
  }

  private reply(): Promise<LoadMessage> {
    return new Promise((resolve, reject) => {
      this.next.push(resolve);
      this.child.once('exit', (code) => reject(new Error(this.failure ?? `a load process exited (${code})`)));
    });
  }

  send(type: 'go' | 'mark'): void {
    if (this.failure) throw new Error(this.failure);
    this.child.send({ type });
  }

  async finish(): Promise<{ latencies: number[]; cpuMs: number; elapsedS: number }> {
    const done = this.reply();
    this.child.send({ type: 'stop' });
    const m = await done;
    if (m.type !== 'done') throw new Error(m.type === 'failed' ? m.message : 'the load process did not report');
    return m;
  }
}

/** The database's current write-ahead log position (bytes), or null where it cannot be read. */
async function walLsn(url: string): Promise<bigint | null> {
  const c = new pg.Client({ connectionString: url });
  try {
    await c.connect();
    const r = await c.query<{ lsn: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS lsn");
    return BigInt(r.rows[0]!.lsn.split('.')[0]!);
  } catch {
    return null;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function sumSpent(hubs: HubChild[]): Promise<Spent> {
  const all = await Promise.all(hubs.map((h) => h.spent()));
  return all.reduce((a, b) => ({ cpuMs: a.cpuMs + b.cpuMs, dbWaitMs: a.dbWaitMs + b.dbWaitMs, statements: a.statements + b.statements, jsonMs: a.jsonMs + b.jsonMs, verifyMs: a.verifyMs + b.verifyMs }));
}

/**
 * `processes` hub children on the database at `db`, `workers` simulated workers spread over them
 * (round robin) and over `loadProcesses` processes of their own: cycles per second in all.
 */
async function throughput(o: { dir: string; db?: string; dbPid?: number | null; processes: number; loadProcesses: number; workers: number; seconds: number; warmupS: number }): Promise<ThroughputResult> {
  const hubs: HubChild[] = [];
  const loads: LoadChild[] = [];
  try {
    for (let i = 0; i < o.processes; i++) hubs.push(await HubChild.start(join(o.dir, `hub${i}`), 'tiny', o.db ? { db: o.db } : {}));
    // Enough tiny tasks for ~3,000 cycles/s per process over the whole run.
    const tasks = Math.ceil((o.seconds + o.warmupS + 1) * 3000 * o.processes);
    const perJob = Math.floor(MATMUL_MAX_DIM / SMALL);
    for (let made = 0; made < tasks; made += perJob) await createJob(hubs[0]!, SMALL * perJob, SMALL, SMALL);
    const urls = hubs.map((h) => h.url);
    for (let i = 0; i < o.loadProcesses; i++) {
      const share = Math.floor(o.workers / o.loadProcesses) + (i < o.workers % o.loadProcesses ? 1 : 0);
      if (share > 0) loads.push(await LoadChild.start(urls, share));
    }
    for (const l of loads) l.send('go');
    await sleepMs(o.warmupS * 1000);
    const dbCpu = (): number | null => (o.dbPid ? treeCpuMs(o.dbPid) : null);
    const before = await sumSpent(hubs);
    const dbBefore = dbCpu();
    const walBefore = o.db ? await walLsn(o.db) : null;
    for (const l of loads) l.send('mark');
    await sleepMs(o.seconds * 1000);
    const results = await Promise.all(loads.map((l) => l.finish()));
    const after = await sumSpent(hubs);
    const dbAfter = dbCpu();
    const walAfter = o.db ? await walLsn(o.db) : null;
    const elapsedS = results.reduce((a, r) => a + r.elapsedS, 0) / results.length;
    return throughputFigures({
      workers: o.workers,
      processes: o.processes,
      loadProcesses: loads.length,
      latenciesMs: results.flatMap((r) => r.latencies),
      elapsedS,
      hubCpuMs: after.cpuMs - before.cpuMs,
      workersCpuMs: results.reduce((a, r) => a + r.cpuMs, 0),
      dbCpuMs: dbBefore === null || dbAfter === null ? null : dbAfter - dbBefore,
      walBytes: walBefore === null || walAfter === null ? null : Number(walAfter - walBefore),
      spent: { dbWaitMs: after.dbWaitMs - before.dbWaitMs, statements: after.statements - before.statements, jsonMs: after.jsonMs - before.jsonMs, verifyMs: after.verifyMs - before.verifyMs },
    });
  } finally {
    for (const l of loads) l.child.kill('SIGKILL');
    await Promise.all(hubs.map((h) => h.stop()));
  }
}

/** In the hub child: makes and posts the jobs of `HubChild.queueFeederJobs`. */
async function queueJobs(url: string, customerKey: string, count: number, seed: number, zeroB: boolean): Promise<Sides> {
  let x = seed >>> 0;
  const random = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
  const sides: Sides = [];
  for (let i = 0; i < count; i++) {
    const feeder = JOB_SPECS.matmul.demo.make(random);
    const job = zeroB ? { ...feeder, b: f32ToBase64(new Float32Array(feeder.k * feeder.n)) } : feeder;
    const res = await post(`${url}/v1/jobs`, customerKey, job);
    if (res.status !== 201) throw new Error(`queueing a feeder job: HTTP ${res.status} ${res.text}`);
    if (JobCreatedSchema.parse(JSON.parse(res.text)).tasks !== 1) throw new Error('a feeder job was cut into several tasks');
    sides.push({ m: job.m, n: job.n, k: job.k });
  }
  return sides;
}

/**
 * Throughput with 1, 2, 4… hub processes (`processes`), each count on a database of its own: a
 * fresh one on a PostgreSQL this bench starts (fsync on, as a hub's), or, with `db`, the
 * database at that URL, shared by every count (the tasks of earlier counts stay in it, done).
 */
export async function runThroughput(o: { workers: number; seconds: number; warmupS: number; processes?: readonly number[]; loadProcesses?: number; db?: string }): Promise<ThroughputResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'idleforge-bench-hub-'));
  const cluster = o.db ? null : await startLocalPostgres({ dir: join(dir, 'postgres') });
  try {
    const out: ThroughputResult[] = [];
    for (const processes of o.processes ?? [1]) {
      let db = o.db;
      if (cluster) {
        const admin = new pg.Client({ connectionString: cluster.url });
        await admin.connect();
        try {
          await admin.query(`CREATE DATABASE bench_${processes}`);
        } finally {
          await admin.end();
        }
        const u = new URL(cluster.url);
        u.pathname = `/bench_${processes}`;
        db = u.toString();
      }
      out.push(
        await throughput({ dir: join(dir, `p${processes}`), ...(db ? { db } : {}), dbPid: cluster ? postmasterPid(cluster.pgdata) : null, processes, loadProcesses: o.loadProcesses ?? defaultLoadProcesses(), workers: o.workers, seconds: o.seconds, warmupS: o.warmupS }),
      );
    }
    return out;
  } finally {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Load processes by default: one per 4 cores (one on a small machine), so the load is not what limits. */
export function defaultLoadProcesses(cpus = availableParallelism()): number {
  return Math.max(1, Math.floor(cpus / 4));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === '--serve') {
  serve(process.argv[3] ?? tmpdir(), process.argv[4] ?? 'default', process.argv[5]).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === '--load') {
  load(JSON.parse(process.argv[3] ?? '[]') as string[], Number(process.argv[4] ?? 1)).catch((err: unknown) => {
    process.send?.({ type: 'failed', message: err instanceof Error ? err.message : String(err) } satisfies LoadMessage);
    process.exit(1);
  });
}
