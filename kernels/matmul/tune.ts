/**
 * Picks the fastest matmul configuration for a device by timing each candidate on one product.
 * GPUs differ (register files, workgroup memory, cache sizes), so no one configuration wins
 * everywhere, nor at every size on one GPU (a product too small for large blocks leaves most of
 * the GPU idle); the winners per size become the device's choices unless `apply` is false.
 */
import type { KernelDevice } from '../device.js';
import { now } from '../gpu.js';
import { configFits, matmulConfigFor, setMatmulChoices, timeMatmul, type SizeChoice } from './dispatch.js';
import { MATMUL_CONFIGS, type MatmulConfigName } from './shader.js';

export interface TuneResult {
  config: MatmulConfigName;
  /** The side of the square product it was timed on. */
  size: number;
  gflops: number;
  ms: number;
}

/**
 * Candidates for a device: the `shared` configurations that fit on GPUs. CPU implementations get
 * their default alone (`cpu-sg` where 4-wide subgroups exist, else `cpu`): it wins wherever both
 * run, and timings on a busy CPU are too noisy to choose by.
 */
export function tuningCandidates(gpu: KernelDevice): MatmulConfigName[] {
  if (gpu.software) return [matmulConfigFor(gpu)];
  const names = Object.keys(MATMUL_CONFIGS) as MatmulConfigName[];
  return names.filter((name) => MATMUL_CONFIGS[name].family === 'shared' && configFits(gpu.device, MATMUL_CONFIGS[name]));
}

/** Every configuration of the device's family that fits (the bench's `--configs all`). */
export function familyConfigs(gpu: KernelDevice): MatmulConfigName[] {
  const family = gpu.software ? 'register' : 'shared';
  return (Object.keys(MATMUL_CONFIGS) as MatmulConfigName[]).filter((name) => MATMUL_CONFIGS[name].family === family && configFits(gpu.device, MATMUL_CONFIGS[name]));
}

/** Deterministic inputs in [-1, 1) (a linear congruential sequence): the same on every host. */
export function sampleMatrix(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Times every candidate on a square product of each size in `sizes` (default 512, 1024, 2048 on
 * GPUs; 128, 256 on CPU implementations) and, unless `apply` is false, makes each size's winner
 * the device's choice for products of about that size (setMatmulChoices).
 */
export async function tuneMatmul(
  gpu: KernelDevice,
  opts: { sizes?: number[]; candidates?: MatmulConfigName[]; batchMs?: number; apply?: boolean; deadline?: number } = {},
): Promise<{ best: MatmulConfigName; results: TuneResult[]; choices: SizeChoice[] }> {
  const software = gpu.software;
  const sizes = opts.sizes ?? (software ? [128, 256] : [512, 1024, 2048]);
  const candidates = opts.candidates ?? tuningCandidates(gpu);
  if (candidates.length === 0) throw new RangeError('no matmul configuration fits this device');
  const results: TuneResult[] = [];
  const choices: SizeChoice[] = [];
  for (const size of sizes) {
    const dims = { m: size, n: size, k: size };
    const a = sampleMatrix(size * size, 1);
    const b = sampleMatrix(size * size, 2);
    let winner: TuneResult | null = null;
    for (const config of candidates) {
      // Past the deadline (performance.now()), only the first candidate of each size runs.
      if (winner && opts.deadline !== undefined && now() > opts.deadline) break;
      const t = await timeMatmul(gpu, dims, a, b, { config, batchMs: opts.batchMs ?? 50, batches: 3 });
      const result = { config, size, gflops: t.gflops, ms: t.ms };
      results.push(result);
      if (!winner || result.gflops > winner.gflops) winner = result;
    }
    choices.push({ area: size * size, config: winner!.config });
  }
  if (opts.apply !== false) setMatmulChoices(gpu, choices);
  return { best: choices[choices.length - 1]!.config, results, choices };
}
