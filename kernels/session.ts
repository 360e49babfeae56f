/**
 * A GPU session: one device at a time, one run at a time, and a fresh device after a loss.
 * Both compute hosts (Dawn in Node, the compute page in Chromium) run their tasks through one.
 *
 * A run interrupted by a device loss rejects with KernelError DEVICE_LOST, whatever GPU call
 * noticed it first; the next run opens a new device. A run is never resolved with output read
 * from a device that was lost before the output was complete.
 */
import { KernelDevice } from './device.js';
import { describeError } from './gpu.js';
import { KernelError } from './types.js';

export interface OpenedDevice<Info> {
  device: GPUDevice;
  info: Info;
  /** Whether the adapter is a CPU implementation; default, what the device's adapterInfo says. */
  software?: boolean;
}

export interface GpuSession<Info> {
  /** The adapter info of the current (or last) device. */
  readonly info: Info;
  /**
   * Runs `work` on the current device (opening a new one after a loss), after earlier runs. The
   * KernelDevice holds what kernels learned about the device (pipelines, speeds) and lives as
   * long as the device.
   */
  run<T>(work: (gpu: KernelDevice) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** The device in use, or null (closed, or lost and not yet replaced). */
  device(): GPUDevice | null;
  /** Waits for the run in progress, then destroys the device. Later runs reject with INTERNAL. */
  close(): Promise<void>;
  /**
   * Waits for the run in progress, then destroys the device, freeing its GPU memory (a game
   * wants it); the next run opens a new device.
   */
  release(): Promise<void>;
}

interface DeviceState<Info> {
  device: GPUDevice;
  gpu: KernelDevice;
  info: Info;
  lost: boolean;
  lostReason: string;
  /** Resolves when the device is lost, with the reason in words. */
  lostPromise: Promise<string>;
}

const LOST: unique symbol = Symbol('device lost');
/** How long release() waits for a destroyed device to report itself lost. */
const RELEASE_WAIT_MS = 1000;

function watch<Info>({ device, info, software }: OpenedDevice<Info>): DeviceState<Info> {
  const state: DeviceState<Info> = {
    device,
    gpu: new KernelDevice(device, software),
    info,
    lost: false,
    lostReason: '',
    lostPromise: device.lost.then((lostInfo) => {
      state.lost = true;
      state.lostReason = lostInfo.message ? `${lostInfo.reason}: ${lostInfo.message}` : String(lostInfo.reason);
      return state.lostReason;
    }),
  };
  return state;
}

function deviceLost(state: DeviceState<unknown>): KernelError {
  return new KernelError(`the GPU device was lost (${state.lostReason || 'no reason given'}); the next task gets a new one`, 'DEVICE_LOST');
}

/** Waits up to `ms` for the device-lost promise (it may settle just after the error it caused). */
async function settleLost(state: DeviceState<unknown>, ms: number): Promise<boolean> {
  if (state.lost) return true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([state.lostPromise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  return state.lost;
}

/**
 * Starts a session on `first` (already opened by the caller, so it can report its own errors);
 * `reopen` opens the next device after a loss and may throw (its error becomes DEVICE_LOST).
 */
export function startGpuSession<Info>(first: OpenedDevice<Info>, reopen: () => Promise<OpenedDevice<Info>>): GpuSession<Info> {
  let current: DeviceState<Info> | null = watch(first);
  let info = first.info;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();

  async function acquire(): Promise<DeviceState<Info>> {
    if (current && !current.lost) return current;
    if (current) {
      current.device.destroy();
      current = null;
    }
    let opened: OpenedDevice<Info>;
    try {
      opened = await reopen();
    } catch (error) {
      if (error instanceof KernelError) throw error;
      throw new KernelError(`the GPU device was lost and a new one could not be opened: ${describeError(error)}`, 'DEVICE_LOST');
    }
    current = watch(opened);
    info = opened.info;
    return current;
  }

  async function runOne<T>(work: (gpu: KernelDevice) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (closed) throw new KernelError('the compute host is closed', 'INTERNAL');
    if (signal?.aborted) throw new KernelError('the run was stopped', 'ABORTED');
    const state = await acquire();
    let output: T | typeof LOST;
    try {
      // Dawn settles pending GPU promises on loss, but a hung one must not hang the worker. If
      // the loss wins the race, the work's later rejection is expected: keep it from going unhandled.
      const running = work(state.gpu);
      running.catch(() => undefined);
      output = await Promise.race([running, state.lostPromise.then((): typeof LOST => LOST)]);
    } catch (error) {
      // A lost device shows up as whatever the next GPU call fails with; name the real cause.
      // A stop is the caller's doing: only other failures wait (briefly) for the lost promise.
      const code = error instanceof KernelError ? error.code : null;
      const mayBeLoss = code !== 'ABORTED' && code !== 'DEVICE_LOST';
      if (state.lost || (mayBeLoss && (await settleLost(state, 100)))) throw deviceLost(state);
      if (error instanceof KernelError) throw error;
      throw new KernelError(`the task failed: ${describeError(error)}`, 'INTERNAL');
    }
    // Lost before the output was read back: do not trust it.
    if (output === LOST || state.lost) throw deviceLost(state);
    return output;
  }

  return {
    get info() {
      return info;
    },
    run(work, signal) {
      const result = queue.then(() => runOne(work, signal));
      queue = result.catch(() => undefined);
      return result;
    },
    device: () => current?.device ?? null,
    async release() {
      await queue;
      const state = current;
      current = null;
      if (!state) return;
      // Freed: destroy() returned and the device reports itself lost (its memory is given back).
      state.device.destroy();
      await settleLost(state, RELEASE_WAIT_MS);
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue;
      current?.device.destroy();
      current = null;
    },
  };
}
