/**
 * The protocol's overhead as a worker feels it: a real worker engine (pipelined task loop, real
 * hub client, real store) computing on the real compute host (Dawn; SwiftShader here) against a
 * hub, timed at the compute host. Per task: its compute time (host.run) and the GPU's idle gap
 * before the next task starts (everything the protocol and the bookkeeping leave on the
 * critical path). Σ gaps / Σ compute: the time the GPU waits on the protocol per unit of compute.
 * Then the same tasks run again on the same host back to back, with no network at all, for the
 * slowdown through the network as a whole: the protocol's overhead. On a software GPU that also
 * counts the CPU the worker spends on the protocol, which the kernels would otherwise have had
 * (and the hub's, unless it runs on other cores: bench/hub.ts gives it a core of its own).
 * Also timed: the lease and submit round trips, i.e. what the GPU would wait per task without
 * the pipelining.
 * And the CPU the worker's own process spends on the protocol: its CPU time (all threads, the
 * software GPU's included) over the counted tasks through the network, less its CPU time for
 * the same tasks run locally: receiving, framing, saving and sending, heartbeats, the ledger.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import type { Task } from '../protocol/index.js';
import { APP_VERSION } from '../worker/app-info.js';
import { decodeTask, encodeOutput } from '../jobs/index.js';
import { createDawnHost } from '../worker/compute/dawn.js';
import type { ComputeHost } from '../worker/compute/compute-host.js';
import { WorkerEngine } from '../worker/engine.js';
import { HubClient } from '../worker/hub-client.js';
import { WorkerStore } from '../worker/store/index.js';
import { quantileOf, round } from './stats.js';

export interface OverheadOptions {
  hubUrl: string;
  /** Tasks to run (queued at the hub beforehand); the first `warm` are not counted. */
  tasks: number;
  warm?: number;
  /** The hub's CPU time so far (ms), read before and after; omitted when unknown. */
  hubCpuMs?: () => Promise<number>;
}

export interface OverheadResult {
  tasks: number;
  device: string;
  /** Per task, ms: compute on the host, and the idle gap that followed. */
  computeMs: { p50: number; total: number };
  gapMs: { p50: number; p99: number; total: number };
  /** The same tasks run locally, back to back (ms, in all). */
  localMs: number;
  /** Through the network (first counted start to last end), ms. */
  networkMs: number;
  /** Σ gaps / Σ compute, in percent: the GPU's time waiting on the protocol per unit of compute. */
  gpuIdlePct: number;
  /** (networkMs − localMs) / localMs, in percent: the whole slowdown through the network. */
  slowdownPct: number;
  /** Round trips per task (p50, ms), hidden by the pipelining: the gap without it. */
  roundTripMs: { lease: number; submit: number };
  /** The worker process's extra CPU per task through the network (ms), and as a share of compute. */
  workerCpuMsPerTask: number;
  workerCpuPct: number;
  /** What the hub spent per task (lease, verify, record; its database upkeep included). */
  hubCpuMsPerTask: number | null;
  hubCpuPct: number | null;
}


const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

/**
 * The GPU's figures from the counted tasks' runs on the host (start and end, ms, in order) and
 * the same tasks' time run locally (ms): compute per task, the idle gap before each next task,
 * Σ gaps over the compute they followed (the last task is followed by none), and the whole
 * slowdown through the network.
 */
export function gpuFigures(
  runs: readonly { start: number; end: number }[],
  localMs: number,
): Pick<OverheadResult, 'computeMs' | 'gapMs' | 'localMs' | 'networkMs' | 'gpuIdlePct' | 'slowdownPct'> {
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const compute = runs.map((r) => r.end - r.start);
  const gaps = runs.slice(1).map((r, i) => r.start - runs[i]!.end);
  const networkMs = runs[runs.length - 1]!.end - runs[0]!.start;
  return {
    computeMs: { p50: round(quantileOf(compute, 0.5)), total: round(sum(compute), 1) },
    gapMs: { p50: round(quantileOf(gaps, 0.5)), p99: round(quantileOf(gaps, 0.99)), total: round(sum(gaps), 2) },
    localMs: round(localMs, 1),
    networkMs: round(networkMs, 1),
    gpuIdlePct: round((100 * sum(gaps)) / sum(compute.slice(0, -1)), 2),
    slowdownPct: round((100 * (networkMs - localMs)) / localMs, 2),
  };
}

/** The engine both measurements run: matmul only, heartbeats and reconciles rare. */
const benchEngine = (client: HubClient, host: ComputeHost, store: WorkerStore): WorkerEngine =>
  new WorkerEngine({ client, host, store, gpus: [], appVersion: APP_VERSION, kinds: ['matmul'], heartbeatMs: 10_000, reconcileMs: 10_000 });

/** Wraps a host to time every run. */
function timedHost(inner: ComputeHost, runs: { start: number; end: number; task: Task }[]): ComputeHost {
  return {
    get adapter() {
      return inner.adapter;
    },
    async run(task: Task, signal?: AbortSignal) {
      const start = performance.now();
      const out = await inner.run(task, signal);
      runs.push({ start, end: performance.now(), task });
      return out;
    },
    ...(inner.benchmark ? { benchmark: () => inner.benchmark!() } : {}),
    close: () => inner.close(),
  };
}

class TimedClient extends HubClient {
  readonly leaseMs: number[] = [];
  readonly submitMs: number[] = [];
  override async lease(kinds: readonly string[]): Promise<Task | null> {
    const t = performance.now();
    const task = await super.lease(kinds);
    if (task) this.leaseMs.push(performance.now() - t);
    return task;
  }
  override async submit(taskId: string, kind: string, output: Record<string, unknown>): ReturnType<HubClient['submit']> {
    const t = performance.now();
    const res = await super.submit(taskId, kind, output);
    this.submitMs.push(performance.now() - t);
    return res;
  }
}

