/**
 * The hub's check of a render tile: every value finite, not negative and no brighter than the
 * scene allows; then a secret random set of the tile's pixels re-traced on the CPU reference with
 * the same seeds and compared with the worker's. An honest GPU gives each pixel the reference's
 * value to a few ULP, except where an f32 rounding sent one of its paths elsewhere (rare); a tile
 * rendered with fewer samples, blurred, smoothed or copied from elsewhere differs at nearly every
 * pixel that is not one flat colour. A pixel whose samples all carry the same radiance (it sees
 * the environment or a light directly) keeps its value whatever is done to it, so it tells the
 * check nothing: the hub draws pixels in a secret random order and traces them until n of them
 * are telling (their samples differ), or until it has traced TRACE_BUDGET_FACTOR·n (a flat pixel
 * costs one or two ray segments a sample, far less than a telling one). A pixel matches when it
 * is within PIXEL_RELATIVE_TOLERANCE (relative, plus PIXEL_ABSOLUTE_TOLERANCE) on every channel;
 * a tile passes when at most allowedMismatches(n) of the telling pixels traced do not match (and
 * at most allowedMismatches(TRACE_BUDGET_FACTOR·n) of the flat ones). A tile that
 * came as half floats (f16: the worker rounded its f32 values to the nearest f16 after the kernel)
 * is allowed that rounding on top: HALF_RELATIVE_ROUNDING of the value (HALF_ABSOLUTE_ROUNDING
 * below f16's normal range), applied to the f32 value the worker may honestly have had.
 *
 * Cost: n = checkPixelCount(pixels) = CHECK_PIXELS telling pixels whatever the tile's size, at the
 * task's sample count, plus the flat pixels met on the way: it no longer grows with the tile's
 * pixels (it was 1% of them, which made a check of the hub's 2¹⁷-pixel tiles 33 times dearer), so
 * it is at most 1% of a task's compute (a tile has at least 64×64 = 4,096 pixels, ~100·CHECK_PIXELS)
 * and far less on large tiles. It still grows with the samples (at most RENDER_MAX_SAMPLES): what
 * a per-chunk commitment would bound is in docs/DESIGN.md (render, "the check's cost").
 *
 * What n telling pixels catch: a whole-tile cheat (fewer samples, blurred, denoised, copied) moves
 * nearly every telling pixel, so it fails far more than allowedMismatches(n) of them; an honest
 * GPU whose paths diverged at 1% of its pixels passes (more than n/8 of n diverged has odds under
 * 10⁻⁵ at n = 40). A cheat on a share g of a tile's pixels only (rendered with fewer samples,
 * say) survives when at most n/8 of the n telling pixels fall in it: 62% of the time at g = 1/8,
 * 4.3% at g = 1/4, 7·10⁻⁷ at g = 1/2 (binomial, n = 40, 5 allowed; docs/DESIGN.md).
 */
import type { Verdict } from '../types.js';
import { tracePixelVaried, tracerFor, type Tracer } from './reference.js';
import type { RenderScene, RenderTile } from './scene.js';

/** Telling pixels the hub re-traces in a check, whatever the tile's size (all of a smaller tile's). */
export const CHECK_PIXELS = 40;
/** A checked pixel matches when each channel is within this share of the reference's value, plus PIXEL_ABSOLUTE_TOLERANCE. */
export const PIXEL_RELATIVE_TOLERANCE = 2 ** -12;
export const PIXEL_ABSOLUTE_TOLERANCE = 2 ** -16;
/**
 * How a tile's values came: as the kernel's f32, or each rounded to the nearest f16 (10 bits of
 * mantissa: within 2⁻¹¹ of itself in f16's normal range, 2⁻¹⁴ to 65504; within 2⁻²⁵, half the step
 * of its subnormals, below it).
 */
export type RenderEncoding = 'f32' | 'f16';
export const HALF_RELATIVE_ROUNDING = 2 ** -11;
export const HALF_ABSOLUTE_ROUNDING = 2 ** -25;
/** Share of the checked pixels that may differ (paths sent elsewhere by rounding). */
export const MISMATCH_SHARE = 1 / 8;
/** Most pixels traced in one check, as a multiple of the telling pixels it looks for. */
export const TRACE_BUDGET_FACTOR = 4;

export const checkPixelCount = (pixels: number): number => Math.min(pixels, CHECK_PIXELS);
export const allowedMismatches = (checked: number): number => Math.floor(checked * MISMATCH_SHARE);

/**
 * How far a channel may lie from the reference's value `want`: the f32 tolerance, and for an f16
 * tile the rounding of the largest honest f32 value (want plus that tolerance) to f16.
 */
export function channelTolerance(want: number, encoding: RenderEncoding = 'f32'): number {
  const f32 = PIXEL_RELATIVE_TOLERANCE * Math.abs(want) + PIXEL_ABSOLUTE_TOLERANCE;
  return encoding === 'f32' ? f32 : f32 + HALF_RELATIVE_ROUNDING * (Math.abs(want) + f32) + HALF_ABSOLUTE_ROUNDING;
}

