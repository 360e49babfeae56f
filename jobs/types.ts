/**
 * What a job kind is, in one place: its wire schemas (protocol/kinds/), how a leased task becomes
 * typed values and a run on a device (kernels/), how its output goes back on the wire, how the
 * hub checks and prices it, and how the demo feeder makes jobs of it. Every member is required:
 * a spec that lacks one does not typecheck, and neither does a registry (index.ts) that lacks a
 * kind of protocol/kinds/index.ts.
 */
import type { KernelDevice } from '../kernels/device.js';
import type { RunOptions, Verdict } from '../kernels/types.js';
import type { JobKind, JobRequestOf, RateUnit, TaskOf, WireOf } from '../protocol/index.js';

/** A small picture of a task's output for people (the dashboard's thumbnails): 8-bit RGB, rows top to bottom. */
export interface Preview {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Most pixels a preview has on a side. */
export const PREVIEW_MAX_SIDE = 48;

/** The hub's pay rates, in base units (a kind's reward reads the one it is paid by). */
export interface RewardRates {
  /** Per 10⁹ floating-point operations. */
  rewardPerGflop: bigint;
  /** Per 10⁶ hashes. */
  rewardPerMhash: bigint;
}

export const GFLOP = 1_000_000_000n;
export const MHASH = 1_000_000n;

/**
 * Each rate's unit as `GET /v1/rates` names it, and the benchmark score (kernels/benchmark) that
 * measures this device's speed in it: GFLOP/s for work paid per GFLOP, MH/s for work paid per MH.
 */
export const RATE_MEASURES = {
  rewardPerGflop: { unit: 'GFLOP', score: 'gflops' },
  rewardPerMhash: { unit: 'MH', score: 'mhs' },
} as const satisfies { readonly [R in keyof RewardRates]: { unit: RateUnit; score: 'gflops' | 'mhs' } };

/** The scores a heartbeat's benchmark may carry (protocol/http.ts, kernels/benchmark). */
export type BenchmarkScoreName = 'gflops' | 'mhs' | 'renderGflops';

/** How the demo feeder (hub/feeder.ts) keeps the local network busy with jobs of a kind. */
export interface DemoJobs<K extends JobKind, Fields extends object = object> {
  /** Unfinished demo jobs of this kind the feeder keeps by default. */
  readonly backlog: number;
  /** A random demo job. */
  make(random: () => number): JobRequestOf<K>;
  /** What the feeder reports of a submitted job (its size). */
  fields(job: JobRequestOf<K>): Fields;
  /** The same, in words (the devnet's log). */
  describe(fields: Fields): string;
  /** The most one demo job can cost at `rates`. */
  maxPrice(rates: RewardRates): bigint;
}

/**
 * One job kind. `Decoded` is a leased task as typed values, `Output` its result before encoding;
 * both carry the kind's name. (Methods, not function properties: the registry's constraint
 * accepts each kind's own types.)
 */
export interface JobKindSpec<K extends JobKind, Decoded extends { kind: K } = { kind: K }, Output extends { kind: K } = { kind: K }, Fields extends object = object> {
  readonly kind: K;
  /** The kind's wire schemas (protocol/kinds/<kind>.ts). */
  readonly wire: WireOf<K>;
  /** A task (already parsed by TaskSchema) as typed values; a task whose inputs do not fit is a KernelError VALIDATION. */
  decode(task: TaskOf<K>): Decoded;
  /** Runs the task on the device, in slices (kernels/<kind>). */
  run(gpu: KernelDevice, task: Decoded, options: RunOptions): Promise<Output>;
  /**
   * The output in wire form, as `POST /v1/tasks/{id}/result` takes it: the CPU's work after the
   * kernel (render: f16 rounding, SHA-256, the opened pixels' chunk sums), which a host runs once
   * the device is free for the next task (jobs/gpu-host.ts).
   */
  encodeOutput(output: Output): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * The field of the wire output that holds the whole result as raw bytes (encodeOutput gives
   * them as a Uint8Array), or null for a kind whose result is JSON. An output of that field alone
   * travels as those bytes, the body of `POST /v1/tasks/{id}/result` (`application/octet-stream`,
   * docs/PROTOCOL.md), and waits for it in a file of the worker's (worker/store/results.ts).
   */
  readonly rawResultField: string | null;
  /** The hub's check of an output against its task. */
  verify(task: Decoded, output: Output): Verdict;
  /** The paid work of a task with `params`, in the kind's unit (FLOP, hashes). */
  workUnits(params: TaskOf<K>['params']): bigint;
  /** The rate of RewardRates this kind is paid by. */
  readonly paidBy: keyof RewardRates;
  /** What `units` of work pay at `rate` (the kind's own, `paidBy`), rounded down. */
  reward(units: bigint, rate: bigint): bigint;
  /**
   * The benchmark score that measures a device's speed in this kind, in its unit a second
   * (`RATE_MEASURES[paidBy].unit`): where the hub's task sizes start (hub/sizing.ts). Not always
   * the unit's own score: render is paid by GFLOP like matmul, but path tracing runs far from
   * a GEMM's GFLOP/s, so it has its own (`renderGflops`).
   */
  readonly speedScore: BenchmarkScoreName;
  /** Whether the hub trusts a result only once a second worker agrees (it cannot check it alone). */
  readonly replicated: boolean;
  /** Largest result body for a task with `params`, in bytes, whichever form it comes in (without the JSON around it). */
  maxResultBytes(params: TaskOf<K>['params']): number;
  readonly demo: DemoJobs<K, Fields>;
  /**
   * A thumbnail of a task's output (its wire form, as `encodeOutput` made it), at most
   * PREVIEW_MAX_SIDE a side. The one optional member: only kinds whose outputs are pictures have it.
   */
  preview?(task: TaskOf<K>, output: Record<string, unknown>): Preview | null;
}
