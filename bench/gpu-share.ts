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
 * GPU's f32 operations at its peak.
 */
import { readFileSync } from 'node:fs';
import { f32ToBase64, RenderJobRequestSchema, type RenderJobRequest } from '../protocol/index.js';
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

/** A render task of `spec`'s first tile as the hub leases it (JSON) and as the worker answers it (base64 f32 in JSON). */
export function renderTaskCost(spec: RenderJobSpec, samplesPerPass: number, gpuFlops = GAMING_GPU_FLOPS): TaskCost {
  const params = { ...renderTaskParams({ ...spec, samplesPerPass }, 0) };
  const lease = JSON.stringify({ task: { id: 'task_0123456789abcdef', kind: 'render', reward: '1000000000000000000', leaseExpiresAt: '2030-01-01T00:00:00.000Z', params, inputs: { scene: spec.scene } } });
  const result = JSON.stringify({ output: { rgb: f32ToBase64(new Float32Array(3 * params.w * params.h)) } });
  return { computeMs: (1000 * params.w * params.h * params.sampleCount * spec.flopsPerSample) / gpuFlops, downBytes: lease.length, upBytes: result.length };
}

/** The largest matmul task (2²⁷ multiply-adds, 512³): A and B down as a task frame, C up as raw bytes. */
export function matmulTaskCost(gpuFlops = GAMING_GPU_FLOPS): TaskCost {
  const side = 512;
  return { computeMs: (1000 * 2 * side ** 3) / gpuFlops, downBytes: 2 * 4 * side * side + 512, upBytes: 4 * side * side };
}

/** The figures `bench hub` prints: the example render job as planned today, at the most samples a job may have, and matmul. */
export function gpuShareFigures(
  exampleUrl = new URL('../examples/render-job.json', import.meta.url),
  link = HOME_LINK,
): { flopsPerSample: number; samplesPerSecond: number; link: Link; gpuFlops: number; figures: ShareFigure[]; renderSamplesFor95: number } {
  const job: RenderJobRequest = RenderJobRequestSchema.parse(JSON.parse(readFileSync(exampleUrl, 'utf8')));
  const flopsPerSample = measureFlopsPerSample(job.scene, job.width, job.height);
  const spec: RenderJobSpec = { width: job.width, height: job.height, samples: job.samples, seed: 1, flopsPerSample, ...planRender(job, flopsPerSample), scene: job.scene };
  const most = { ...spec, samples: 4096 };
  // The samples a task of the example's tile needs for the GPU to compute 95% of the time (the share grows with them).
  let samplesFor95 = 1;
  while (samplesFor95 < 2 ** 24 && gpuShare(renderTaskCost({ ...spec, samples: samplesFor95 }, samplesFor95), link) < 0.95) samplesFor95 *= 2;
  for (let step = samplesFor95 / 4; step >= 1; step /= 2) if (gpuShare(renderTaskCost({ ...spec, samples: samplesFor95 - step }, samplesFor95 - step), link) >= 0.95) samplesFor95 -= step;
  return {
    flopsPerSample,
    samplesPerSecond: GAMING_GPU_FLOPS / flopsPerSample,
    link,
    gpuFlops: GAMING_GPU_FLOPS,
    figures: [
      figure(`render, the example job as the hub plans it (${job.samples} samples a task)`, renderTaskCost(spec, spec.samplesPerPass), link),
      figure('render, the example tile with all 4096 samples in one task (the most a job may have; per-worker sizing, not built)', renderTaskCost(most, 4096), link),
      figure('matmul, the largest task (512³)', matmulTaskCost(), link),
    ],
    renderSamplesFor95: samplesFor95,
  };
}
