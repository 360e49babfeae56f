/**
 * One entry point for every kind a compute host runs: a decoded task in, a decoded output out.
 * The hosts decode the wire form (protocol/) into these and encode the outputs back.
 */
import { runHashsearch } from './hashsearch/host.js';
import type { HashsearchResult, HashsearchSpec } from './hashsearch/reference.js';
import { runMatmul } from './matmul/host.js';
import type { MatmulDims } from './matmul/reference.js';
import { KernelError, type RunOptions } from './types.js';

export type KernelTask = { kind: 'matmul'; dims: MatmulDims; a: Float32Array; b: Float32Array } | { kind: 'hashsearch'; spec: HashsearchSpec };

export type KernelOutput = { kind: 'matmul'; c: Float32Array } | { kind: 'hashsearch'; result: HashsearchResult };

/** Slice options per kind: multiply-adds for matmul, nonces for hashsearch. */
export interface TaskRunOptions {
  signal?: AbortSignal;
  matmulSliceBudget?: number;
  hashsearchSliceBudget?: number;
  sliceMs?: number;
  /** Called after each slice with the work done and the total, in the kind's slice units. */
  onProgress?: (done: number, total: number) => void;
}

export async function runKernelTask(device: GPUDevice, task: KernelTask, options: TaskRunOptions = {}): Promise<KernelOutput> {
  const common: RunOptions = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.sliceMs !== undefined ? { sliceMs: options.sliceMs } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  switch (task.kind) {
    case 'matmul': {
      const budget = options.matmulSliceBudget;
      const c = await runMatmul(device, task.dims, task.a, task.b, { ...common, ...(budget !== undefined ? { sliceBudget: budget } : {}) });
      return { kind: 'matmul', c };
    }
    case 'hashsearch': {
      const budget = options.hashsearchSliceBudget;
      const result = await runHashsearch(device, task.spec, { ...common, ...(budget !== undefined ? { sliceBudget: budget } : {}) });
      return { kind: 'hashsearch', result };
    }
    default:
      throw new KernelError(`no kernel for tasks of kind ${JSON.stringify((task as { kind: unknown }).kind)}`, 'INTERNAL');
  }
}
