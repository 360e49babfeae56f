/** Small helpers shared by kernels: error scopes, devices, buffers, readback, pipeline cache. */
import type { KernelDevice } from './device.js';
import { KernelError } from './types.js';

// WebGPU's buffer usage and map mode flags (numbers fixed by the spec), so kernels do not rely
// on globals that only some hosts install.
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
export const MapMode = { READ: 0x0001 } as const;

/** Runs `body` inside validation and out-of-memory error scopes and throws what they catch. */
export async function withErrorScopes<T>(device: GPUDevice, body: () => T): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let value: T;
  try {
    value = body();
  } finally {
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    if (oom) throw new KernelError(`GPU out of memory: ${oom.message}`, 'OUT_OF_MEMORY');
    if (validation) throw new KernelError(`GPU validation error: ${validation.message}`, 'VALIDATION');
  }
  return value;
}

/** A storage buffer holding `data` (any typed array), at least 4 bytes. */
export function storageBuffer(device: GPUDevice, data: ArrayBufferView, label: string, extraUsage = 0): GPUBuffer {
  const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
  const buffer = device.createBuffer({ label, size, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST | extraUsage, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  buffer.unmap();
  return buffer;
}

/** Copies `size` bytes of `source` (from `offset`) back to the CPU. */
export async function readBackBytes(device: GPUDevice, source: GPUBuffer, size: number, offset = 0): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ label: 'readback', size: Math.max(4, size), usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder({ label: 'readback' });
    encoder.copyBufferToBuffer(source, offset, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MapMode.READ);
    return staging.getMappedRange().slice(0, size);
  } finally {
    staging.destroy();
  }
}

/** Copies `size` bytes of `source` back to the CPU as f32. */
export async function readBack(device: GPUDevice, source: GPUBuffer, size: number): Promise<Float32Array> {
  return new Float32Array(await readBackBytes(device, source, size));
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new KernelError('the run was stopped', 'ABORTED');
}

/**
 * `promise`, or a rejection with KernelError ABORTED as soon as `signal` fires after this call (what was awaited
 * goes on in the background: a pipeline compile finishes into the cache). Compiling a large
 * shader takes seconds on a CPU implementation; a pause must not wait for it.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  // The caller checks `aborted` first (kernels do before any work); this waits for the event.
  if (!signal || typeof signal.addEventListener !== 'function') return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new KernelError('the run was stopped', 'ABORTED'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Dawn rejects with DOMExceptions whose message may be empty (an AbortError after a device loss). */
export function describeError(error: unknown): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'name' in error)) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message.trim() : '';
    const label = typeof name === 'string' && name ? name : 'Error';
    return text ? `${label}: ${text}` : `${label} (no message)`;
  }
  return String(error);
}

/** Limits worth raising to what the adapter offers: large matrices, large workgroup tiles. */
export const RAISED_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize'] as const;

/** Features kernels use where the adapter has them. */
export const WANTED_FEATURES = ['subgroups'] as const;

/** Opens a device for compute with the limits above raised to the adapter's, and WANTED_FEATURES it has. */
export async function requestComputeDevice(adapter: GPUAdapter, label = 'idleforge compute'): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = adapter.limits[name];
    if (typeof value === 'number' && Number.isFinite(value)) requiredLimits[name] = value;
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  return adapter.requestDevice({ label, requiredLimits, requiredFeatures });
}

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|\bwarp\b|basic render|\bcpu\b/i;

/** True for CPU implementations of WebGPU (SwiftShader, llvmpipe, WARP), from an adapter's info. */
export function isSoftwareInfo(info: Partial<Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>> & { isFallbackAdapter?: unknown }): boolean {
  if (info.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => typeof s === 'string' && SOFTWARE_NAMES.test(s));
}

/**
 * The compute pipeline for `key` on the device, compiled once (asynchronously, so a long compile
 * does not block the caller's event loop) and cached for the device's life (on its KernelDevice).
 * A failed compile is not cached and rejects with KernelError VALIDATION.
 */
export function cachedPipeline(gpu: KernelDevice, key: string, code: () => string): Promise<GPUComputePipeline> {
  const { device, pipelines: forDevice } = gpu;
  const cached = forDevice.get(key);
  if (cached) return cached;
  const compiling = (async () => {
    device.pushErrorScope('validation');
    let pipeline: GPUComputePipeline;
    const module = device.createShaderModule({ label: key, code: code() });
    try {
      pipeline = await device.createComputePipelineAsync({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
    } catch (error) {
      await device.popErrorScope();
      const info = await module.getCompilationInfo().catch(() => null);
      const errors = (info?.messages ?? []).filter((m) => m.type === 'error').map((m) => `line ${m.lineNum}: ${m.message}`);
      throw new KernelError(`the ${key} shader did not compile: ${errors.length ? errors.join('; ') : describeError(error)}`, 'VALIDATION');
    }
    const problem = await device.popErrorScope();
    if (problem) throw new KernelError(`the ${key} shader did not compile: ${problem.message}`, 'VALIDATION');
    return pipeline;
  })();
  forDevice.set(key, compiling);
  compiling.catch(() => forDevice.delete(key));
  return compiling;
}

/** Milliseconds, from the clock every host has (performance.now in Node and browsers). */
export const now = (): number => globalThis.performance.now();

/** Submits `commands` and resolves once the GPU finished them, with the wall time it took in ms. */
export async function submitAndWait(device: GPUDevice, commands: GPUCommandBuffer[]): Promise<number> {
  const start = now();
  device.queue.submit(commands);
  await device.queue.onSubmittedWorkDone();
  return now() - start;
}
