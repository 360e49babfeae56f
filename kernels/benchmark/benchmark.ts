/**
 * The `benchmark` kind: the score a worker reports in its heartbeat, matmul GFLOP/s, render's
 * GFLOP/s (as render tasks are paid: pixel-samples of the box scene × its operations per sample)
 * and hashsearch MH/s on its device, measured in BENCHMARK_BUDGET_MS or less.
 *
 * Steps, each bounded by the time left:
 * 1. Self-check: a small matmul (not a multiple of any block), a short hashsearch with matches,
 *    and one sample of a render tile, against their CPU references (the render tile by the hub's
 *    own check). A device that computes a wrong matmul or hashsearch gets no score; one whose
 *    tile fails the hub's check gets no render score (0: the hub would reject its tiles too).
 * 2. On a GPU, a quick tuning among the matmul configurations at the measured size and half of
 *    it (the winners become the device's choices for tasks too).
 * 3. Matmul: square products of growing size until one takes about 20 ms (or 2048³), then
 *    batches of that product, each one submission of at most about 50 ms. Compute only: the
 *    inputs are on the GPU before the clock starts and nothing is read back.
 * 4. Render: the box scene's timing tile with a growing sample count until one run takes about
 *    0.2 s (timeRender); its pixel-samples a second × the scene's operations per sample
 *    (measureFlopsPerSample, the hub's count) give `renderGflops`, in the units render tasks are
 *    paid and sized by (hub/sizing.ts).
 * 5. Hashsearch: ranges with no matches, growing until one takes about 0.4 s (timeHashsearch).
 *
 * No submission is longer than about 100 ms, so the OS GPU watchdog never fires.
 */
import type { KernelDevice } from '../device.js';
import { now, submitAndWait, throwIfAborted } from '../gpu.js';
import { hashsearchReference, type HashsearchSpec } from '../hashsearch/reference.js';
import { hashsearchPipeline, planHashsearch, runHashsearch, timeHashsearch, TIMING_HEADER } from '../hashsearch/dispatch.js';
import { matmulConfigFor, matmulPipeline, prepareMatmul, runMatmul } from '../matmul/dispatch.js';
import { matmulReference } from '../matmul/reference.js';
import type { MatmulConfigName } from '../matmul/shader.js';
import { sampleMatrix, tuneMatmul, tuningCandidates } from '../matmul/tune.js';
import { verifyMatmul } from '../matmul/verify.js';
import { sameHashsearchResult } from '../hashsearch/verify.js';
import { renderPipeline, runRender, timeRender, TIMING_TILE } from '../render/dispatch.js';
import { measureFlopsPerSample } from '../render/reference.js';
import { boxScene } from '../render/scenes.js';
import { verifyRender } from '../render/verify.js';
import { KernelError, type Verdict } from '../types.js';

export const BENCHMARK_BUDGET_MS = 3000;
/** Longest single submission the benchmark makes, ms. */
const MAX_SUBMISSION_MS = 50;

export interface BenchmarkScore {
  /** f32 matmul, 2·m·n·k / time, GFLOP/s. */
  gflops: number;
  /** SHA-256 nonce hashes per second, millions. */
  mhs: number;
  /** Render: pixel-samples a second of the box scene × its operations per sample, GFLOP/s; 0 when its tile failed the self-check. */
  renderGflops: number;
  /** The matmul product measured and the configuration that ran it. */
  matmul: { size: number; config: MatmulConfigName };
  /** Wall time of the whole benchmark, ms. */
  ms: number;
}

export interface BenchmarkOptions {
  budgetMs?: number;
  /** Try the GPU matmul configurations and keep the fastest for the device (default: on GPUs). */
  tune?: boolean;
  signal?: AbortSignal;
}


/** The self-check problems and what they must give: the CPU references of both kinds. */
export function benchmarkChecks(): { matmul: { m: number; n: number; k: number }; hashsearch: HashsearchSpec } {
  return {
    // Multiples of 4 (the vec4 flavour the timed products use) but of no block size.
    matmul: { m: 68, n: 44, k: 36 },
    hashsearch: { header: TIMING_HEADER, target: `00${'f'.repeat(62)}`, start: 4_000_000_000n, count: 2048 },
  };
}

