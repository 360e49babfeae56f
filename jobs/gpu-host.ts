/**
 * The compute host on a WebGPU `GPU` object, for both of its homes: Dawn in Node
 * (worker/compute/dawn.ts) and the hidden compute page on Chromium's navigator.gpu
 * (renderer/compute/page.ts). It takes a leased task (already parsed by TaskSchema), runs it
 * through the kinds' registry on the session's device, and returns its output in wire form.
 *
 * One task at a time (calls queue up). A lost device fails the run it interrupted with
 * KernelError DEVICE_LOST, and the next run starts on a fresh device from a fresh adapter
 * (kernels/session.ts). A failed run rejects and returns no output.
 */
import { runBenchmark, type BenchmarkScore } from '../kernels/benchmark/index.js';
import { describeError, isSoftwareInfo, requestComputeDevice } from '../kernels/gpu.js';
import { startGpuSession, type OpenedDevice } from '../kernels/session.js';
import { KernelError, type RunOptions } from '../kernels/types.js';
import type { AdapterInfo, JobKind, Task } from '../protocol/index.js';
import { decodeTask, encodeOutput, runTask } from './index.js';

/** Thrown when there is no usable WebGPU adapter; the message says why, in plain words. */
export class NoWebGpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoWebGpuError';
  }
}

/** Where adapters come from: navigator.gpu, Dawn's GPU object, or anything that answers the same. */
export type AdapterSource = Pick<GPU, 'requestAdapter'>;

export interface GpuHostOptions {
  /** Fixed work per GPU submission, per kind, in the kind's unit (tests); unset: sized from the device's speed. */
  sliceBudgets?: Partial<Record<JobKind, number>>;
  /** Target duration of one submission when sized from the device's speed, ms (default 50). */
  sliceMs?: number;
  /** Called after each slice of a task (work done, total, in the kind's units). */
  onProgress?: (done: number, total: number) => void;
  /** What NoWebGpuError (and a device loss with no adapter after it) says when no adapter is found. */
  noAdapterMessage?: string;
}

export interface GpuComputeHost {
  /** The adapter of the current (or last) device. */
  readonly adapter: AdapterInfo;
  /**
   * Runs one task (already parsed by TaskSchema); rejects with a KernelError (ABORTED when
   * `signal` fired). `onComputed`, when given, is called once the device has done the task and is
   * free for the next, before the output is encoded: the encoding (render's f16 rounding and
   * SHA-256) then waits a macrotask, so a next run started from `onComputed` through microtasks
   * has its first slice on the GPU first, and runs while this one is encoded.
   */
  run(task: Task, signal?: AbortSignal, onComputed?: () => void): Promise<Record<string, unknown>>;
  /** Matmul GFLOP/s and hashsearch MH/s of the device, in 3 s or less (kernels/benchmark). */
  benchmark(): Promise<BenchmarkScore>;
  /** The device in use (tests destroy it), or null. */
  device(): GPUDevice | null;
  /** Frees the device and its GPU memory (a game wants it); the next run opens a new one. */
  release(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_NO_ADAPTER = 'WebGPU is available but found no adapter (no GPU driver, or WebGPU is blocked for this GPU)';

/** The adapter's info in our shape; `software` is true for CPU implementations. */
export function describeAdapter(adapter: GPUAdapter): AdapterInfo {
  const raw = adapter.info as Partial<GPUAdapterInfo> | undefined;
  const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
  const vendor = text(raw?.vendor);
  const architecture = text(raw?.architecture);
  const device = text(raw?.device);
  const description = text(raw?.description);
  // isFallbackAdapter is on GPUAdapterInfo in newer implementations, on GPUAdapter in older ones.
  const fallback =
    (raw as { isFallbackAdapter?: unknown } | undefined)?.isFallbackAdapter === true ||
    (adapter as unknown as { isFallbackAdapter?: unknown }).isFallbackAdapter === true;
  const software = fallback || isSoftwareInfo({ vendor, architecture, device, description });
  return { vendor, architecture, device, description, software };
}

async function requestAdapter(gpu: AdapterSource): Promise<GPUAdapter | null> {
  return (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await gpu.requestAdapter());
}

async function openDevice(adapter: GPUAdapter): Promise<OpenedDevice<AdapterInfo>> {
  const info = describeAdapter(adapter);
  const device = await requestComputeDevice(adapter);
  return { device, info, software: info.software };
}

/**
 * Opens a device on `gpu` and returns a host on it. Rejects with NoWebGpuError when `gpu` is
 * missing, offers no adapter, or its adapter will not open a device.
 */
export async function createGpuComputeHost(gpu: AdapterSource | undefined, opts: GpuHostOptions = {}): Promise<GpuComputeHost> {
  if (!gpu) throw new NoWebGpuError('this page has no WebGPU (navigator.gpu is missing)');
  const noAdapter = opts.noAdapterMessage ?? DEFAULT_NO_ADAPTER;
  const adapter = await requestAdapter(gpu);
  if (!adapter) throw new NoWebGpuError(noAdapter);
  let first: OpenedDevice<AdapterInfo>;
  try {
    first = await openDevice(adapter);
  } catch (error) {
    const info = describeAdapter(adapter);
    const name = info.description || info.device || info.vendor || 'a WebGPU adapter';
    throw new NoWebGpuError(`${name} was found but would not open a device: ${error instanceof Error ? error.message : describeError(error)}`);
  }
  const session = startGpuSession(first, async () => {
    const next = await requestAdapter(gpu);
    if (!next) throw new KernelError(`the GPU device was lost and no new one could be opened. ${noAdapter}`, 'DEVICE_LOST');
    return openDevice(next);
  });
  const base: RunOptions = {
    ...(opts.sliceMs !== undefined ? { sliceMs: opts.sliceMs } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  return {
    get adapter() {
      return session.info;
    },
    async run(task, signal, onComputed) {
      const output = await session.run((gpu) => {
        const budget = opts.sliceBudgets?.[task.kind];
        const options: RunOptions = { ...base, ...(budget !== undefined ? { sliceBudget: budget } : {}), ...(signal ? { signal } : {}) };
        return runTask(gpu, decodeTask(task), options);
      }, signal);
      if (onComputed) {
        onComputed();
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
      }
      return encodeOutput(output);
    },
    benchmark: () => session.run((gpu) => runBenchmark(gpu)),
    device: () => session.device(),
    release: () => session.release(),
    close: () => session.close(),
  };
}
