/**
 * How much of its time a fast GPU behind a home link computes, for render and matmul tasks: a
 * model, not a measurement (no such GPU or link here), printed by `idleforge bench hub`.
 *
 * The worker (20 TFLOP/s class: 2·10¹³ operations a second, the optimistic side: a slower GPU waits
 * less) sits behind a 100 Mbit/s link, both ways, with 30 ms of round trip. Its engine leases
 * LEASE_AHEAD (2) tasks ahead and submits each result beside the next task
 * (worker/engine/task-pipeline.ts), so in the steady state a task costs the longest of: its
 * compute; its bytes on the link (down and up at once); and its two round trips (lease, result)
 * with its bytes, shared by the tasks in flight. The GPU's share is compute / that.
 *
 * Render's samples a second are derived from the example scene's operations per sample (the
 * hub's measure, kernels/render `measureFlopsPerSample`: what render tasks are paid by):
 * samples/s = 2·10¹³ / FLOP per sample, taking every operation the measure counts as one of the
 * GPU's f32 operations at its peak. A render task goes down as its lease (JSON: the tile and the
 * scene, about 1.6 kB) and comes back as the worker sends it: the tile's mean radiance as raw f16
 * bytes, 6 a pixel (3 channels × 2 bytes; jobs/render.ts). For the example scene (2,549 FLOP a
 * sample: 7.85·10⁹ samples/s) on this link, per pixel of a task of S samples:
 *   compute  S · 2,549 / 2·10¹³ s = S · 0.127 ns;
 *   upload   6 bytes · 8 / 10⁸ bit/s = 0.48 µs, which compute passes from S ≈ 3,770 on;
 * and per task the round trips, (2 · 30 ms + its transfers) / 2 tasks in flight ≈ 30 ms + half
 * its upload, which a task must pass too: the example's 128×192 tile (24,576 pixels) needs
 * S ≈ 10,900 for 95% (its compute is 3.13 µs · S against 36 ms at S = 4,096: 36%), and a task of
 * 4,096 samples needs about 97,000 pixels (compute 0.522 µs a pixel, less the 0.24 µs a pixel of
 * upload its round trips carry, against 0.95 · 30 ms). Base64 f32 in JSON, what the worker sent
 * before, was 16 bytes a pixel (1.28 µs).
 *
 * Left out, all of which make the real share lower: the worker submits one result at a time
 * (worker/engine/task-pipeline.ts), so a task also costs at least one round trip plus its upload
 * (42 ms for that tile); and the hub answers a result only once it has re-traced 1% of the tile's
 * pixels on one CPU core (kernels/render/verify.ts), which grows with the samples (about 0.6 s for
 * that tile at 4,096 samples on this project's CI machine).
 */
import { readFileSync } from 'node:fs';
import { RenderJobRequestSchema, RENDER_MAX_SAMPLES, type RenderJobRequest } from '../protocol/index.js';
import { measureFlopsPerSample } from '../kernels/render/reference.js';
import { planRender, renderTaskParams, type RenderJobSpec } from '../hub/kinds/render.js';

export interface Link {
  mbitPerS: number;
  rttMs: number;
}
export interface TaskCost {
  computeMs: number;
  downBytes: number;
  upBytes: number;
}

export const GAMING_GPU_FLOPS = 2e13;
export const HOME_LINK: Link = { mbitPerS: 100, rttMs: 30 };
/** Tasks the worker holds beyond the one running (worker/engine/task-pipeline.ts LEASE_AHEAD). */
export const PIPELINE_DEPTH = 2;

const transferMs = (bytes: number, link: Link): number => (bytes * 8) / (link.mbitPerS * 1000);

/** The steady-state share of its time the GPU computes (0–1). */
export function gpuShare(task: TaskCost, link: Link, depth = PIPELINE_DEPTH): number {
  const down = transferMs(task.downBytes, link);
  const up = transferMs(task.upBytes, link);
  const period = Math.max(task.computeMs, Math.max(down, up), (2 * link.rttMs + down + up) / depth);
  return task.computeMs / period;
}

export interface ShareFigure {
  what: string;
  computeMs: number;
  downBytes: number;
  upBytes: number;
  gpuSharePct: number;
}

const figure = (what: string, task: TaskCost, link: Link): ShareFigure => ({ what, ...task, gpuSharePct: Math.round(10_000 * gpuShare(task, link)) / 100 });

/** Bytes a pixel of a render result as the worker sends it: RGB as raw f16 (jobs/render.ts, docs/PROTOCOL.md). */
export const RENDER_RESULT_BYTES_PER_PIXEL = 3 * 2;

