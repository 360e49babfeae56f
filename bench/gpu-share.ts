/**
 * How much of its time a fast GPU behind a home link computes, for render and matmul tasks: a
 * model, not a measurement (no such GPU or link here), printed by `idleforge bench hub`. It
 * describes what the code does: the worker's pipeline, the hub's tiles and carve, its check.
 *
 * The worker (20 TFLOP/s class: 2·10¹³ operations a second, the optimistic side: a slower GPU waits
 * less) sits behind a 100 Mbit/s link, both ways, with 30 ms of round trip. Its engine
 * (worker/engine/task-pipeline.ts) leases LEASE_AHEAD (2) tasks ahead, one more as each task
 * starts, and submits each result as the next task starts, SUBMITS_IN_FLIGHT (2) at once; a task
 * whose result finds both places taken waits for one before the next task runs. So in the steady
 * state a task costs the longest of:
 *   its compute;
 *   its bytes on the link (down and up at once);
 *   its lease's round trip and bytes, over the LEASE_AHEAD leases in flight;
 *   its submission's round trip, upload and the hub's check of it (the hub answers once it has
 *   checked), over the SUBMITS_IN_FLIGHT submissions in flight (the sentinel allows 2 while the
 *   worker has had no rejection: Sentinel.submitsAtOnce with the hub's 3 strikes).
 * The GPU's share is compute / that. (A submission goes up only after the one before it started
 * and uploads one at a time when each takes less than a task, which the link term ensures.) The
 * compute term carries the worker's time after the kernel before the next task can start (the
 * host runs one task at a time): reading the result back (GPU_READBACK_BYTES_PER_S, an
 * assumption: 208 bytes a pixel, its sums and chunk sums). Encoding it (f16, SHA-256, the opened
 * chunk sums; `bench hub` prints its time here) is off the GPU's path: both hosts, Dawn's headless
 * one and the desktop app's compute page (over its bridge's `computed` message), say when the GPU
 * is done (`onComputed`), and the pipeline starts the next task then (worker/engine/task-pipeline.ts).
 *
 * Render's samples a second are derived from the example scene's operations per sample (the
 * hub's measure, kernels/render `measureFlopsPerSample`: what render tasks are paid by):
 * samples/s = 2·10¹³ / FLOP per sample, taking every operation the measure counts as one of the
 * GPU's f32 operations at its peak. A render task goes down as its lease (JSON: the tile and the
 * scene, about 1.6 kB) and comes back as the worker sends it: the tile's mean radiance as raw f16
 * bytes, 6 a pixel (3 channels × 2 bytes; jobs/render.ts). For the example scene (2,549 FLOP a
 * sample: 7.85·10⁹ samples/s) on this link, per pixel of a task of S samples:
 *   compute  S · 2,549 / 2·10¹³ s = S · 0.127 ns (0.522 µs at S = 4,096);
 *   upload   6 bytes · 8 / 10⁸ bit/s = 0.48 µs, which compute passes from S ≈ 3,770 on:
 * a job of fewer samples is bound by the link whatever the protocol does (at 16 samples the GPU
 * computes 0.4% of the time at best).
 *
 * The tasks the hub gives such a GPU: tiles of about RENDER_TILE_PIXELS (2¹⁷; hub/kinds/render.ts
 * planRender: 362–723 pixels a side, or the whole picture below that) and a carve of about
 * TASK_SECONDS (1 s) of its rate, which is every sample of a tile (a 4,096-sample tile of 2¹⁷
 * pixels is 68 ms of its compute). The result the worker sends carries, beside the f16 tile, the
 * chunk sums of 160 pixels its bytes open (jobs/render.ts; 30.7 kB, in `upBytes`), and the hub's
 * check of it (kernels/render/verify.ts checkRenderChunks) re-traces one chunk of 16 (S/16
 * samples) of each opened pixel until CHECK_PIXELS are telling, on one CPU core: its time is the
 * samples × `checkMsPerSample`, measured on this machine by `bench hub` (bench/render-check.ts),
 * which `gpuShareFigures` takes; the figures say how short the check must be for 95%
 * (`renderCheckMsFor95`).
 *
 * Left out: the hub's own time to lease and to record a credit (a few ms of PostgreSQL each, on
 * the lease's and the submission's round trips: for a full tile neither term binds, the
 * submission's having about 9 ms of slack; the example's smaller picture, which its submission
 * binds, would come out a little lower); the worker's saving of a result to SQLite (beside the
 * GPU, not on its path); TCP's slow start on a fresh connection (the client keeps its
 * connections); for matmul, the hub's Freivalds check (O(n²), about a millisecond).
 */
import { readFileSync } from 'node:fs';
import { RenderJobRequestSchema, RENDER_MAX_SAMPLES, type RenderJobRequest } from '../protocol/index.js';
import { render } from '../kernels/index.js';
import { measureFlopsPerSample } from '../kernels/render/reference.js';
import { planRender, renderTaskParams, renderTileSide, type RenderJobSpec } from '../hub/kinds/render.js';
import { TASK_SECONDS } from '../hub/sizing.js';
import { LEASE_AHEAD, SUBMITS_IN_FLIGHT } from '../worker/engine/task-pipeline.js';

