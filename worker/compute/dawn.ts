/**
 * The compute host for Node: runs tasks on a Dawn GPUDevice (npm `webgpu`).
 *
 * One task at a time (calls queue up). A lost device fails the run it interrupted with
 * KernelError DEVICE_LOST, and the next run starts on a fresh device from a fresh adapter
 * (kernels/session.ts). Outputs are returned in wire form; a failed run rejects and returns none.
 */
import { markSoftware, requestComputeDevice } from '../../kernels/gpu.js';
import { runBenchmark, type BenchmarkScore } from '../../kernels/benchmark/index.js';
import { startGpuSession, type GpuSession, type OpenedDevice } from '../../kernels/session.js';
import { runKernelTask, type KernelTask, type TaskRunOptions } from '../../kernels/tasks.js';
import { KernelError } from '../../kernels/types.js';
import { decodeTask, encodeOutput, TaskDecodeError } from '../../protocol/codec.js';
import type { Task } from '../../protocol/index.js';
import type { AdapterInfo, ComputeHost } from './host.js';
import { describeMissingWebGpu, openNodeGpu, type NodeGpu, type OpenNodeGpuOptions } from './webgpu-node.js';

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

/** Thrown by createDawnHost when the machine has no usable WebGPU adapter. */
export class NoWebGpuError extends Error {
  constructor(message: string = describeMissingWebGpu()) {
    super(message);
    this.name = 'NoWebGpuError';
  }
}

const sessionsOfHosts = new WeakMap<ComputeHost, GpuSession<AdapterInfo>>();

/** Test hooks: reach the device a host currently uses (to destroy it, say). */
export const hostForTests = {
  device(host: ComputeHost): GPUDevice | null {
    return sessionsOfHosts.get(host)?.device() ?? null;
  },
};

/** The task as typed values; a task that does not fit its kind is a KernelError. */
function decode(task: Task): KernelTask {
  try {
    return decodeTask(task);
  } catch (error) {
    if (error instanceof TaskDecodeError) throw new KernelError(error.message, error.unknownKind ? 'INTERNAL' : 'VALIDATION');
    throw error;
  }
}

async function openDevice(gpu: NodeGpu): Promise<OpenedDevice<AdapterInfo>> {
  const device = await requestComputeDevice(gpu.adapter);
  markSoftware(device, gpu.info.software);
  return { device, info: gpu.info };
}

/**
 * Opens a WebGPU device with Dawn and returns a ComputeHost on it.
 * Rejects with NoWebGpuError (its message says what to install) when no adapter is found.
 */
export async function createDawnHost(opts: DawnHostOptions = {}): Promise<ComputeHost> {
  const open = opts.open ?? (() => openNodeGpu(opts));
  const first = await open();
  if (!first) throw new NoWebGpuError();
  let opened: OpenedDevice<AdapterInfo>;
  try {
    opened = await openDevice(first);
  } catch (error) {
    const name = first.info.description || first.info.device || first.info.vendor || 'a WebGPU adapter';
    throw new NoWebGpuError(`${name} was found but would not open a device: ${error instanceof Error ? error.message : String(error)}`);
  }
  const session = startGpuSession(opened, async () => {
    const gpu = await open();
    if (!gpu) throw new KernelError(`the GPU device was lost and no new one could be opened. ${describeMissingWebGpu()}`, 'DEVICE_LOST');
    return openDevice(gpu);
  });
  const runOptions: TaskRunOptions = {
    ...(opts.sliceBudget !== undefined ? { matmulSliceBudget: opts.sliceBudget } : {}),
    ...(opts.hashsearchSliceBudget !== undefined ? { hashsearchSliceBudget: opts.hashsearchSliceBudget } : {}),
    ...(opts.sliceMs !== undefined ? { sliceMs: opts.sliceMs } : {}),
  };

  const host: ComputeHost = {
    get adapter() {
      return session.info;
    },
    run(task: Task, signal?: AbortSignal) {
      return session.run(async (device) => {
        const output = await runKernelTask(device, decode(task), { ...runOptions, ...(signal ? { signal } : {}) });
        return encodeOutput(output);
      }, signal);
    },
    benchmark(): Promise<BenchmarkScore> {
      return session.run((device) => runBenchmark(device));
    },
    release: () => session.release(),
    close: () => session.close(),
  };
  sessionsOfHosts.set(host, session);
  return host;
}
