/** Small helpers shared by kernels: error scopes, buffers, readback. */
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

export function storageBuffer(device: GPUDevice, data: Float32Array, label: string): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(4, data.byteLength),
    usage: BufferUsage.STORAGE | BufferUsage.COPY_DST,
    mappedAtCreation: true,
  });
  new Float32Array(buffer.getMappedRange()).set(data);
  buffer.unmap();
  return buffer;
}

/** Copies `size` bytes of `source` back to the CPU. */
export async function readBack(device: GPUDevice, source: GPUBuffer, size: number): Promise<Float32Array> {
  const staging = device.createBuffer({ label: 'readback', size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, 0, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MapMode.READ);
    return new Float32Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new KernelError('the run was stopped', 'ABORTED');
}
