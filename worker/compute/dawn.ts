/**
 * The compute host for Node: the shared WebGPU host (jobs/gpu-host.ts) on Dawn (npm `webgpu`),
 * whose adapters come from openNodeGpu (hardware first, SwiftShader after).
 */
import { createGpuComputeHost, NoWebGpuError, type AdapterSource, type GpuComputeHost } from '../../jobs/gpu-host.js';
import type { ComputeHost } from './compute-host.js';
import { describeMissingWebGpu, openNodeGpu, type NodeGpu, type OpenNodeGpuOptions } from './webgpu-node.js';

export { NoWebGpuError };

export interface DawnHostOptions extends OpenNodeGpuOptions {
  /** Fixed multiply-adds per matmul submission (tests); unset: sized from the device's speed. */
  sliceBudget?: number;
  /** Fixed nonces per hashsearch submission (tests); unset: sized from the device's speed. */
  hashsearchSliceBudget?: number;
  /** Target duration of one submission when sized from the device's speed, ms (default 50). */
  sliceMs?: number;
  /** Where adapters come from; default openNodeGpu(options). Tests may inject one. */
  open?: () => Promise<NodeGpu | null>;
}

/** Test hooks: reach the device a host currently uses (to destroy it, say). */
export const hostForTests = {
  device(host: ComputeHost): GPUDevice | null {
    return 'device' in host && typeof host.device === 'function' ? (host as GpuComputeHost).device() : null;
  },
};

/**
 * Opens a WebGPU device with Dawn and returns a ComputeHost on it.
 * Rejects with NoWebGpuError (its message says what to install) when no adapter is found.
 */
export function createDawnHost(opts: DawnHostOptions = {}): Promise<ComputeHost> {
  const open = opts.open ?? (() => openNodeGpu(opts));
  // openNodeGpu already tried every adapter there is, high performance first: a second request
  // without preference would find nothing more.
  const adapters: AdapterSource = {
    requestAdapter: async (options) => (options ? ((await open())?.adapter ?? null) : null),
  };
  return createGpuComputeHost(adapters, {
    noAdapterMessage: describeMissingWebGpu(),
    sliceBudgets: {
      ...(opts.sliceBudget !== undefined ? { matmul: opts.sliceBudget } : {}),
      ...(opts.hashsearchSliceBudget !== undefined ? { hashsearch: opts.hashsearchSliceBudget } : {}),
    },
    ...(opts.sliceMs !== undefined ? { sliceMs: opts.sliceMs } : {}),
  });
}