export interface Link {
  mbitPerS: number;
  rttMs: number;
}
export interface TaskCost {
  computeMs: number;
  downBytes: number;
  upBytes: number;
  /** The hub's check of the result, which its answer waits for (ms). */
  checkMs: number;
  /** The worker's time on the GPU's path after the kernel, before the next task can start (ms): reading the result back, encoding it. */
  hostMs?: number;
}

/** Bytes a second the model reads back from a GPU (PCIe 4.0 ×16 in practice: about 16 GB/s). */
export const GPU_READBACK_BYTES_PER_S = 16e9;
/** Bytes read back a pixel of a render task: its sums (vec4f) and its 16 chunk sums (f32 RGB); kernels/render/dispatch.ts. */
export const RENDER_READBACK_BYTES_PER_PIXEL = 16 + 12 * render.RENDER_CHUNKS;

export const GAMING_GPU_FLOPS = 2e13;
export const HOME_LINK: Link = { mbitPerS: 100, rttMs: 30 };

const transferMs = (bytes: number, link: Link): number => (bytes * 8) / (link.mbitPerS * 1000);

/** The steady-state share of its time the GPU computes (0–1). */
export function gpuShare(task: TaskCost, link: Link, leaseAhead = LEASE_AHEAD, inFlight = SUBMITS_IN_FLIGHT): number {
  const down = transferMs(task.downBytes, link);
  const up = transferMs(task.upBytes, link);
  const period = Math.max(task.computeMs + (task.hostMs ?? 0), down, up, (link.rttMs + down) / leaseAhead, (link.rttMs + up + task.checkMs) / inFlight);
  return task.computeMs / period;
}

export interface ShareFigure extends TaskCost {
  what: string;
  /** The task's pixels and samples a pixel (render). */
  pixels?: number;
  samples?: number;
  gpuSharePct: number;
}

const pct = (share: number): number => Math.round(10_000 * share) / 100;
const figure = (what: string, task: TaskCost & { pixels?: number; samples?: number }, link: Link): ShareFigure => ({ what, ...task, gpuSharePct: pct(gpuShare(task, link)) });

/** Bytes a pixel of a render result's tile as the worker sends it: RGB as raw f16 (jobs/render.ts, docs/PROTOCOL.md), before its chunk sums. */
export const RENDER_RESULT_BYTES_PER_PIXEL = 3 * 2;

/** What `bench hub` measures on this machine's CPU for the model (bench/render-check.ts). */
export interface HubAndWorkerCpu {
  /** The hub's chunk check, ms of one core a sample of the task. */
  checkMsPerSample: number;
}

/**
 * A render task of `spec`'s first tile with `samples` samples, as the hub leases it (JSON), as the
 * worker answers it (raw f16) and as the hub checks it (`checkMsPerSample` × samples).
 */
export function renderTaskCost(spec: RenderJobSpec, samples: number, measured: HubAndWorkerCpu, gpuFlops = GAMING_GPU_FLOPS): TaskCost & { pixels: number; samples: number } {
  const params = renderTaskParams(spec, 0, 0, samples);
  const lease = JSON.stringify({ task: { id: 'task_0123456789abcdef', kind: 'render', reward: '1000000000000000000', leaseExpiresAt: '2030-01-01T00:00:00.000Z', params, inputs: { scene: spec.scene } } });
  const pixels = params.w * params.h;
  return {
    pixels,
    samples: params.sampleCount,
    computeMs: (1000 * pixels * params.sampleCount * spec.flopsPerSample) / gpuFlops,
    downBytes: lease.length,
    upBytes: render.chunkedBytes(params.w, params.h),
    checkMs: measured.checkMsPerSample * params.sampleCount,
    hostMs: (pixels * 1000 * RENDER_READBACK_BYTES_PER_PIXEL) / GPU_READBACK_BYTES_PER_S,
  };
}

/** The samples of a tile of `pixels` the hub's carve gives a worker of `samplesPerSecond` (about TASK_SECONDS of its work; at least one, at most the tile's). */
export const carvedSamples = (pixels: number, tileSamples: number, samplesPerSecond: number): number =>
  Math.min(tileSamples, Math.max(1, Math.floor((TASK_SECONDS * samplesPerSecond) / pixels)));

/** The least n ≥ 1 (up to 2²⁴) for which `reaches(n)` holds, when it holds from some n on: doubling, then halving back. */
function least(reaches: (n: number) => boolean): number {
  let n = 1;
  while (n < 2 ** 24 && !reaches(n)) n *= 2;
  for (let step = n / 4; step >= 1; step /= 2) if (reaches(n - step)) n -= step;
  return n;
}

/** The largest matmul task (2²⁷ multiply-adds, 512³): A and B down as a task frame, C up as raw bytes (its check left out: see the header). */
export function matmulTaskCost(gpuFlops = GAMING_GPU_FLOPS): TaskCost {
  const side = 512;
  return { computeMs: (1000 * 2 * side ** 3) / gpuFlops, downBytes: 2 * 4 * side * side + 512, upBytes: 4 * side * side, checkMs: 0 };
}

