/**
 * The registry of job kinds: one spec per name of protocol/kinds/index.ts (a kind missing here,
 * or a spec missing a member, fails the typecheck). Everything that differs between kinds is
 * looked up here by the kind's name; nothing else branches on it.
 */
import type { KernelDevice } from '../kernels/device.js';
import { KernelError, type RunOptions } from '../kernels/types.js';
import { JOB_KINDS, isJobKind, type JobKind, type Task } from '../protocol/index.js';
import { hashsearchSpec } from './hashsearch.js';
import { matmulSpec } from './matmul.js';
import { renderSpec } from './render.js';
import type { JobKindSpec, Preview } from './types.js';

export const JOB_SPECS = {
  matmul: matmulSpec,
  hashsearch: hashsearchSpec,
  render: renderSpec,
} as const satisfies { readonly [K in JobKind]: JobKindSpec<K> };

type Specs = typeof JOB_SPECS;
/** A leased task as typed values, of any kind. */
export type DecodedTask = { [K in JobKind]: ReturnType<Specs[K]['decode']> }[JobKind];
/** A task's output before encoding, of any kind. */
export type DecodedOutput = { [K in JobKind]: Awaited<ReturnType<Specs[K]['run']>> }[JobKind];
/** What the demo feeder reports of a submitted job of kind `K`. */
export type DemoFieldsOf<K extends JobKind> = ReturnType<Specs[K]['demo']['fields']>;

/** Every kind, as the registry sees them (a kind's own types widened to any kind's). */
type AnySpec = JobKindSpec<JobKind, DecodedTask, DecodedOutput, object>;

/** The spec of `kind`; a name no spec has is a KernelError INTERNAL. */
export function specOf(kind: string): AnySpec {
  if (!isJobKind(kind)) throw new KernelError(`this worker cannot run tasks of kind ${JSON.stringify(kind)}`, 'INTERNAL');
  // Each spec takes only its own kind's values; callers pass a value of the kind they looked up.
  return JOB_SPECS[kind] as unknown as AnySpec;
}

/** The names of every kind, in the registry's order. */
export const KIND_NAMES: readonly JobKind[] = JOB_KINDS;

/** A task (already parsed by TaskSchema) as typed values; throws KernelError (VALIDATION: it does not fit its kind). */
export function decodeTask(task: Task): DecodedTask {
  return specOf(task.kind).decode(task);
}

/** Runs a decoded task on the device. */
export function runTask(gpu: KernelDevice, task: DecodedTask, options: RunOptions = {}): Promise<DecodedOutput> {
  return specOf(task.kind).run(gpu, task, options);
}

/** An output in wire form, as `POST /v1/tasks/{id}/result` takes it. */
export async function encodeOutput(output: DecodedOutput): Promise<Record<string, unknown>> {
  return specOf(output.kind).encodeOutput(output);
}

/**
 * The raw bytes an output in wire form travels as (docs/PROTOCOL.md): its kind's rawResultField
 * when that is the output's one field and holds bytes; null when it goes as JSON.
 */
export function rawResultOf(kind: string, output: Record<string, unknown>): Uint8Array | null {
  const field = isJobKind(kind) ? JOB_SPECS[kind].rawResultField : null;
  if (field === null) return null;
  const keys = Object.keys(output);
  const value = output[field];
  return keys.length === 1 && value instanceof Uint8Array ? value : null;
}

/** An output in wire form from the raw bytes it travels as (rawResultOf's inverse). */
export function outputOfRaw(kind: string, bytes: Uint8Array): Record<string, unknown> {
  const field = specOf(kind).rawResultField;
  if (field === null) throw new KernelError(`a ${kind} result is not raw bytes`, 'INTERNAL');
  return { [field]: bytes };
}

/** A thumbnail of a task's output (wire form) for the dashboard, or null for kinds without pictures. */
export function previewOf(task: Task, output: Record<string, unknown>): Preview | null {
  const spec = specOf(task.kind) as AnySpec & { preview?(task: Task, output: Record<string, unknown>): Preview | null };
  return spec.preview ? spec.preview(task, output) : null;
}

export type { JobKindSpec, DemoJobs, RewardRates, Preview } from './types.js';
export { GFLOP, MHASH, PREVIEW_MAX_SIDE, RATE_MEASURES, type BenchmarkScoreName } from './types.js';
