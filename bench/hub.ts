/**
 * `idleforge bench hub [--json] [--workers N] [--seconds S] [--tasks T]`: the hub measured on
 * loopback, against its two targets.
 * - throughput (hub-child.ts): N simulated workers leasing and submitting tiny tasks: cycles per
 *   second, p50/p99 latency, the hub's CPU per cycle. Target ≥ 1,000 cycles/s.
 * - overhead at the feeder's sizes (overhead.ts): T one-task jobs from the feeder's
 *   own generator, run by a real worker engine on this machine's WebGPU against a hub child.
 *   The target (< 2%) is on the protocol's cost to the GPU: the time the GPU waits on the
 *   protocol (leases, results, bookkeeping) per unit of its compute. Printed beside it: the
 *   worker's CPU for the protocol alone (the same engine with an instant compute host, on jobs
 *   whose B is zero), and the whole slowdown against the same tasks run locally, which on a
 *   software GPU also counts the protocol's CPU and memory traffic, since there the GPU is the
 *   CPU. In a network the hub runs on its own machine; here it gets its own core: the hub child
 *   is pinned to the last core and this process (the worker engine and its software GPU, for
 *   every run) to the others, and the hub's CPU is reported beside. On one core, or without
 *   taskset, they share the cores and the report says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HubChild, runThroughput, type ThroughputResult } from './hub-child.js';
import { pinProcess, splitCores } from '../lib/affinity.js';
import { measureOverhead, measureProtocolCpu, type OverheadResult, type ProtocolCpuResult } from './overhead.js';

export interface HubBenchResult {
  bench: 'hub';
  machine: { cpus: number; node: string };
  throughput: ThroughputResult;
  feederSizes: OverheadResult & {
    jobs: { m: number; n: number; k: number }[];
    /** The cores the hub and the worker ran on, or null when they shared them all. */
    cores: { hub: string; worker: string } | null;
    /** The worker's CPU for the protocol alone (an instant compute host), and as a share of a task's compute. */
    protocolCpu: ProtocolCpuResult & { pctOfCompute: number };
  };
  targets: { cyclesPerSecond: number; overheadPct: number; met: { throughput: boolean; overhead: boolean } };
}

/** CPU of `cpuMsPerTask` for each of `tasks` tasks whose compute took `computeMs` in all, as a percentage of that compute. */
export function shareOfCompute(cpuMsPerTask: number, tasks: number, computeMs: number): number {
  return Math.round((10_000 * cpuMsPerTask * tasks) / computeMs) / 100;
}

export async function runHubBench(o: { workers: number; seconds: number; warmupS: number; tasks: number; warm?: number }): Promise<HubBenchResult> {
  const throughput = await runThroughput(o);
  const dir = await mkdtemp(join(tmpdir(), 'idleforge-bench-feeder-'));
  const cpus = availableParallelism();
  const split = splitCores(cpus);
  try {
    const hub = await HubChild.start(join(dir, 'hub'), 'default', split ? { cpus: split.server } : {});
    try {
      const jobs = await hub.queueFeederJobs(o.tasks);
      if (split) pinProcess(process.pid, split.client);
      let overhead: OverheadResult;
      let protocol: ProtocolCpuResult;
      try {
        overhead = await measureOverhead({ hubUrl: hub.url, tasks: o.tasks, warm: o.warm ?? 2, hubCpuMs: () => hub.cpuMs() });
        await hub.queueFeederJobs(o.tasks, 1, true);
        protocol = await measureProtocolCpu({ hubUrl: hub.url, tasks: o.tasks, warm: o.warm ?? 2 });
      } finally {
        if (split) pinProcess(process.pid, `0-${cpus - 1}`);
      }
      return {
        bench: 'hub',
        machine: { cpus, node: process.version },
        throughput,
        feederSizes: {
          ...overhead,
          jobs,
          cores: split ? { hub: split.server, worker: split.client } : null,
          protocolCpu: { ...protocol, pctOfCompute: shareOfCompute(protocol.cpuMsPerTask, overhead.tasks, overhead.localMs) },
        },
        targets: {
          cyclesPerSecond: 1000,
          overheadPct: 2,
          met: { throughput: throughput.cyclesPerSecond >= 1000, overhead: overhead.gpuIdlePct < 2 },
        },
      };
    } finally {
      await hub.stop();
    }
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
      tasks: { type: 'string', default: '60' },
    },
    strict: true,
    allowPositionals: false,
  });
  const num = (name: string, v: string, min: number): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return x;
  };
  let r: HubBenchResult;
  try {
    r = await runHubBench({
      workers: Math.round(num('workers', values.workers, 1)),
      seconds: num('seconds', values.seconds, 0.5),
      warmupS: num('warmup', values.warmup, 0),
      tasks: Math.round(num('tasks', values.tasks, 4)),
    });
  } catch (err) {
    process.stderr.write(`idleforge bench hub: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const t = r.throughput;
  const f = r.feederSizes;
  const yes = (met: boolean): string => (met ? 'met' : 'NOT met');
  const sign = (x: number): string => (x >= 0 ? `+${x}` : String(x));
  process.stdout.write(
    [
      `hub throughput: ${t.cyclesPerSecond} lease+submit cycles/s with ${t.workers} workers (${t.cycles} cycles in ${t.seconds} s) — target ≥ ${r.targets.cyclesPerSecond}: ${yes(r.targets.met.throughput)}`,
      `  latency per cycle: p50 ${t.latencyMs.p50} ms, p99 ${t.latencyMs.p99} ms; CPU per cycle: hub ${t.hubCpuMsPerCycle} ms, simulated workers ${t.workersCpuMsPerCycle} ms`,
      `feeder-size matmul tasks (${f.tasks} counted, sides ${Math.min(...f.jobs.flatMap((j) => [j.m, j.n, j.k]))}–${Math.max(...f.jobs.flatMap((j) => [j.m, j.n, j.k]))}) on ${f.device}, ${f.cores ? `the hub on core ${f.cores.hub}, the worker on core ${f.cores.worker}` : 'the hub and the worker sharing every core'}:`,
      `  protocol overhead, the GPU's time waiting on the protocol: ${f.gpuIdlePct}% of its compute (idle between tasks p50 ${f.gapMs.p50} ms, p99 ${f.gapMs.p99} ms per gap; compute p50 ${f.computeMs.p50} ms per task; within a task the next slice is always queued) — target < ${r.targets.overheadPct}%: ${yes(r.targets.met.overhead)}`,
      `  the worker's CPU for the protocol alone (an instant compute host: receiving, saving and sending the task's bytes, bookkeeping): ${f.protocolCpu.cpuMsPerTask} ms per task (${f.protocolCpu.systemMsPerTask} ms in the kernel) = ${f.protocolCpu.pctOfCompute}% of a task's compute; beside a GPU it runs while the GPU computes`,
      `  the whole slowdown against the same tasks run locally: ${f.networkMs} ms vs ${f.localMs} ms = ${sign(f.slowdownPct)}% — on this software GPU the protocol's CPU (and the hub's memory traffic) come out of the compute itself`,
      `  round trips hidden by pipelining: lease ${f.roundTripMs.lease} ms, submit ${f.roundTripMs.submit} ms p50`,
      `  the hub's CPU per task (lease, verify, record${f.cores ? ', on its own core' : ', taken from the worker here'}): ${f.hubCpuMsPerTask ?? '?'} ms = ${f.hubCpuPct ?? '?'}% of compute`,
      '',
    ].join('\n'),
  );
  return 0;
}