/**
 * The figures `bench hub` prints, given what it measured on this machine's CPU (`measured`: the
 * hub's check time a sample, the worker's encoding time a pixel; bench/render-check.ts): the
 * example render job at a new key's size; the example with RENDER_MAX_SAMPLES (4,096) samples a
 * pixel in the task the hub gives a 20 TFLOP/s worker (the whole 256×192 picture: one tile, all its
 * samples); a full tile of the hub's plan (√RENDER_TILE_PIXELS = 362 a side) of the example scene
 * at 4,096 samples; matmul. Then what 95% needs: the pixels a 4,096-sample task needs with this
 * check, and the longest check a full tile's task may have.
 */
export function gpuShareFigures(
  measured: HubAndWorkerCpu,
  exampleUrl = new URL('../examples/render-job.json', import.meta.url),
  link = HOME_LINK,
): {
  flopsPerSample: number;
  samplesPerSecond: number;
  link: Link;
  gpuFlops: number;
  resultBytesPerPixel: number;
  leaseAhead: number;
  submitsInFlight: number;
  measured: HubAndWorkerCpu;
  figures: ShareFigure[];
  /** Least pixels a task of RENDER_MAX_SAMPLES samples needs for 95% with this check (null: none reach it). */
  renderPixelsFor95AtMostSamples: number | null;
  /** Longest check (ms) of a full tile's RENDER_MAX_SAMPLES-sample task that still gives 95%. */
  renderCheckMsFor95: number;
} {
  const job: RenderJobRequest = RenderJobRequestSchema.parse(JSON.parse(readFileSync(exampleUrl, 'utf8')));
  const flopsPerSample = measureFlopsPerSample(job.scene, job.width, job.height);
  const samplesPerSecond = GAMING_GPU_FLOPS / flopsPerSample;
  const specOf = (width: number, height: number, samples: number): RenderJobSpec => {
    const sized = { width, height, samples };
    return { ...sized, seed: 1, flopsPerSample, ...planRender(sized, flopsPerSample), scene: job.scene };
  };
  const spec = specOf(job.width, job.height, job.samples);
  const most = specOf(job.width, job.height, RENDER_MAX_SAMPLES);
  const side = renderTileSide();
  // A picture of two tiles a side: each a full tile of side × side pixels.
  const full = specOf(2 * side, 2 * side, RENDER_MAX_SAMPLES);
  const carved = (s: RenderJobSpec): ReturnType<typeof renderTaskCost> => {
    const pixels = renderTaskCost(s, 1, measured).pixels;
    return renderTaskCost(s, carvedSamples(pixels, s.samples, samplesPerSecond), measured);
  };
  const newKey = renderTaskCost(spec, spec.samplesPerPass, measured);
  const example = carved(most);
  const tile = carved(full);
  // The pixels a task of the most samples needs for 95% (the share grows with them: the round trips and the check are shared by more compute).
  const perPixel = (n: number): TaskCost => ({
    computeMs: (tile.computeMs * n) / tile.pixels,
    downBytes: tile.downBytes,
    upBytes: render.chunkedBytes(n, 1),
    checkMs: tile.checkMs,
    hostMs: ((tile.hostMs ?? 0) * n) / tile.pixels,
  });
  const pixelsFor95 = gpuShare(perPixel(2 ** 24), link) >= 0.95 ? least((n) => gpuShare(perPixel(n), link) >= 0.95) : null;
  // The longest check of a full tile's task for 95%: 95% of the compute is the submission's share of the period.
  const checkFor95 = Math.max(0, (SUBMITS_IN_FLIGHT * tile.computeMs) / 0.95 - link.rttMs - transferMs(tile.upBytes, link));
  return {
    flopsPerSample,
    samplesPerSecond,
    link,
    gpuFlops: GAMING_GPU_FLOPS,
    resultBytesPerPixel: RENDER_RESULT_BYTES_PER_PIXEL,
    leaseAhead: LEASE_AHEAD,
    submitsInFlight: SUBMITS_IN_FLIGHT,
    measured,
    figures: [
      figure(`render, the example job at a new key's size (${newKey.samples} samples a task of its ${newKey.pixels}-pixel tile)`, newKey, link),
      figure(`render, the example at ${RENDER_MAX_SAMPLES} samples a pixel in the task the hub gives this GPU (${example.pixels} pixels, ${example.samples} samples: its whole picture is one tile)`, example, link),
      figure(`render, a full tile (${side}×${side}) of the example scene at ${RENDER_MAX_SAMPLES} samples, in the task the hub gives this GPU (${tile.samples} samples)`, tile, link),
      figure('matmul, the largest task (512³)', matmulTaskCost(), link),
    ],
    renderPixelsFor95AtMostSamples: pixelsFor95,
    renderCheckMsFor95: Math.round(100 * checkFor95) / 100,
  };
}
