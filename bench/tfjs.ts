/**
 * TensorFlow.js's WebGPU backend (@tensorflow/tfjs-backend-webgpu), run on the bench's own
 * GPUDevice, as the public peer the matmul kernel is measured against. Its packages are
 * development dependencies: without them the bench reports tfjs as unavailable.
 */
import { globals } from 'webgpu';
import { now } from '../kernels/gpu.js';

export interface TfjsMatmul {
  /** Median ms of one product and the batch size, compute only (inputs already on the GPU). */
  time(dims: { m: number; n: number; k: number }, a: Float32Array, b: Float32Array, opts: { batches: number; batchMs: number }): Promise<{ ms: number; repeats: number; c: Float32Array }>;
  version: string;
}

interface TfModule {
  version_core: string;
  registerBackend(name: string, factory: () => unknown, priority?: number): boolean;
  removeBackend(name: string): void;
  findBackend(name: string): unknown;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  backend(): unknown;
  env(): { set(flag: string, value: unknown): void };
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
}
interface TfTensor {
  data(): Promise<Float32Array | Int32Array | Uint8Array>;
  dispose(): void;
}
interface WebGpuBackendInternals {
  device: GPUDevice;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Loads TensorFlow.js on `device`, or returns the reason it cannot. */
export async function loadTfjs(device: GPUDevice, gpu: GPU, adapterInfo: GPUAdapterInfo): Promise<TfjsMatmul | { error: string }> {
  // The backend reads WebGPU's constants (GPUBufferUsage…) from globals and checks navigator.gpu.
  Object.assign(globalThis, globals);
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  let tf: TfModule;
  let WebGPUBackend: new (device: GPUDevice, info?: GPUAdapterInfo) => unknown;
  try {
    tf = (await import('@tensorflow/tfjs-core')) as unknown as TfModule;
    ({ WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as { WebGPUBackend: typeof WebGPUBackend });
  } catch (error) {
    return { error: `TensorFlow.js is not installed (npm install --include=dev): ${error instanceof Error ? error.message : String(error)}` };
  }
  // Its kernels are registered for the backend named 'webgpu': put one on our device under that name.
  // (The package registers its own factory on import, one that opens a device of its own.)
  try {
    tf.removeBackend('webgpu');
  } catch {
    // not registered: fine
  }
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapterInfo), 10);
  if (!(await tf.setBackend('webgpu'))) return { error: 'TensorFlow.js could not start its WebGPU backend' };
  await tf.ready();
  // Every op on the GPU, whatever its size.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  const backend = tf.backend() as WebGpuBackendInternals;
  if (backend.device !== device) return { error: 'TensorFlow.js is not on the bench device' };
  const flush = async (): Promise<void> => {
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await device.queue.onSubmittedWorkDone();
  };
  return {
    version: tf.version_core,
    async time(dims, a, b, opts) {
      const ta = tf.tensor2d(a, [dims.m, dims.k]);
      const tb = tf.tensor2d(b, [dims.k, dims.n]);
      try {
        const batch = async (repeats: number): Promise<number> => {
          const outs: TfTensor[] = [];
          const start = now();
          for (let i = 0; i < repeats; i++) outs.push(tf.matMul(ta, tb));
          await flush();
          const ms = now() - start;
          for (const out of outs) out.dispose();
          return ms;
        };
        // Uploads, compiles, and the first run.
        const first = tf.matMul(ta, tb);
        const c = Float32Array.from(await first.data());
        first.dispose();
        const single = Math.max(1e-3, Math.min(await batch(1), await batch(1)));
        const repeats = Math.max(1, Math.min(200, Math.round(opts.batchMs / single)));
        const times: number[] = [];
        for (let i = 0; i < opts.batches; i++) times.push((await batch(repeats)) / repeats);
        times.sort((x, y) => x - y);
        return { ms: times[Math.floor(times.length / 2)]!, repeats, c };
      } finally {
        ta.dispose();
        tb.dispose();
      }
    },
  };
}