/** Whether one pixel's value matches the reference's. */
export function pixelMatches(got: ArrayLike<number>, want: ArrayLike<number>, at = 0, wantAt = 0, encoding: RenderEncoding = 'f32'): boolean {
  for (let c = 0; c < 3; c++) {
    const w = want[wantAt + c]!;
    if (!(Math.abs(got[at + c]! - w) <= channelTolerance(w, encoding))) return false;
  }
  return true;
}

/** `count` distinct pixel indices below `pixels`, drawn with `random` (a partial Fisher–Yates shuffle). */
export function drawPixels(pixels: number, count: number, random: () => number): number[] {
  const picked = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pixels - i));
    out.push(picked.get(j) ?? j);
    picked.set(j, picked.get(i) ?? i);
  }
  return out;
}

export interface RenderCheckOptions {
  /** The hub's secret randomness (which pixels are checked). */
  random: () => number;
  /**
   * The reference's value of tile pixel `index` (row-major within the tile) and whether its
   * samples differ; default: traced now. Tests that check one tile many times pass a table traced
   * once.
   */
  reference?: (index: number) => { rgb: ArrayLike<number>; varied: boolean };
  /** Pixels to check; default checkPixelCount(w·h). */
  pixels?: number;
  /** How the tile's values came (default f32): an f16 tile is allowed f16's rounding. */
  encoding?: RenderEncoding;
}

/** What a check found, for tests and logs: the telling pixels found, the pixels traced, those that differed. */
export interface RenderCheck {
  verdict: Verdict;
  checked: number;
  traced: number;
  mismatches: number;
}

/** Checks `rgb` (w×h×3, the task's output; options.encoding says whether the worker rounded it to f16) against the scene. */
export function checkRenderTile(scene: RenderScene, tile: RenderTile, rgb: Float32Array, options: RenderCheckOptions, tracer?: Tracer): RenderCheck {
  const pixels = tile.w * tile.h;
  const fail = (reason: string, mismatches = 0, checked = 0, traced = 0): RenderCheck => ({ verdict: { ok: false, reason }, checked, traced, mismatches });
  if (rgb.length !== 3 * pixels) return fail(`the tile must hold w×h×3 = ${3 * pixels} values, not ${rgb.length}`);
  const tr = tracer ?? (options.reference ? null : tracerFor(scene, tile.width, tile.height));
  const bright = tr?.scene.maxRadiance ?? Math.max(...scene.environment, ...scene.materials.map((m) => (m.type === 'emission' ? m.strength * Math.max(...m.color) : 0)));
  // Room for f32's rounding, and f16's (2⁻¹¹): no honest value lies beyond it.
  const limit = bright * (1 + 2 ** -10) + PIXEL_ABSOLUTE_TOLERANCE;
  for (let i = 0; i < rgb.length; i++) {
    const v = rgb[i]!;
    if (!(v >= 0 && v <= limit)) return fail(`pixel ${Math.floor(i / 3)} has ${v}, outside 0..${bright}, which no path of this scene can carry`);
  }
  const n = Math.min(pixels, options.pixels ?? checkPixelCount(pixels));
  const allowed = allowedMismatches(n);
  const one = new Float32Array(3);
  let telling = 0;
  let traced = 0;
  let mismatches = 0;
  // Telling and flat pixels that differ are counted apart: a mostly flat tile traces up to
  // TRACE_BUDGET_FACTOR·n pixels, and its honest divergences among them must not use up the
  // telling pixels' allowance (with one count, a 78%-flat tile with 1% of its pixels diverged was
  // rejected about once in 5,000 checks).
  let flatMismatches = 0;
  const flatAllowed = allowedMismatches(TRACE_BUDGET_FACTOR * n);
  for (const index of drawPixels(pixels, Math.min(pixels, TRACE_BUDGET_FACTOR * n), options.random)) {
    if (telling >= n) break;
    traced++;
    let want: ArrayLike<number> = one;
    let varied: boolean;
    if (options.reference) ({ rgb: want, varied } = options.reference(index));
    else varied = tracePixelVaried(tr!, tile.seed, tile.x + (index % tile.w), tile.y + Math.floor(index / tile.w), tile.sampleStart, tile.sampleCount, one);
    if (varied) telling++;
    if (!pixelMatches(rgb, want, 3 * index, 0, options.encoding)) {
      mismatches++;
      if (!varied) flatMismatches++;
      if (mismatches - flatMismatches > allowed || flatMismatches > flatAllowed) {
        return fail(`${mismatches} of the ${traced} pixels the hub traced again differ from the scene's (at most ${allowed} of those whose samples differ may, from rounding)`, mismatches, telling, traced);
      }
    }
  }
  return { verdict: { ok: true }, checked: telling, traced, mismatches };
}

export function verifyRender(scene: RenderScene, tile: RenderTile, rgb: Float32Array, random: () => number, encoding: RenderEncoding = 'f32'): Verdict {
  return checkRenderTile(scene, tile, rgb, { random, encoding }).verdict;
}
