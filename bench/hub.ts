/**
 * `idleforge bench hub [--json] [--workers N] [--seconds S] [--tasks T] [--db URL]
 * [--processes 1,2,4] [--load-processes N]`: the hub measured on loopback, against its targets.
 * - throughput (hub-child.ts): N simulated workers (in load processes of their own) leasing and
 *   submitting tiny tasks through 1, 2 and 4 hub processes on one PostgreSQL database (one the
 *   bench starts, or `--db`): cycles per second, p50/p99 latency, the hubs' CPU per cycle and
 *   where a cycle's time goes (PostgreSQL, JSON, verification). Targets, one process: ≥ 500
 *   cycles/s on a machine of up to 4 cores (its database beside it), ≥ 2,000 on 16 cores or more,
 *   and there 4 processes ≥ 3× one.
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
 * - a gaming GPU behind a home link (gpu-share.ts, a model): the share of its time a 20 TFLOP/s
 *   class GPU behind 100 Mbit/s with 30 ms of round trip computes, for render and matmul tasks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HubChild, runThroughput, type ThroughputResult } from './hub-child.js';
import { pinProcess, splitCores } from '../lib/affinity.js';
import { measureOverhead, measureProtocolCpu, type OverheadResult, type ProtocolCpuResult } from './overhead.js';
import { loopMs } from './stats.js';
import { gpuShareFigures } from './gpu-share.js';
import { renderCheckFigures, timeResultEncoding } from './render-check.js';
import { renderTileSide } from '../hub/kinds/render.js';
import { RENDER_MAX_SAMPLES } from '../protocol/index.js';

export interface HubBenchResult {
  bench: 'hub';
  /** `loopMs` is the machine's speed (bench/stats.ts) just before the throughput runs and just after the feeder-size ones. */
  machine: { cpus: number; node: string; loopMs: { before: number; after: number } };
  /** One run per count of hub processes. */
  throughput: ThroughputResult[];
  feederSizes: OverheadResult & {
    jobs: { m: number; n: number; k: number }[];
    /** The cores the hub and the worker ran on, or null when they shared them all. */
    cores: { hub: string; worker: string } | null;
    /** The worker's CPU for the protocol alone (an instant compute host), and as a share of a task's compute. */
    protocolCpu: ProtocolCpuResult & { pctOfCompute: number };
  };
  targets: {
    cyclesPerSecond: number;
    /** On 16 cores or more: 4 processes at least this many times one; null where not asked. */
    scaling4: number | null;
    overheadPct: number;
    met: { throughput: boolean; scaling: boolean | null; overhead: boolean };
  };
}

/** CPU of `cpuMsPerTask` for each of `tasks` tasks whose compute took `computeMs` in all, as a percentage of that compute. */
export function shareOfCompute(cpuMsPerTask: number, tasks: number, computeMs: number): number {
  return Math.round((10_000 * cpuMsPerTask * tasks) / computeMs) / 100;
}

/** The one-process target for a machine of `cpus` cores: 500 cycles/s up to 4 cores, 2,000 from 16, between them in proportion. */
export function cyclesTarget(cpus: number): number {
  if (cpus <= 4) return 500;
  if (cpus >= 16) return 2000;
  return Math.round(500 + ((cpus - 4) * 1500) / 12);
}

