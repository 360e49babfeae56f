/**
 * A device as the kernels use it: the GPUDevice and what they learn about it while it lives
 * (compiled pipelines, measured speeds, the matmul configurations chosen for it). The GPU session
 * (session.ts) makes one with each device it opens and drops it with the device, so nothing
 * outlives the device it was learned on.
 */
import { isSoftwareInfo } from './gpu.js';
import type { SizeChoice } from './matmul/dispatch.js';

/** A slice kind's measured speed (slices.ts). */
export interface Rate {
  /** Work units per ms, smoothed: sizes the slices (a slow sample shrinks them, the safe side). */
  perMs: number;
  /**
   * The fastest rate seen lately, units per ms: times the quiet wait, which must never outlast
   * the slice (the GPU would sit idle). A one-off cost, such as SwiftShader's first dispatches of
   * a pipeline, slows the smoothed rate for a while, but not this one; and a freak fast sample
   * fades in a few dozen slices.
   */
  fastestPerMs: number;
}

export class KernelDevice {
  /** Compiled pipelines by key (gpu.ts `cachedPipeline`). */
  readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  /** Measured speed per slice kind (slices.ts). */
  readonly rates = new Map<string, Rate>();
  /** The matmul configurations the tuner chose, by product size, smallest first; null: the defaults. */
  matmulChoices: SizeChoice[] | null = null;
  /** Whether each `subgroupRows` matmul flavour gave the CPU's answer here (matmul/dispatch.ts). */
  readonly subgroupChecks = new Map<string, Promise<boolean>>();
  /** Whether the device is a CPU implementation (SwiftShader, llvmpipe, WARP). */
  readonly software: boolean;

  /** `software`: what the host knows of the adapter; default, what the device's adapterInfo says. */
  constructor(
    readonly device: GPUDevice,
    software?: boolean,
  ) {
    const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    this.software = software ?? (info ? isSoftwareInfo(info) : false);
  }
}
