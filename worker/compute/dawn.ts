/**
 * The compute host for Node: runs tasks on a Dawn GPUDevice (npm `webgpu`).
 *
 * One task at a time (calls queue up). A lost device fails the run it interrupted with
 * KernelError DEVICE_LOST, and the next run starts on a fresh device from a fresh adapter.
 */
import { matmulInputsFit } from '../../protocol/kinds/matmul.js';
import { base64ToF32, f32ToBase64 } from '../../protocol/binary.js';
import type { Task } from '../../protocol/index.js';
import { DEFAULT_SLICE_MACS, runMatmul } from '../../kernels/matmul/index.js';
import { KernelError } from '../../kernels/types.js';
import type { AdapterInfo, ComputeHost, TaskOutput } from './host.js';
import { describeMissingWebGpu, openNodeGpu, type NodeGpu, type OpenNodeGpuOptions } from './webgpu-node.js';

/** Default slice on software adapters (SwiftShader): about 80 ms at 0.05 G multiply-adds/s. */
export const SOFTWARE_SLICE_MACS = 1 << 22;

export interface DawnHostOptions extends OpenNodeGpuOptions {
  /** Multiply-adds per GPU submission (smaller: pauses take effect sooner). Default
   * DEFAULT_SLICE_MACS on hardware, SOFTWARE_SLICE_MACS on a CPU renderer. */
  sliceBudget?: number;
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

interface DeviceState {
  device: GPUDevice;
  info: AdapterInfo;
  lost: boolean;
  lostReason: string;
  /** Resolves when the device is lost, with the reason in words. */
  lostPromise: Promise<string>;
}

const LOST: unique symbol = Symbol('device lost');

const devicesOfHosts = new WeakMap<ComputeHost, () => GPUDevice | null>();

/** Test hooks: reach the device a host currently uses (to destroy it, say). */
export const hostForTests = {
  device(host: ComputeHost): GPUDevice | null {
    return devicesOfHosts.get(host)?.() ?? null;
  },
};

/** Limits worth raising to what the adapter offers: large matrices need large storage buffers. */
const RAISED_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize'] as const;

async function openDevice(gpu: NodeGpu): Promise<DeviceState> {
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = gpu.adapter.limits[name];
    if (typeof value === 'number' && Number.isFinite(value)) requiredLimits[name] = value;
  }
  const device = await gpu.adapter.requestDevice({ label: 'idleforge compute', requiredLimits });
  const state: DeviceState = {
    device,
    info: gpu.info,
    lost: false,
    lostReason: '',
    lostPromise: device.lost.then((info) => {
      state.lost = true;
      state.lostReason = info.message ? `${info.reason}: ${info.message}` : String(info.reason);
      return state.lostReason;
    }),
  };
  return state;
}

function deviceLost(state: DeviceState): KernelError {
  return new KernelError(`the GPU device was lost (${state.lostReason || 'no reason given'}); the next task gets a new one`, 'DEVICE_LOST');
}

/** Decodes a task, runs its kernel on `device`, encodes the output. */
async function runTask(device: GPUDevice, task: Task, signal: AbortSignal | undefined, sliceBudget: number): Promise<TaskOutput> {
  const kind = (task as { kind: unknown }).kind;
  switch (task.kind) {
    case 'matmul': {
      const problem = matmulInputsFit(task.params, task.inputs);
      if (problem) throw new KernelError(`the matmul task does not fit: ${problem}`, 'VALIDATION');
      let a: Float32Array;
      let b: Float32Array;
      try {
        a = base64ToF32(task.inputs.a);
        b = base64ToF32(task.inputs.b);
      } catch (error) {
        throw new KernelError(`the matmul inputs are not valid f32 data: ${error instanceof Error ? error.message : String(error)}`, 'VALIDATION');
      }
      const c = await runMatmul(device, task.params, a, b, { ...(signal ? { signal } : {}), sliceBudget });
      return { c: f32ToBase64(c) };
    }
    default:
      throw new KernelError(`this worker cannot run tasks of kind ${JSON.stringify(kind)}`, 'INTERNAL');
  }
}

