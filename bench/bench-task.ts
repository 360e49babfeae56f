/** What the GPU benchmarks run on: this machine's Dawn host, and a matmul of n×n by n×n (default 512³) with fixed values. */
import { f32ToBase64, TaskSchema, type Task } from '../protocol/index.js';
import type { ComputeHost } from '../worker/compute/compute-host.js';
import { createDawnHost, NoWebGpuError } from '../worker/compute/dawn.js';

/** The Dawn host, or null (its reason on stderr) where this machine has no WebGPU. */
export async function openBenchHost(): Promise<ComputeHost | null> {
  try {
    return await createDawnHost();
  } catch (error) {
    if (!(error instanceof NoWebGpuError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return null;
  }
}

export function benchMatmulTask(id: string, n = 512): Task {
  const values = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  return TaskSchema.parse({
    id,
    kind: 'matmul',
    reward: '0',
    leaseExpiresAt: new Date(Date.now() + 24 * 3_600_000).toISOString(),
    params: { m: n, n, k: n },
    inputs: { a: f32ToBase64(values), b: f32ToBase64(values) },
  });
}