export async function measureOverhead(o: OverheadOptions): Promise<OverheadResult> {
  const warm = o.warm ?? 2;
  const dir = await mkdtemp(join(tmpdir(), 'idleforge-bench-overhead-'));
  const runs: { start: number; end: number; task: Task }[] = [];
  const inner = await createDawnHost({ icdDir: join(dir, 'vulkan') });
  const store = WorkerStore.open(join(dir, 'worker'));
  try {
    const host = timedHost(inner, runs);
    const client = new TimedClient({ hubUrl: o.hubUrl, wallet: Wallet.createRandom() });
    // The engine measures the device first (as every worker does once a week) and keeps the
    // kernel configuration it found fastest: the tasks run on the tuned kernel.
    const engine = benchEngine(client, host, store);
    let cpu0: number | null = null;
    const cpuAt = async (): Promise<number | null> => (o.hubCpuMs ? o.hubCpuMs() : null);
    // The worker's own CPU from the first counted task to the end of the run (the last result
    // submitted, the tasks leased ahead given back): both the hub's and this process's.
    let own0: NodeJS.CpuUsage | null = null;
    const started = engine.onStatus((s) => {
      if (s.task && cpu0 === null && runs.length === warm) {
        own0 = process.cpuUsage();
        void cpuAt().then((c) => (cpu0 = c));
      }
    });
    const { credited } = await engine.run({ once: o.tasks });
    started();
    const own1 = process.cpuUsage();
    const cpu1 = await cpuAt();
    if (credited < o.tasks) throw new Error(`only ${credited} of ${o.tasks} tasks were credited`);
    const counted = runs.slice(warm);
    const ownNetwork = own0 ? cpuMs(own1) - cpuMs(own0) : null;
    const local0 = process.cpuUsage();
    const t0 = performance.now();
    for (const r of counted) await inner.run(r.task);
    const localMs = performance.now() - t0;
    const ownLocal = cpuMs(process.cpuUsage(local0));
    const gpu = gpuFigures(counted, localMs);
    const computeTotal = counted.reduce((t, r) => t + r.end - r.start, 0);
    const hubCpu = cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / counted.length : null;
    if (ownNetwork === null) throw new Error('the counted tasks never started');
    const workerCpu = Math.max(0, ownNetwork - ownLocal) / counted.length;
    const a = inner.adapter;
    return {
      tasks: counted.length,
      device: `${a.description || a.device || a.vendor}${a.software ? ' (software)' : ''}`,
      ...gpu,
      roundTripMs: { lease: round(quantileOf(client.leaseMs, 0.5)), submit: round(quantileOf(client.submitMs, 0.5)) },
      workerCpuMsPerTask: round(workerCpu),
      workerCpuPct: round((100 * workerCpu * counted.length) / computeTotal, 2),
      hubCpuMsPerTask: hubCpu === null ? null : round(hubCpu),
      hubCpuPct: hubCpu === null ? null : round((100 * hubCpu * counted.length) / computeTotal, 2),
    };
  } finally {
    store.close();
    await inner.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ProtocolCpuResult {
  tasks: number;
  /** The worker process's CPU per task (ms), all threads, and the kernel's share of it. */
  cpuMsPerTask: number;
  systemMsPerTask: number;
}

/**
 * The worker's CPU for the protocol alone: a real engine, hub client and store leasing, saving,
 * submitting and recording feeder-size tasks, with a compute host that answers at once. The hub
 * must hold matmul jobs whose B is all zeros (hub-child.ts `HubChild.queueFeederJobs(…, zeroB)`): then
 * C = 0 is the right answer, the hub verifies and credits it, and the bytes on the wire are the
 * feeder's. Nothing of a GPU's work is in the figure; the CPU time of a whole process is, so it
 * is measured with nothing else running in this process.
 */
export async function measureProtocolCpu(o: { hubUrl: string; tasks: number; warm?: number }): Promise<ProtocolCpuResult> {
  const warm = o.warm ?? 2;
  const dir = await mkdtemp(join(tmpdir(), 'idleforge-bench-protocol-'));
  const zeros = new Float32Array(512 * 512);
  let runs = 0;
  let start: { cpu: NodeJS.CpuUsage } | null = null;
  const host: ComputeHost = {
    adapter: { vendor: 'none', architecture: '', device: 'instant answers (C = 0)', description: '', software: true },
    async run(task: Task) {
      if (runs++ === warm) start = { cpu: process.cpuUsage() };
      const decoded = decodeTask(task);
      if (decoded.kind !== 'matmul') throw new Error('only matmul tasks are measured');
      const cells = decoded.dims.m * decoded.dims.n;
      const c = cells <= zeros.length ? zeros.subarray(0, cells) : new Float32Array(cells);
      return encodeOutput({ kind: 'matmul', c });
    },
    close: async () => undefined,
  };
  const store = WorkerStore.open(join(dir, 'worker'));
  const client = new HubClient({ hubUrl: o.hubUrl, wallet: Wallet.createRandom() });
  try {
    const engine = benchEngine(client, host, store);
    const { credited } = await engine.run({ once: o.tasks });
    if (credited < o.tasks) throw new Error(`only ${credited} of ${o.tasks} tasks were credited`);
    const began = start as { cpu: NodeJS.CpuUsage } | null;
    if (!began) throw new Error('the counted tasks never started');
    const used = process.cpuUsage(began.cpu);
    const counted = o.tasks - warm;
    return { tasks: counted, cpuMsPerTask: round(cpuMs(used) / counted), systemMsPerTask: round(used.system / 1000 / counted) };
  } finally {
    client.close();
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
