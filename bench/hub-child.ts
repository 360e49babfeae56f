/**
 * The hub's side of `idleforge bench hub` (the command itself is hub.ts): a hub in a
 * child process (its own core, its CPU time read with process.cpuUsage), fresh per measurement,
 * with a database on disk and its real rate limiter (limits raised to let the bench through).
 * - throughput: tiny matmul tasks (16×16×16) and N simulated workers (default 64: each reply waits
 *   for the WAL's fsync, so it takes many in flight to fill the hub) in this process, which sign
 *   in with EIP-4361, then lease, compute (CPU reference) and submit in a loop over keep-alive
 *   HTTP: lease+submit cycles per second, p50/p99 latency of one cycle, hub CPU time per cycle;
 * - feeder-size jobs (`HubChild.queueFeederJobs`), made by the feeder's own generator, for the worker-side
 *   overhead measurement (overhead.ts).
 * IDLEFORGE_BENCH_PROFILE=DIR writes a V8 CPU profile of each hub child there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
import { startLocalHubDatabase } from '../hub/postgres/local-hub.js';

const SMALL = 16;

interface CpuReply {
  type: 'cpu';
  userUs: number;
  systemUs: number;
}
type Sides = { m: number; n: number; k: number }[];
type ChildMessage = { type: 'ready'; url: string; customerKey: string } | CpuReply | { type: 'queued'; sides: Sides } | { type: 'failed'; message: string };

// ---- the hub child -------------------------------------------------------------------------

async function serve(dir: string, tasks: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Its own PostgreSQL beside it, as `idleforge hub --db FOLDER` runs (the machine's database for the bench's figures).
  const database = await startLocalHubDatabase({ dataDir: dir });
  process.once('exit', () => void database.stop());
  const hub = await startHub({
    db: database.url,
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
      process.send?.({ type: 'cpu', userUs: u.user, systemUs: u.system } satisfies CpuReply);
    } else if (m.type === 'stop') {
      void hub.close().then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', url: hub.url, customerKey });
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
  static async start(dir: string, tasks: 'tiny' | 'default', o: { cpus?: string } = {}): Promise<HubChild> {
    const profile = process.env.IDLEFORGE_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.IDLEFORGE_BENCH_PROFILE}`] : [];
    const child = fork(fileURLToPath(import.meta.url), ['--serve', dir, tasks], { execArgv: ['--import', 'tsx', ...profile], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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
    const reply = await new Promise<ChildMessage>((resolve) => {
      this.waiting.push(resolve);
      this.child.send({ type: 'cpu' });
    });
    if (reply.type !== 'cpu') throw new Error('unexpected message from the bench hub');
    return (reply.userUs + reply.systemUs) / 1000;
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
  const verdict = ResultResponseSchema.parse(JSON.parse(sub.text));
  if (verdict.status !== 'accepted') throw new Error(`the hub did not accept a bench result: ${verdict.reason ?? verdict.status}`);
  return true;
}


export interface ThroughputResult {
  workers: number;
  seconds: number;
  task: { m: number; n: number; k: number };
  cycles: number;
  cyclesPerSecond: number;
  latencyMs: { p50: number; p99: number };
  hubCpuMsPerCycle: number;
  /** CPU time of the simulated workers (this process) per cycle. */
  workersCpuMsPerCycle: number;
}

async function throughput(hub: HubChild, workers: number, seconds: number, warmupS: number): Promise<ThroughputResult> {
  // Enough tiny tasks for ~3000 cycles/s over the whole run.
  const tasks = Math.ceil((seconds + warmupS + 1) * 3000);
  const perJob = Math.floor(MATMUL_MAX_DIM / SMALL);
  for (let made = 0; made < tasks; made += perJob) await createJob(hub, SMALL * perJob, SMALL, SMALL);
  const tokens = await Promise.all(Array.from({ length: workers }, () => signIn(hub.url, Wallet.createRandom() as unknown as Wallet)));
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  const loop = async (token: string): Promise<void> => {
    while (!stop) {
      const t = performance.now();
      if (!(await cycle(hub.url, token))) throw new Error('the bench ran out of tasks; lower --seconds');
      if (measuring) latencies.push(performance.now() - t);
    }
  };
  const running = tokens.map((t) => loop(t));
  const failed = Promise.all(running).then(() => null);
  await Promise.race([new Promise((r) => setTimeout(r, warmupS * 1000)), failed]);
  const cpu0 = await hub.cpuMs();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await Promise.race([new Promise((r) => setTimeout(r, seconds * 1000)), failed]);
  measuring = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  const cpu1 = await hub.cpuMs();
  stop = true;
  await Promise.all(running);
  return throughputFigures({ workers, latenciesMs: latencies, elapsedS, hubCpuMs: cpu1 - cpu0, workersCpuMs: (own.user + own.system) / 1000 });
}

/**
 * The throughput figures of one measured window: every cycle that ended in it (its latency, ms),
 * the window's length, and the CPU time the hub and the simulated workers spent in it (ms).
 */
export function throughputFigures(o: { workers: number; latenciesMs: number[]; elapsedS: number; hubCpuMs: number; workersCpuMs: number }): ThroughputResult {
  const latencies = [...o.latenciesMs].sort((a, b) => a - b);
  return {
    workers: o.workers,
    seconds: round(o.elapsedS, 2),
    task: { m: SMALL, n: SMALL, k: SMALL },
    cycles: latencies.length,
    cyclesPerSecond: round(latencies.length / o.elapsedS, 1),
    latencyMs: { p50: round(quantile(latencies, 0.5)), p99: round(quantile(latencies, 0.99)) },
    hubCpuMsPerCycle: round(o.hubCpuMs / latencies.length),
    workersCpuMsPerCycle: round(o.workersCpuMs / latencies.length),
  };
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

/** The throughput measurement on a fresh hub child. */
export async function runThroughput(o: { workers: number; seconds: number; warmupS: number }): Promise<ThroughputResult> {
  const dir = await mkdtemp(join(tmpdir(), 'idleforge-bench-hub-'));
  try {
    const hub = await HubChild.start(join(dir, 'throughput'), 'tiny');
    try {
      return await throughput(hub, o.workers, o.seconds, o.warmupS);
    } finally {
      await hub.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === '--serve') {
  serve(process.argv[3] ?? tmpdir(), process.argv[4] ?? 'default').catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
