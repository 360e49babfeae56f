/**
 * The hub's CPU time for one check of an honest render tile (kernels/render/verify.ts: the chunk
 * check a worker's result gets, the pixel check of a result without chunk sums, and the pixel
 * check as it was, 1% of a tile's pixels), measured
 * on this machine: the example scene, one tile of `w`×`h` pixels at `samples` samples a pixel. An
 * honest tile of 4,096 samples would take minutes to make on the CPU, so the tile's values are
 * set, pixel by pixel, to the reference's as the check traces each one (its `reference` hook
 * traces for real and writes the worker's value): the check then does all the work it does for an
 * honest tile, and no more. Printed by `idleforge bench hub`; a speed, never asserted by a test.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { render } from '../kernels/index.js';
import { f32ToF16, RENDER_MAX_SAMPLES, RenderJobRequestSchema } from '../protocol/index.js';
import { planRender, RENDER_TASK_FLOPS, RENDER_TILE_PIXELS } from '../hub/kinds/render.js';
import type { RenderScene, RenderTile } from '../kernels/render/scene.js';

export interface RenderCheckTiming {
  w: number;
  h: number;
  samples: number;
  /** Pixels the check traced, and the telling ones (samples that differ) among them. */
  traced: number;
  checked: number;
  ms: number;
}

/** One check of an honest `w`×`h` tile of `scene` at `samples` samples (`pixels`: the check's count; default the hub's). */
export function timeRenderCheck(scene: RenderScene, w: number, h: number, samples: number, pixels?: number, seed = 7): RenderCheckTiming {
  const tile: RenderTile = { width: w, height: h, x: 0, y: 0, w, h, sampleStart: 0, sampleCount: samples, seed };
  const tr = render.tracerFor(scene, w, h);
  const rgb = new Float32Array(3 * w * h);
  const one = new Float32Array(3);
  let state = 12345;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const started = performance.now();
  const check = render.checkRenderTile(scene, tile, rgb, {
    random,
    ...(pixels === undefined ? {} : { pixels }),
    reference: (index) => {
      const varied = render.tracePixelVaried(tr, seed, index % w, Math.floor(index / w), 0, samples, one);
      rgb.set(one, 3 * index);
      return { rgb: one, varied };
    },
  });
  const ms = performance.now() - started;
  if (!check.verdict.ok) throw new Error(`the check of an honest tile failed: ${check.verdict.reason}`);
  return { w, h, samples, traced: check.traced, checked: check.checked, ms };
}

/**
 * One chunk check (kernels/render/verify.ts checkRenderChunks: what a worker's result gets now) of
 * an honest `w`×`h` tile at `samples` samples, SHA-256 of its f16 bytes included. The opened
 * pixels' chunk sums are traced first, untimed (the worker's part), and the tile's values at them
 * set to their sums' mean; the others are zeros the check never reads.
 */
export async function timeRenderChunkCheck(scene: RenderScene, w: number, h: number, samples: number, seed = 7): Promise<RenderCheckTiming> {
  const tile: RenderTile = { width: w, height: h, x: 0, y: 0, w, h, sampleStart: 0, sampleCount: samples, seed };
  const tr = render.tracerFor(scene, w, h);
  const rgb = new Float32Array(3 * w * h);
  const half = new Uint8Array(6 * w * h);
  const opened = await render.openedPixels(tile, half);
  const sums = new Float32Array(opened.length * render.RENDER_CHUNKS * 3);
  const one = new Float32Array(3);
  opened.forEach((index, i) => {
    for (let k = 0; k < render.RENDER_CHUNKS; k++) {
      const [start, count] = render.chunkSpan(samples, k);
      if (count === 0) continue;
      render.tracePixelVaried(tr, seed, index % w, Math.floor(index / w), start, count, one);
      for (let c = 0; c < 3; c++) sums[(i * render.RENDER_CHUNKS + k) * 3 + c] = Math.fround(one[c]! * count);
    }
    for (let c = 0; c < 3; c++) {
      let total = 0;
      for (let k = 0; k < render.RENDER_CHUNKS; k++) total += sums[(i * render.RENDER_CHUNKS + k) * 3 + c]!;
      rgb[3 * index + c] = total / samples;
    }
  });
  let state = 12345;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const started = performance.now();
  const drawn = await render.openedPixels(tile, half);
  const check = render.checkRenderChunks(scene, tile, rgb, sums, drawn, { random });
  const ms = performance.now() - started;
  if (!check.verdict.ok) throw new Error(`the chunk check of an honest tile failed: ${check.verdict.reason}`);
  return { w, h, samples, traced: check.traced, checked: check.checked, ms };
}