export async function runHubBench(o: { workers: number; seconds: number; warmupS: number; tasks: number; warm?: number; processes: readonly number[]; loadProcesses?: number; db?: string }): Promise<HubBenchResult> {
  const loopBefore = loopMs();
  const throughput = await runThroughput(o);
  const one = throughput.find((t) => t.processes === 1);
  const four = throughput.find((t) => t.processes === 4);
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
        machine: { cpus, node: process.version, loopMs: { before: loopBefore, after: loopMs() } },
        throughput,
        feederSizes: {
          ...overhead,
          jobs,
          cores: split ? { hub: split.server, worker: split.client } : null,
          protocolCpu: { ...protocol, pctOfCompute: shareOfCompute(protocol.cpuMsPerTask, overhead.tasks, overhead.localMs) },
        },
        targets: {
          cyclesPerSecond: cyclesTarget(cpus),
          scaling4: cpus >= 16 && one && four ? 3 : null,
          overheadPct: 2,
          met: {
            throughput: (one ?? throughput[0]!).cyclesPerSecond >= cyclesTarget(cpus),
            scaling: cpus >= 16 && one && four ? four.cyclesPerSecond >= 3 * one.cyclesPerSecond : null,
            overhead: overhead.gpuIdlePct < 2,
          },
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
      db: { type: 'string' },
      processes: { type: 'string', default: '1,2,4' },
      'load-processes': { type: 'string' },
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
    const processes = values.processes.split(',').map((p) => Math.round(num('processes', p.trim(), 1)));
    if (values.db !== undefined && !/^postgres(ql)?:\/\//.test(values.db)) throw new Error('--db takes a postgres:// URL');
    r = await runHubBench({
      processes,
      ...(values.db !== undefined ? { db: values.db } : {}),
      ...(values['load-processes'] !== undefined ? { loadProcesses: Math.round(num('load-processes', values['load-processes'], 1)) } : {}),
      workers: Math.round(num('workers', values.workers, 1)),
      seconds: num('seconds', values.seconds, 0.5),
      warmupS: num('warmup', values.warmup, 0),
      tasks: Math.round(num('tasks', values.tasks, 4)),
    });
  } catch (err) {
    process.stderr.write(`idleforge bench hub: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const checks = await renderCheckFigures();
  const side = renderTileSide();
  const encodeMs = await timeResultEncoding(side, side);
  const share = gpuShareFigures({ checkMsPerSample: checks.checkMsPerSample });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ...r, renderCheck: checks, resultEncodingMs: { side, ms: encodeMs }, gpuShare: share })}\n`);
    return 0;
  }
  const f = r.feederSizes;
  const yes = (met: boolean): string => (met ? 'met' : 'NOT met');
  const sign = (x: number): string => (x >= 0 ? `+${x}` : String(x));
  process.stdout.write(
    [
      `the machine's speed: a fixed loop took ${r.machine.loopMs.before} ms before, ${r.machine.loopMs.after} ms after (compare runs only where it is alike)`,
      `hub throughput on PostgreSQL (${r.machine.cpus} cores; one process: target ≥ ${r.targets.cyclesPerSecond} cycles/s: ${yes(r.targets.met.throughput)}${r.targets.met.scaling === null ? '' : `; 4 processes ≥ 3× one: ${yes(r.targets.met.scaling)}`}):`,
      ...r.throughput.flatMap((t) => [
        `  ${t.processes} hub process${t.processes === 1 ? '' : 'es'}: ${t.cyclesPerSecond} lease+submit cycles/s with ${t.workers} workers in ${t.loadProcesses} load process${t.loadProcesses === 1 ? '' : 'es'} (${t.cycles} cycles in ${t.seconds} s); p50 ${t.latencyMs.p50} ms, p99 ${t.latencyMs.p99} ms`,
        `    per cycle: hubs' CPU ${t.hubCpuMsPerCycle} ms (JSON ${t.perCycle.jsonMs} ms, verification ${t.perCycle.verifyMs} ms), waiting on PostgreSQL ${t.perCycle.dbWaitMs} ms over ${t.perCycle.statements} statements${t.dbCpuMsPerCycle === null ? '' : ` (PostgreSQL's CPU ${t.dbCpuMsPerCycle} ms)`}${t.walBytesPerCycle === null ? '' : `, ${t.walBytesPerCycle} bytes of WAL`}; simulated workers' CPU ${t.workersCpuMsPerCycle} ms`,
      ]),
      `feeder-size matmul tasks (${f.tasks} counted, sides ${Math.min(...f.jobs.flatMap((j) => [j.m, j.n, j.k]))}–${Math.max(...f.jobs.flatMap((j) => [j.m, j.n, j.k]))}) on ${f.device}, ${f.cores ? `the hub on core ${f.cores.hub}, the worker on core ${f.cores.worker}` : 'the hub and the worker sharing every core'}:`,
      `  protocol overhead, the GPU's time waiting on the protocol: ${f.gpuIdlePct}% of its compute (idle between tasks p50 ${f.gapMs.p50} ms, p99 ${f.gapMs.p99} ms per gap; compute p50 ${f.computeMs.p50} ms per task; within a task the next slice is always queued) — target < ${r.targets.overheadPct}%: ${yes(r.targets.met.overhead)}`,
      `  the worker's CPU for the protocol alone (an instant compute host: receiving, saving and sending the task's bytes, bookkeeping): ${f.protocolCpu.cpuMsPerTask} ms per task (${f.protocolCpu.systemMsPerTask} ms in the kernel) = ${f.protocolCpu.pctOfCompute}% of a task's compute; beside a GPU it runs while the GPU computes`,
      `  the whole slowdown against the same tasks run locally: ${f.networkMs} ms vs ${f.localMs} ms = ${sign(f.slowdownPct)}% — on this software GPU the protocol's CPU (and the hub's memory traffic) come out of the compute itself`,
      `  round trips hidden by pipelining: lease ${f.roundTripMs.lease} ms, submit ${f.roundTripMs.submit} ms p50`,
      `  the hub's CPU per task (lease, verify, record${f.cores ? ', on its own core' : ', taken from the worker here'}): ${f.hubCpuMsPerTask ?? '?'} ms = ${f.hubCpuPct ?? '?'}% of compute`,
      `the hub's check of a render result, one CPU core (the example scene; bench/render-check.ts):`,
      ...checks.now.map((c) => `  now, the chunk check (one chunk of 16 re-traced a pixel): ${c.w}×${c.h} tile at ${c.samples} samples: ${c.ms.toFixed(1)} ms (${c.traced} pixels traced, ${c.checked} telling)`),
      ...checks.pixels.map((c) => `  now, a result without chunk sums (40 pixels at all their samples): ${c.w}×${c.h} tile at ${c.samples} samples: ${c.ms.toFixed(1)} ms (${c.traced} pixels traced, ${c.checked} telling)`),
      ...checks.before.map((c) => `  before (1% of a 128-pixel-side tile's pixels): ${c.w}×${c.h} tile at ${c.samples} samples: ${c.ms.toFixed(1)} ms (${c.traced} pixels traced, ${c.checked} telling)`),
      `a simulated gaming GPU (${share.gpuFlops / 1e12} TFLOP/s: ${(share.samplesPerSecond / 1e9).toFixed(2)} Gsamples/s of the example scene at ${share.flopsPerSample} FLOP a sample) behind ${share.link.mbitPerS} Mbit/s with ${share.link.rttMs} ms of round trip, render results as raw f16 (${share.resultBytesPerPixel} bytes a pixel), ${share.leaseAhead} leases and ${share.submitsInFlight} submissions in flight, the hub's check as measured above (${share.measured.checkMsPerSample.toFixed(4)} ms a sample), the worker's encoding of a ${side}×${side} result here ${encodeMs.toFixed(1)} ms, off the GPU's path on both hosts (a model: bench/gpu-share.ts) — target for render ≥ 95%:`,
      ...share.figures.map((s) => `  ${s.what}: the GPU computes ${s.gpuSharePct}% of the time (${s.computeMs.toFixed(3)} ms of compute, ${s.downBytes} bytes down, ${s.upBytes} up, the hub's check ${s.checkMs.toFixed(1)} ms, the worker's readback ${(s.hostMs ?? 0).toFixed(1)} ms a task)`),
      `  render reaches 95% ${share.renderPixelsFor95AtMostSamples === null ? 'in no task' : `with ${share.renderPixelsFor95AtMostSamples} pixels in a task`} at ${RENDER_MAX_SAMPLES} samples a pixel with this check; a full tile's task reaches it when its check takes at most ${share.renderCheckMsFor95} ms`,
      '',
    ].join('\n'),
  );
  return 0;
}
