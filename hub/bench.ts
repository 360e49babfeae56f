/**
 * `idleforge bench hub [--json] [--workers N] [--seconds S] [--gpu-gflops G]`: how fast the hub
 * leases and judges tasks, measured on loopback.
 *
 * The hub runs in a child process (its own core, its CPU time read with process.cpuUsage), a fresh
 * one per measurement, with a database on disk and its real rate limiter (limits raised to let the
 * bench through). N simulated workers (default 64: each reply waits for the WAL's fsync, so it
 * takes many in flight to fill the hub) in this process sign in with EIP-4361, then lease,
 * compute (CPU reference) and submit in a loop, over keep-alive HTTP. Two measurements:
 * - throughput: tiny matmul tasks (16×16×16), N workers at once: lease+submit cycles per second,
 *   p50/p99 latency of one cycle, hub CPU time per cycle;
 * - overhead at the feeder's sizes: one worker, one-task jobs of the feeder's mean and largest
 *   sides (92 and 160): the time a worker spends on the protocol per task (lease and submit round
 *   trips, the hub's verification included) and the hub's CPU time per task (and, apart, per job
 *   taken in), against the task's compute time on a software GPU (`--gpu-gflops`, default
 *   0.25 GFLOP/s, SwiftShader's range on this kind of machine being about 0.1–0.5) and, for
 *   reference, with the CPU reference here.
 * IDLEFORGE_BENCH_PROFILE=DIR writes a V8 CPU profile of each hub child there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Wallet } from 'ethers';
import {
  ChallengeResponseSchema,
  JobCreatedSchema,
  LeaseResponseSchema,
  LoginResponseSchema,
  ResultResponseSchema,
  MATMUL_MAX_DIM,
  base64ToF32,
  f32ToBase64,
} from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { FEEDER_MAX_SIDE, FEEDER_MIN_SIDE } from './feeder.js';
import { startHub } from './server.js';

const SMALL = 16;
/** Mean side of the feeder's uniform 24..160 sides. */
const FEEDER_MEAN_SIDE = Math.round((FEEDER_MIN_SIDE + FEEDER_MAX_SIDE) / 2);

interface CpuReply {
  type: 'cpu';
  userUs: number;
  systemUs: number;
}
type ChildMessage = { type: 'ready'; url: string; customerKey: string } | CpuReply;

// ---- the hub child -------------------------------------------------------------------------

async function serve(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const hub = await startHub({
    dbPath: join(dir, 'hub.db'),
    // Tiny tasks for the throughput run: 16 rows of 16×16.
    matmulTaskMacs: SMALL * SMALL * SMALL,
    leaseSeconds: 600,
    rateLimits: {
      perIp: { perSecond: 1e6, burst: 1e6 },
      signIn: { perSecond: 1e4, burst: 1e4 },
      perWorker: { perSecond: 1e5, burst: 1e5 },
      perCustomer: { perSecond: 1e5, burst: 1e5 },
    },
  });
  const customerKey = hub.createCustomer('bench');
  process.on('message', (m: { type: string }) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      process.send?.({ type: 'cpu', userUs: u.user, systemUs: u.system } satisfies CpuReply);
    } else if (m.type === 'stop') {
      void hub.close().then(() => process.exit(0));
    }
  });
  process.send?.({ type: 'ready', url: hub.url, customerKey });
}

// ---- the driver ----------------------------------------------------------------------------

