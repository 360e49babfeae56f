/**
 * The compute host: where tasks run. The engine hands it one parsed task at a time; the host
 * never talks to the network. Implementations: the shared WebGPU host (jobs/gpu-host.ts) on Dawn
 * in Node (dawn.ts), and the desktop's hidden renderers (electron/compute/renderer-host.ts), whose
 * compute page runs the same shared host on Chromium's WebGPU.
 */
import type { AdapterInfo, Task } from '../../protocol/index.js';

/** What a host's run() rejects with; re-exported so hosts outside worker/ (the desktop shell's) use the same class. */
export { KernelError } from '../../kernels/types.js';

export type { AdapterInfo };

/** The output of a task, in wire form (as `POST /v1/tasks/{id}/result` takes it). */
export type TaskOutput = Record<string, unknown>;

export interface ComputeHost {
  /** The adapter in use, once started. */
  readonly adapter: AdapterInfo;
  /**
   * Runs one task; rejects with a KernelError (code ABORTED when `signal` fired). A host that can
   * tell calls `onComputed` once the GPU is done with the task and free for the next, before its
   * output is encoded (jobs/gpu-host.ts): the task pipeline then starts the next task, and the GPU
   * does not wait on the encoding. A host that cannot never calls it.
   */
  run(task: Task, signal?: AbortSignal, onComputed?: () => void): Promise<TaskOutput>;
  /**
   * Measures the device (kernels/benchmark: matmul GFLOP/s, hashsearch MH/s, render GFLOP/s,
   * ≤ 3 s) between tasks, and keeps the matmul configuration it found fastest for later tasks.
   */
  benchmark?(): Promise<{ gflops: number; mhs: number; renderGflops?: number }>;
  /** Frees the device and its GPU memory (a game starts); the next run opens a new device. */
  release?(): Promise<void>;
  /** Releases the device and GPU memory. */
  close(): Promise<void>;
}