export async function runBenchmark(gpu: KernelDevice, options: BenchmarkOptions = {}): Promise<BenchmarkScore> {
  const began = now();
  const budget = options.budgetMs ?? BENCHMARK_BUDGET_MS;
  const left = (): number => budget - (now() - began);
  const software = gpu.software;

  // 0. Compile every pipeline the benchmark may use at once (drivers compile in parallel).
  const checks = benchmarkChecks();
  const tuning = options.tune ?? !software;
  const configs = new Set<MatmulConfigName>([matmulConfigFor(gpu), ...(tuning ? tuningCandidates(gpu) : [])]);
  await Promise.all([
    ...[...configs].map((name) => matmulPipeline(gpu, name, true)),
    hashsearchPipeline(gpu, planHashsearch(checks.hashsearch).offset),
    renderPipeline(gpu),
  ]);

  // 1. Self-check.

  const dims = checks.matmul;
  const a = sampleMatrix(dims.m * dims.k, 11);
  const b = sampleMatrix(dims.k * dims.n, 12);
  const c = await runMatmul(gpu, dims, a, b, options.signal ? { signal: options.signal } : {});
  const verdict: Verdict = verifyMatmul(dims, a, b, c);
  if (!verdict.ok) throw new KernelError(`the GPU computed a wrong matmul: ${verdict.reason}`, 'INTERNAL');
  const ref = matmulReference(dims, a, b);
  if (c.some((v, i) => Math.abs(v - ref[i]!) > 1e-4 * (1 + Math.abs(ref[i]!)))) throw new KernelError('the GPU computed a wrong matmul', 'INTERNAL');
  const hs = await runHashsearch(gpu, checks.hashsearch, options.signal ? { signal: options.signal } : {});
  if (!sameHashsearchResult(hs, hashsearchReference(checks.hashsearch))) throw new KernelError('the GPU computed a wrong hashsearch', 'INTERNAL');
  const scene = boxScene();
  const tile = await runRender(gpu, scene, TIMING_TILE, options.signal ? { signal: options.signal } : {});
  const rendersRight = verifyRender(scene, TIMING_TILE, tile, seededRandom(13)).ok;

  // 2 and 3. Matmul: find a size, tune on GPUs, time.
  throwIfAborted(options.signal);
  const matmulEnd = now() + Math.max(0, left()) * 0.45;
  const size = await pickSize(gpu, matmulConfigFor(gpu, { m: 2048, n: 2048 }), matmulEnd);
  if (tuning) await tuneMatmul(gpu, { sizes: size >= 256 ? [size / 2, size] : [size], batchMs: 10, deadline: began + budget * 0.45 });
  throwIfAborted(options.signal);
  const config = matmulConfigFor(gpu, { m: size, n: size });
  const gflops = await timeSquare(gpu, size, config, matmulEnd);

  // 4. Render: until half the time left.
  throwIfAborted(options.signal);
  const hashEnd = began + budget - 50;
  const renderEnd = now() + Math.max(0, hashEnd - now()) / 2;
  let renderGflops = 0;
  if (rendersRight) {
    const { msps } = await timeRender(gpu, scene, { targetMs: Math.min(200, Math.max(20, (renderEnd - now()) / 4)), deadline: renderEnd, ...(options.signal ? { signal: options.signal } : {}) });
    renderGflops = (msps * 1e6 * boxFlopsPerSample()) / 1e9;
  }

  // 5. Hashsearch.
  throwIfAborted(options.signal);
  const { mhs } = await timeHashsearch(gpu, { targetMs: Math.min(400, Math.max(50, hashEnd - now())), deadline: hashEnd, ...(options.signal ? { signal: options.signal } : {}) });
  return { gflops, mhs, renderGflops, matmul: { size, config }, ms: now() - began };
}

let boxCost = 0;
/** The box scene's operations per sample at TIMING_TILE's image size (the hub's measure; computed once). */
function boxFlopsPerSample(): number {
  boxCost ||= measureFlopsPerSample(boxScene(), TIMING_TILE.width, TIMING_TILE.height);
  return boxCost;
}

/** A fixed sequence in [0, 1) (the self-check's pixels need no secret). */
function seededRandom(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** The largest power-of-two square (128 to 2048) one product of which takes under ~20 ms. */
async function pickSize(gpu: KernelDevice, config: MatmulConfigName, deadline: number): Promise<number> {
  let size = 128;
  while (size < 2048 && now() < deadline) {
    const ms = await timeOnce(gpu, size, config);
    if (ms * 8 > MAX_SUBMISSION_MS * 0.8 || ms > 20) break;
    size *= 2;
  }
  return size;
}

async function timeOnce(gpu: KernelDevice, size: number, config: MatmulConfigName): Promise<number> {
  const { device } = gpu;
  const p = await prepareMatmul(gpu, { m: size, n: size, k: size }, sampleMatrix(size * size, 1), sampleMatrix(size * size, 2), config);
  try {
    await submitAndWait(device, [p.encode()]);
    return await submitAndWait(device, [p.encode()]);
  } finally {
    p.destroy();
  }
}

/** GFLOP/s of `size`³ products: batches of one submission each (≤ MAX_SUBMISSION_MS), best batch. */
async function timeSquare(gpu: KernelDevice, size: number, config: MatmulConfigName, deadline: number): Promise<number> {
  const { device } = gpu;
  const p = await prepareMatmul(gpu, { m: size, n: size, k: size }, sampleMatrix(size * size, 1), sampleMatrix(size * size, 2), config);
  try {
    const single = Math.max(0.01, await submitAndWait(device, [p.encode()]));
    const repeats = Math.max(1, Math.floor(MAX_SUBMISSION_MS / single));
    let best = Infinity;
    let batches = 0;
    do {
      best = Math.min(best, (await submitAndWait(device, [p.encode(undefined, repeats)])) / repeats);
      batches++;
    } while (batches < 3 || (now() < deadline && batches < 10));
    return (2 * size ** 3) / best / 1e6;
  } finally {
    p.destroy();
  }
}

/** Work units of a benchmark: none; it is not paid. */
export const benchmarkWorkUnits = (): bigint => 0n;

/** Highest score the hub takes at face value: beyond any single GPU today, by far. */
export const SCORE_CEILING = { gflops: 1e6, mhs: 1e7, renderGflops: 1e6 } as const;

/** The hub's check of a reported score: finite, not negative, under the ceiling. */
export function verifyBenchmarkScore(score: { gflops?: unknown; mhs?: unknown; renderGflops?: unknown }): Verdict {
  for (const key of ['gflops', 'mhs', 'renderGflops'] as const) {
    const value = score[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return { ok: false, reason: `${key} must be a finite number ≥ 0` };
    if (value > SCORE_CEILING[key]) return { ok: false, reason: `${key} ${value} is beyond any GPU (ceiling ${SCORE_CEILING[key]})` };
  }
  return { ok: true };
}