/** Waits up to `ms` for the device-lost promise (it may settle just after the error it caused). */
async function settleLost(state: DeviceState, ms: number): Promise<boolean> {
  if (state.lost) return true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([state.lostPromise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  return state.lost;
}

/**
 * Opens a WebGPU device with Dawn and returns a ComputeHost on it.
 * Rejects with NoWebGpuError (its message says what to install) when no adapter is found.
 */
export async function createDawnHost(opts: DawnHostOptions = {}): Promise<ComputeHost> {
  const open = opts.open ?? (() => openNodeGpu(opts));
  const first = await open();
  if (!first) throw new NoWebGpuError();
  // A CPU renderer does ~0.05 G multiply-adds/s: keep its slices near the 100 ms target too.
  const sliceBudget = opts.sliceBudget ?? (first.info.software ? SOFTWARE_SLICE_MACS : DEFAULT_SLICE_MACS);
  let current: DeviceState | null;
  try {
    current = await openDevice(first);
  } catch (error) {
    const name = first.info.description || first.info.device || first.info.vendor || 'a WebGPU adapter';
    throw new NoWebGpuError(`${name} was found but would not open a device: ${error instanceof Error ? error.message : String(error)}`);
  }
  let adapterInfo = first.info;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();

  async function acquire(): Promise<DeviceState> {
    if (current && !current.lost) return current;
    if (current) {
      current.device.destroy();
      current = null;
    }
    const gpu = await open();
    if (!gpu) throw new KernelError(`the GPU device was lost and no new one could be opened. ${describeMissingWebGpu()}`, 'DEVICE_LOST');
    let state: DeviceState;
    try {
      state = await openDevice(gpu);
    } catch (error) {
      throw new KernelError(`the GPU device was lost and a new one could not be opened: ${error instanceof Error ? error.message : String(error)}`, 'DEVICE_LOST');
    }
    current = state;
    adapterInfo = state.info;
    return state;
  }

  async function runOne(task: Task, signal: AbortSignal | undefined): Promise<TaskOutput> {
    if (closed) throw new KernelError('the compute host is closed', 'INTERNAL');
    if (signal?.aborted) throw new KernelError('the run was stopped', 'ABORTED');
    const state = await acquire();
    let output: TaskOutput | typeof LOST;
    try {
      // Dawn settles pending GPU promises on loss, but a hung one must not hang the worker. If
      // the loss wins the race, the work's later rejection is expected: keep it from going unhandled.
      const work = runTask(state.device, task, signal, sliceBudget);
      work.catch(() => undefined);
      output = await Promise.race([work, state.lostPromise.then((): typeof LOST => LOST)]);
    } catch (error) {
      // A lost device shows up as whatever the next GPU call fails with; name the real cause.
      // A stop is the caller's doing: only other failures wait (briefly) for the lost promise.
      const code = error instanceof KernelError ? error.code : null;
      const mayBeLoss = code !== 'ABORTED' && code !== 'DEVICE_LOST';
      if (state.lost || (mayBeLoss && (await settleLost(state, 100)))) throw deviceLost(state);
      if (error instanceof KernelError) throw error;
      throw new KernelError(`the task failed: ${error instanceof Error ? error.message : String(error)}`, 'INTERNAL');
    }
    // Lost before the output was read back: do not trust it.
    if (output === LOST || state.lost) throw deviceLost(state);
    return output;
  }

  const host: ComputeHost = {
    get adapter() {
      return adapterInfo;
    },
    run(task, signal) {
      const result = queue.then(() => runOne(task, signal));
      queue = result.catch(() => undefined);
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue;
      current?.device.destroy();
      current = null;
    },
  };
  devicesOfHosts.set(host, () => current?.device ?? null);
  return host;
}