/** A render task of `spec`'s first tile as the hub leases it (JSON) and as the worker answers it (raw f16). */
export function renderTaskCost(spec: RenderJobSpec, samplesPerPass: number, gpuFlops = GAMING_GPU_FLOPS): TaskCost {
  const params = renderTaskParams(spec, 0, 0, samplesPerPass);
  const lease = JSON.stringify({ task: { id: 'task_0123456789abcdef', kind: 'render', reward: '1000000000000000000', leaseExpiresAt: '2030-01-01T00:00:00.000Z', params, inputs: { scene: spec.scene } } });
  return { computeMs: (1000 * params.w * params.h * params.sampleCount * spec.flopsPerSample) / gpuFlops, downBytes: lease.length, upBytes: RENDER_RESULT_BYTES_PER_PIXEL * params.w * params.h };
}

/** The least n ≥ 1 (up to 2²⁴) for which `reaches(n)` holds, when it holds from some n on: doubling, then halving back. */
function least(reaches: (n: number) => boolean): number {
  let n = 1;
  while (n < 2 ** 24 && !reaches(n)) n *= 2;
  for (let step = n / 4; step >= 1; step /= 2) if (reaches(n - step)) n -= step;
  return n;
}

/** The largest matmul task (2²⁷ multiply-adds, 512³): A and B down as a task frame, C up as raw bytes. */
export function matmulTaskCost(gpuFlops = GAMING_GPU_FLOPS): TaskCost {
  const side = 512;
  return { computeMs: (1000 * 2 * side ** 3) / gpuFlops, downBytes: 2 * 4 * side * side + 512, upBytes: 4 * side * side };
}

/**
 * The figures `bench hub` prints: the example render job at a new key's size (as jobs were cut
 * before tasks were carved per worker), its tile with the most samples a job may have in one
 * task, and matmul; the samples a task of that tile needs for 95%, and the pixels a task of
 * RENDER_MAX_SAMPLES samples needs for 95%.
 */
export function gpuShareFigures(
  exampleUrl = new URL('../examples/render-job.json', import.meta.url),
  link = HOME_LINK,
): {
  flopsPerSample: number;
  samplesPerSecond: number;
  link: Link;
  gpuFlops: number;
  resultBytesPerPixel: number;
  figures: ShareFigure[];
  renderSamplesFor95: number;
  renderPixelsFor95AtMostSamples: number;
} {
  const job: RenderJobRequest = RenderJobRequestSchema.parse(JSON.parse(readFileSync(exampleUrl, 'utf8')));
  const flopsPerSample = measureFlopsPerSample(job.scene, job.width, job.height);
  const spec: RenderJobSpec = { width: job.width, height: job.height, samples: job.samples, seed: 1, flopsPerSample, ...planRender(job, flopsPerSample), scene: job.scene };
  const most = { ...spec, samples: RENDER_MAX_SAMPLES };
  // The samples a task of the example's tile needs for the GPU to compute 95% of the time (the share grows with them).
  const samplesFor95 = least((n) => gpuShare(renderTaskCost({ ...spec, samples: n }, n), link) >= 0.95);
  // The pixels a task of the most samples needs for 95% (the share grows with them too: the round trips are shared by more compute).
  const tile = renderTaskCost(most, RENDER_MAX_SAMPLES);
  const pixels = tile.upBytes / RENDER_RESULT_BYTES_PER_PIXEL;
  const scaled = (n: number): TaskCost => ({ computeMs: (tile.computeMs * n) / pixels, downBytes: tile.downBytes, upBytes: RENDER_RESULT_BYTES_PER_PIXEL * n });
  const pixelsFor95 = least((n) => gpuShare(scaled(n), link) >= 0.95);
  return {
    flopsPerSample,
    samplesPerSecond: GAMING_GPU_FLOPS / flopsPerSample,
    link,
    gpuFlops: GAMING_GPU_FLOPS,
    resultBytesPerPixel: RENDER_RESULT_BYTES_PER_PIXEL,
    figures: [
      figure(`render, the example job at a new key's size (${job.samples} samples a task, f16 results)`, renderTaskCost(spec, spec.samplesPerPass), link),
      figure(`render, the example tile with all ${RENDER_MAX_SAMPLES} samples a pixel in one task (the most a job may have, what the per-worker carve gives such a GPU; f16 results)`, tile, link),
      figure('matmul, the largest task (512³)', matmulTaskCost(), link),
    ],
    renderSamplesFor95: samplesFor95,
    renderPixelsFor95AtMostSamples: pixelsFor95,
  };
}