class HubChild {
  private readonly waiting: ((m: ChildMessage) => void)[] = [];
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly customerKey: string,
  ) {
    child.on('message', (m: ChildMessage) => this.waiting.shift()?.(m));
  }

  static async start(dir: string): Promise<HubChild> {
    const profile = process.env.IDLEFORGE_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.IDLEFORGE_BENCH_PROFILE}`] : [];
    const child = fork(fileURLToPath(import.meta.url), ['--serve', dir], { execArgv: ['--import', 'tsx', ...profile], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const ready = await new Promise<ChildMessage>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`the bench hub exited (${code}) before it was ready`)));
    });
    if (ready.type !== 'ready') throw new Error('the bench hub did not say it was ready');
    return new HubChild(child, ready.url, ready.customerKey);
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

/** One lease → compute → submit cycle; returns the protocol's share of it (ms) or null when there was no work. */
async function cycle(hubUrl: string, token: string): Promise<{ protocolMs: number; computeMs: number } | null> {
  const t0 = performance.now();
  const res = await post(`${hubUrl}/v1/tasks/lease`, token, { kinds: ['matmul'] });
  if (res.status === 204) return null;
  if (res.status !== 200) throw new Error(`lease: HTTP ${res.status} ${res.text}`);
  const { task } = LeaseResponseSchema.parse(JSON.parse(res.text));
  if (task.kind !== 'matmul') throw new Error('the bench only leases matmul');
  const t1 = performance.now();
  const c = matmul.matmulReference(task.params, base64ToF32(task.inputs.a), base64ToF32(task.inputs.b));
  const t2 = performance.now();
  const sub = await post(`${hubUrl}/v1/tasks/${task.id}/result`, token, { output: { c: f32ToBase64(c) } });
  const verdict = ResultResponseSchema.parse(JSON.parse(sub.text));
  if (verdict.status !== 'accepted') throw new Error(`the hub did not accept a bench result: ${verdict.reason ?? verdict.status}`);
  const t3 = performance.now();
  return { protocolMs: t1 - t0 + (t3 - t2), computeMs: t2 - t1 };
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

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
      const r = await cycle(hub.url, token);
      if (r === null) throw new Error('the bench ran out of tasks; lower --seconds');
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
  latencies.sort((a, b) => a - b);
  return {
    workers,
    seconds: round(elapsedS, 2),
    task: { m: SMALL, n: SMALL, k: SMALL },
    cycles: latencies.length,
    cyclesPerSecond: round(latencies.length / elapsedS, 1),
    latencyMs: { p50: round(quantile(latencies, 0.5)), p99: round(quantile(latencies, 0.99)) },
    hubCpuMsPerCycle: round((cpu1 - cpu0) / latencies.length),
    workersCpuMsPerCycle: round((own.user + own.system) / 1000 / latencies.length),
  };
}

export interface OverheadResult {
  side: number;
  gflop: number;
  tasks: number;
  /** Per task, p50: the worker's time in lease + submit round trips (verification included). */
  protocolMsP50: number;
  protocolMsP99: number;
  /** The hub's CPU per task for the protocol: lease, judging the result, recording it (and the database upkeep meanwhile). */
  hubCpuMsPerTask: number;
  /** The hub's CPU per one-task job taken from the customer (parsing, checking and storing A and B). */
  hubCpuMsIntakePerJob: number;
  computeMs: { cpuReference: number; softwareGpu: number };
  /** protocolMsP50 / computeMs.softwareGpu, in percent. */
  overheadPct: number;
  hubCpuPct: number;
}

async function overhead(hub: HubChild, side: number, tasks: number, gpuGflops: number): Promise<OverheadResult> {
  const token = await signIn(hub.url, Wallet.createRandom() as unknown as Wallet);
  const intake0 = await hub.cpuMs();
  for (let i = 0; i < tasks; i++) await createJob(hub, side, side, side);
  const cpu0 = await hub.cpuMs();
  // The first two cycles warm the JIT; their round trips are not counted (their CPU is).
  const warm = 2;
  const protocol: number[] = [];
  const compute: number[] = [];
  for (let i = 0; i < tasks; i++) {
    const r = await cycle(hub.url, token);
    if (r === null) throw new Error('the bench ran out of feeder-size tasks');
    if (i >= warm) {
      protocol.push(r.protocolMs);
      compute.push(r.computeMs);
    }
  }
  const cpu1 = await hub.cpuMs();
  protocol.sort((a, b) => a - b);
  compute.sort((a, b) => a - b);
  const flop = Number(matmul.matmulWorkUnits({ m: side, n: side, k: side }));
  const softwareGpu = (flop / (gpuGflops * 1e9)) * 1000;
  const hubCpu = (cpu1 - cpu0) / tasks;
  return {
    side,
    gflop: round(flop / 1e9, 6),
    tasks: protocol.length,
    protocolMsP50: round(quantile(protocol, 0.5)),
    protocolMsP99: round(quantile(protocol, 0.99)),
    hubCpuMsPerTask: round(hubCpu),
    hubCpuMsIntakePerJob: round((cpu0 - intake0) / tasks),
    computeMs: { cpuReference: round(quantile(compute, 0.5)), softwareGpu: round(softwareGpu) },
    overheadPct: round((100 * quantile(protocol, 0.5)) / softwareGpu, 2),
    hubCpuPct: round((100 * hubCpu) / softwareGpu, 2),
  };
}

export interface BenchResult {
  bench: 'hub';
  machine: { cpus: number; node: string };
  throughput: ThroughputResult;
  feederSizes: { gpuGflopsAssumed: number; mean: OverheadResult; largest: OverheadResult };
  targets: { cyclesPerSecond: number; overheadPct: number; met: { throughput: boolean; overhead: boolean } };
}

export async function runBench(o: { workers: number; seconds: number; warmupS: number; gpuGflops: number; feederTasks: number }): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'idleforge-bench-hub-'));
  try {
    // A fresh hub per measurement: an empty queue and no database upkeep left over from before.
    const withHub = async <T>(name: string, run: (hub: HubChild) => Promise<T>): Promise<T> => {
      const hub = await HubChild.start(join(dir, name));
      try {
        return await run(hub);
      } finally {
        await hub.stop();
      }
    };
    const tp = await withHub('throughput', (hub) => throughput(hub, o.workers, o.seconds, o.warmupS));
    const mean = await withHub('mean', (hub) => overhead(hub, FEEDER_MEAN_SIDE, o.feederTasks, o.gpuGflops));
    const largest = await withHub('largest', (hub) => overhead(hub, FEEDER_MAX_SIDE, o.feederTasks, o.gpuGflops));
    return {
      bench: 'hub',
      machine: { cpus: availableParallelism(), node: process.version },
      throughput: tp,
      feederSizes: { gpuGflopsAssumed: o.gpuGflops, mean, largest },
      targets: {
        cyclesPerSecond: 1000,
        overheadPct: 2,
        met: { throughput: tp.cyclesPerSecond >= 1000, overhead: mean.overheadPct < 2 && largest.overheadPct < 2 },
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      workers: { type: 'string', default: '64' },
      seconds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'gpu-gflops': { type: 'string', default: '0.25' },
      'feeder-tasks': { type: 'string', default: '30' },
    },
    strict: true,
    allowPositionals: false,
  });
  const num = (name: string, v: string, min: number): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return x;
  };
  let result: BenchResult;
  try {
    result = await runBench({
      workers: Math.round(num('workers', values.workers, 1)),
      seconds: num('seconds', values.seconds, 0.5),
      warmupS: num('warmup', values.warmup, 0),
      gpuGflops: num('gpu-gflops', values['gpu-gflops'], 0.001),
      feederTasks: Math.round(num('feeder-tasks', values['feeder-tasks'], 3)),
    });
  } catch (err) {
    process.stderr.write(`idleforge bench hub: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    const t = result.throughput;
    const line = (o: OverheadResult): string =>
      `  ${o.side}³ (${o.gflop} GFLOP): protocol ${o.protocolMsP50} ms p50 / ${o.protocolMsP99} ms p99 per task, hub CPU ${o.hubCpuMsPerTask} ms ` +
      `(+ ${o.hubCpuMsIntakePerJob} ms taking the job in); compute ${o.computeMs.softwareGpu} ms at ${result.feederSizes.gpuGflopsAssumed} GFLOP/s ` +
      `(CPU reference here: ${o.computeMs.cpuReference} ms) → overhead ${o.overheadPct}% (hub CPU ${o.hubCpuPct}%)`;
    process.stdout.write(
      [
        `hub throughput: ${t.cyclesPerSecond} lease+submit cycles/s with ${t.workers} workers (${t.cycles} cycles in ${t.seconds} s)`,
        `  latency per cycle: p50 ${t.latencyMs.p50} ms, p99 ${t.latencyMs.p99} ms; CPU per cycle: hub ${t.hubCpuMsPerCycle} ms, simulated workers ${t.workersCpuMsPerCycle} ms`,
        'feeder-size tasks, one worker:',
        line(result.feederSizes.mean),
        line(result.feederSizes.largest),
        '',
      ].join('\n'),
    );
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === '--serve') {
  serve(process.argv[3] ?? tmpdir()).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
