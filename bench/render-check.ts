/**
 * The hub's CPU time for one check of an honest render tile (kernels/render/verify.ts), measured
 * on this machine: the example scene, one tile of `w`×`h` pixels at `samples` samples a pixel. An
 * honest tile of 4,096 samples would take minutes to make on the CPU, so the tile's values are
 * set, pixel by pixel, to the reference's as the check traces each one (its `reference` hook
 * traces for real and writes the worker's value): the check then does all the work it does for an
 * honest tile, and no more. Printed by `idleforge bench hub`; a speed, never asserted by a test.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { render } from '../kernels/index.js';
import { RENDER_MAX_SAMPLES, RenderJobRequestSchema } from '../protocol/index.js';
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

export interface RenderCheckFigures {
  /** The check now (CHECK_PIXELS telling pixels) of the example's tile as the hub plans it now, at 16 and RENDER_MAX_SAMPLES samples. */
  now: RenderCheckTiming[];
  /** The check before (1% of the tile's pixels, at least CHECK_PIXELS) of the example's tile as the hub planned it before (128×192). */
  before: RenderCheckTiming[];
  /** The check now, ms of one core a sample of the task (its time at RENDER_MAX_SAMPLES over them): what bench/gpu-share.ts takes. */
  checkMsPerSample: number;
}

/** The hub's check before and after it stopped growing with the tile's pixels, measured here. */
export function renderCheckFigures(exampleUrl = new URL('../examples/render-job.json', import.meta.url)): RenderCheckFigures {
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
  const now = [16, RENDER_MAX_SAMPLES].map((s) => timeRenderCheck(job.scene, nowTile.w, nowTile.h, s));
  const before = [16, RENDER_MAX_SAMPLES].map((s) => timeRenderCheck(job.scene, beforeTile.w, beforeTile.h, s, beforePixels));
  return { now, before, checkMsPerSample: now[1]!.ms / RENDER_MAX_SAMPLES };
}
