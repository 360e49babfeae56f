/**
 * The compute host of the hidden renderer: the same task → output contract as the Dawn host
 * (worker/compute/dawn.ts), on the page's own WebGPU (navigator.gpu). One task at a time; a lost
 * device fails the run it interrupted with KernelError DEVICE_LOST and the next run gets a new
 * device; outputs are in wire form, and a failed run returns none.
 */
import { runBenchmark, type BenchmarkScore } from '../../kernels/benchmark/index.js';
import { isSoftwareInfo, markSoftware, requestComputeDevice } from '../../kernels/gpu.js';
import { startGpuSession, type OpenedDevice } from '../../kernels/session.js';
import { runKernelTask, type KernelTask, type TaskRunOptions } from '../../kernels/tasks.js';
import { KernelError } from '../../kernels/types.js';
import { decodeTask, encodeOutput, TaskDecodeError } from '../../protocol/codec.js';
import type { Task } from '../../protocol/http.js';

export interface BrowserAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations such as SwiftShader. */
  software: boolean;
}

export interface BrowserComputeHost {
  readonly adapter: BrowserAdapterInfo;
  /** Runs one task (already parsed by TaskSchema); rejects with a KernelError. */
  run(task: Task, signal?: AbortSignal): Promise<Record<string, unknown>>;
  /** Matmul GFLOP/s and hashsearch MH/s of the device, in 3 s or less (kernels/benchmark). */
  benchmark(): Promise<BenchmarkScore>;
  /** The device in use (for tests that destroy it), or null. */
  device(): GPUDevice | null;
  /** Frees the device and its GPU memory; the next run opens a new one. */
  release(): Promise<void>;
  close(): Promise<void>;
}

export interface BrowserHostOptions {
  /** Fixed multiply-adds per matmul submission (tests); unset: sized from the device's speed. */
  sliceBudget?: number;
  /** Fixed nonces per hashsearch submission (tests); unset: sized from the device's speed. */
  hashsearchSliceBudget?: number;
  /** Target duration of one submission, ms (default 50). */
  sliceMs?: number;
  /** Called after each slice of a task (work done, total, in the kind's units). */
  onProgress?: (done: number, total: number) => void;
}

/** Thrown by createBrowserComputeHost when the page has no usable WebGPU adapter. */
export class NoWebGpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoWebGpuError';
  }
}

function describeAdapter(adapter: GPUAdapter): BrowserAdapterInfo {
  const info = adapter.info;
  const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
  const fallback = (info as { isFallbackAdapter?: unknown }).isFallbackAdapter === true;
  const out = { vendor: text(info.vendor), architecture: text(info.architecture), device: text(info.device), description: text(info.description) };
  return { ...out, software: fallback || isSoftwareInfo(out) };
}

async function open(gpu: GPU): Promise<OpenedDevice<BrowserAdapterInfo>> {
  const adapter = (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? (await gpu.requestAdapter());
  if (!adapter) throw new NoWebGpuError('WebGPU is available but found no adapter (no GPU driver, or WebGPU is blocked for this GPU)');
  const info = describeAdapter(adapter);
  const device = await requestComputeDevice(adapter);
  markSoftware(device, info.software);
  return { device, info };
}

function decode(task: Task): KernelTask {
  try {
    return decodeTask(task);
  } catch (error) {
    if (error instanceof TaskDecodeError) throw new KernelError(error.message, error.unknownKind ? 'INTERNAL' : 'VALIDATION');
    throw error;
  }
}

export async function createBrowserComputeHost(gpu: GPU | undefined, opts: BrowserHostOptions = {}): Promise<BrowserComputeHost> {
  if (!gpu) throw new NoWebGpuError('this page has no WebGPU (navigator.gpu is missing)');
  const session = startGpuSession(await open(gpu), () => open(gpu));
  const runOptions: TaskRunOptions = {
    ...(opts.sliceBudget !== undefined ? { matmulSliceBudget: opts.sliceBudget } : {}),
    ...(opts.hashsearchSliceBudget !== undefined ? { hashsearchSliceBudget: opts.hashsearchSliceBudget } : {}),
    ...(opts.sliceMs !== undefined ? { sliceMs: opts.sliceMs } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
  return {
    get adapter() {
      return session.info;
    },
    run(task, signal) {
      return session.run(async (device) => encodeOutput(await runKernelTask(device, decode(task), { ...runOptions, ...(signal ? { signal } : {}) })), signal);
    },
    benchmark: () => session.run((device) => runBenchmark(device)),
    device: () => session.device(),
    release: () => session.release(),
    close: () => session.close(),
  };
}