export interface RenderCheckFigures {
  /** The chunk check (what a worker's result gets now) of the example's tile as the hub plans it now, at 16 and RENDER_MAX_SAMPLES samples. */
  now: RenderCheckTiming[];
  /** The pixel check (CHECK_PIXELS telling pixels at all their samples: a result without chunk sums) of the same tile. */
  pixels: RenderCheckTiming[];
  /** The check before (1% of the tile's pixels, at least CHECK_PIXELS) of the example's tile as the hub planned it before (128×192). */
  before: RenderCheckTiming[];
  /** The chunk check, ms of one core a sample of the task (its time at RENDER_MAX_SAMPLES over them): what bench/gpu-share.ts takes. */
  checkMsPerSample: number;
}

/** The hub's check before and after it stopped growing with the tile's pixels, measured here. */
export async function renderCheckFigures(exampleUrl = new URL('../examples/render-job.json', import.meta.url)): Promise<RenderCheckFigures> {
  const job = RenderJobRequestSchema.parse(JSON.parse(readFileSync(exampleUrl, 'utf8')));
  const flops = render.measureFlopsPerSample(job.scene, job.width, job.height);
  const tileOf = (tilePixels: number): { w: number; h: number } => {
    const plan = planRender(job, flops, RENDER_TASK_FLOPS, tilePixels);
    return { w: Math.ceil(job.width / plan.tilesX), h: Math.ceil(job.height / plan.tilesY) };
  };
  const nowTile = tileOf(RENDER_TILE_PIXELS);
  // Before: tiles of 128 pixels a side, and 1% of a tile's pixels re-traced (at least CHECK_PIXELS).
  const beforeTile = tileOf(128 * 128);
  const beforePixels = Math.max(render.CHECK_PIXELS, Math.ceil((beforeTile.w * beforeTile.h) / 100));
  // A first check warms the tracer's code up, so the 16-sample figures are not its compile time.
  timeRenderCheck(job.scene, beforeTile.w, beforeTile.h, 16, beforePixels);
  await timeRenderChunkCheck(job.scene, nowTile.w, nowTile.h, 16);
  const now: RenderCheckTiming[] = [];
  for (const s of [16, RENDER_MAX_SAMPLES]) now.push(await timeRenderChunkCheck(job.scene, nowTile.w, nowTile.h, s));
  const pixels = [16, RENDER_MAX_SAMPLES].map((s) => timeRenderCheck(job.scene, nowTile.w, nowTile.h, s));
  const before = [16, RENDER_MAX_SAMPLES].map((s) => timeRenderCheck(job.scene, beforeTile.w, beforeTile.h, s, beforePixels));
  return { now, pixels, before, checkMsPerSample: now[1]!.ms / RENDER_MAX_SAMPLES };
}

/**
 * The worker's CPU for a `w`×`h` tile's result after the kernel, on the GPU's path (the host runs
 * one task at a time, so the next waits for it; jobs/render.ts `run`): rounding to f16, SHA-256 of
 * the bytes, drawing the opened pixels and copying their chunk sums. Measured here, once warm.
 */
export async function timeResultEncoding(w: number, h: number, samples = RENDER_MAX_SAMPLES): Promise<number> {
  const tile: RenderTile = { width: w, height: h, x: 0, y: 0, w, h, sampleStart: 0, sampleCount: samples, seed: 7 };
  const rgb = Float32Array.from({ length: 3 * w * h }, (_, i) => (i % 97) / 31);
  const chunks = new Float32Array(w * h * render.RENDER_CHUNKS * 3);
  await render.chunkedResult(tile, f32ToF16(rgb), chunks);
  const started = performance.now();
  await render.chunkedResult(tile, f32ToF16(rgb), chunks);
  return performance.now() - started;
}
