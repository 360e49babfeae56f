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
import { KernelError, type Verdict } from '../types.js';
import { tracePixelVaried, tracerFor, type Tracer } from './reference.js';
import type { RenderScene, RenderTile } from './scene.js';

/** Telling pixels the hub re-traces in a check, whatever the tile's size (all of a smaller tile's). */
export const CHECK_PIXELS = 40;
/**
 * Chunks a task's samples are cut into for the chunk sums a result may carry (the kernel keeps
 * them, shader.ts): chunk k holds samples [⌊k·S/C⌋, ⌊(k+1)·S/C⌋) of the task's S.
 */
export const RENDER_CHUNKS = 16;
/** Pixels whose chunk sums a result carries (all of a smaller tile's): TRACE_BUDGET_FACTOR·CHECK_PIXELS, drawn from the result's own bytes. */
export const openedPixelCount = (pixels: number): number => Math.min(pixels, TRACE_BUDGET_FACTOR * CHECK_PIXELS);
/** The 8 bytes between a chunked result's f16 tile and its chunk sums: ASCII "chunks16". */
export const CHUNKS_MARK = new TextEncoder().encode(`chunks${RENDER_CHUNKS}`);
/**
 * Bytes of a chunked result (`rgbHalfChunks`): the tile as f16 (6 a pixel), CHUNKS_MARK, then each
 * opened pixel's RENDER_CHUNKS chunk sums, f32 RGB little-endian, in the order the pixels were
 * drawn. Never 6·w·h nor 12·w·h (the mark's 8 bytes see to it), so a raw body's length tells it apart.
 */
export const chunkedBytes = (w: number, h: number): number => 6 * w * h + CHUNKS_MARK.byteLength + 12 * RENDER_CHUNKS * openedPixelCount(w * h);
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
  reference?: (index: number, start: number, count: number) => { rgb: ArrayLike<number>; varied: boolean };
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

/** Why no honest tile holds `rgb`'s values (one not finite, negative, or brighter than the scene allows), or null. */
function valueProblem(scene: RenderScene, rgb: Float32Array, tr: Tracer | null): string | null {
  const bright = tr?.scene.maxRadiance ?? Math.max(...scene.environment, ...scene.materials.map((m) => (m.type === 'emission' ? m.strength * Math.max(...m.color) : 0)));
  // Room for f32's rounding, and f16's (2⁻¹¹): no honest value lies beyond it.
  const limit = bright * (1 + 2 ** -10) + PIXEL_ABSOLUTE_TOLERANCE;
  for (let i = 0; i < rgb.length; i++) {
    const v = rgb[i]!;
    if (!(v >= 0 && v <= limit)) return `pixel ${Math.floor(i / 3)} has ${v}, outside 0..${bright}, which no path of this scene can carry`;
  }
  return null;
}

/**
 * Traces `candidates` in order until `n` of them are telling, asking `probe` of each whether its
 * samples differ and whether the worker's value matches (or why the result is wrong outright);
 * passes when at most allowedMismatches(n) telling and allowedMismatches(TRACE_BUDGET_FACTOR·n)
 * flat ones do not match.
 */
function judgeDrawn(candidates: readonly number[], n: number, probe: (index: number) => { varied: boolean; matches: boolean } | string): RenderCheck {
  const allowed = allowedMismatches(n);
  // Telling and flat pixels that differ are counted apart: a mostly flat tile traces up to
  // TRACE_BUDGET_FACTOR·n pixels, and its honest divergences among them must not use up the
  // telling pixels' allowance (with one count, a 78%-flat tile with 1% of its pixels diverged was
  // rejected about once in 5,000 checks).
  const flatAllowed = allowedMismatches(TRACE_BUDGET_FACTOR * n);
  let telling = 0;
  let traced = 0;
  let mismatches = 0;
  let flatMismatches = 0;
  for (const index of candidates) {
    if (telling >= n) break;
    traced++;
    const seen = probe(index);
    if (typeof seen === 'string') return { verdict: { ok: false, reason: seen }, checked: telling, traced, mismatches };
    if (seen.varied) telling++;
    if (!seen.matches) {
      mismatches++;
      if (!seen.varied) flatMismatches++;
      if (mismatches - flatMismatches > allowed || flatMismatches > flatAllowed) {
        const reason = `${mismatches} of the ${traced} pixels the hub traced again differ from the scene's (at most ${allowed} of those whose samples differ may, from rounding)`;
        return { verdict: { ok: false, reason }, checked: telling, traced, mismatches };
      }
    }
  }
  return { verdict: { ok: true }, checked: telling, traced, mismatches };
}

/** The reference's value of tile pixel `index` over samples [start, start+count), and whether they differ: options.reference's, else traced now. */
function referenceOf(tr: Tracer | null, tile: RenderTile, options: Pick<RenderCheckOptions, 'reference'>, out: Float32Array): (index: number, start: number, count: number) => { rgb: ArrayLike<number>; varied: boolean } {
  if (options.reference) return options.reference;
  return (index, start, count) => ({ rgb: out, varied: tracePixelVaried(tr!, tile.seed, tile.x + (index % tile.w), tile.y + Math.floor(index / tile.w), start, count, out) });
}

/** Checks `rgb` (w×h×3, the task's output; options.encoding says whether the worker rounded it to f16) against the scene. */
export function checkRenderTile(scene: RenderScene, tile: RenderTile, rgb: Float32Array, options: RenderCheckOptions, tracer?: Tracer): RenderCheck {
  const pixels = tile.w * tile.h;
  const fail = (reason: string): RenderCheck => ({ verdict: { ok: false, reason }, checked: 0, traced: 0, mismatches: 0 });
  if (rgb.length !== 3 * pixels) return fail(`the tile must hold w×h×3 = ${3 * pixels} values, not ${rgb.length}`);
  const tr = tracer ?? (options.reference ? null : tracerFor(scene, tile.width, tile.height));
  const wrong = valueProblem(scene, rgb, tr);
  if (wrong) return fail(wrong);
  const n = Math.min(pixels, options.pixels ?? checkPixelCount(pixels));
  const reference = referenceOf(tr, tile, options, new Float32Array(3));
  return judgeDrawn(drawPixels(pixels, Math.min(pixels, TRACE_BUDGET_FACTOR * n), options.random), n, (index) => {
    const want = reference(index, tile.sampleStart, tile.sampleCount);
    return { varied: want.varied, matches: pixelMatches(rgb, want.rgb, 3 * index, 0, options.encoding) };
  });
}

/** Samples [start, start+count) of chunk `k` of a task's `samples` (RENDER_CHUNKS of them; empty when there are fewer samples than chunks and it gets none), counted from the task's first. */
export function chunkSpan(samples: number, k: number): [number, number] {
  const start = Math.floor((k * samples) / RENDER_CHUNKS);
  return [start, Math.floor(((k + 1) * samples) / RENDER_CHUNKS) - start];
}

/**
 * The tile pixels a result's chunk sums are for (RENDER_OPENED_PIXELS, all of a smaller tile's),
 * drawn from SHA-256 of the task's tile and samples and the result's f16 bytes (Fiat–Shamir: the
 * worker cannot choose them without changing what it sends; it can grind, docs/DESIGN.md). The
 * worker and the hub compute the same.
 */
export async function openedPixels(tile: RenderTile, half: Uint8Array): Promise<number[]> {
  const head = new Uint32Array([tile.width, tile.height, tile.x, tile.y, tile.w, tile.h, tile.sampleStart, tile.sampleCount, tile.seed >>> 0]);
  const message = new Uint8Array(head.byteLength + half.byteLength);
  message.set(new Uint8Array(head.buffer), 0);
  message.set(half, head.byteLength);
  const digest = new Uint32Array(await globalThis.crypto.subtle.digest('SHA-256', message));
  // xoshiro128** seeded by the digest's first four words (not all zero: SHA-256 makes that 2⁻¹²⁸).
  const st = Uint32Array.from(digest.subarray(0, 4));
  const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(st[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (st[1]! << 9) >>> 0;
    st[2]! ^= st[0]!;
    st[3]! ^= st[1]!;
    st[1]! ^= st[2]!;
    st[0]! ^= st[3]!;
    st[2]! ^= t;
    st[3] = rotl(st[3]!, 11);
    return result / 2 ** 32;
  };
  const pixels = tile.w * tile.h;
  return drawPixels(pixels, openedPixelCount(pixels), next);
}

/**
 * A tile's result as the worker sends it (`chunkedBytes`): its f16 values `half`, CHUNKS_MARK, and
 * the chunk sums (f32) of the pixels those bytes open (`openedPixels`), from the kernel's
 * `chunks` (w×h × RENDER_CHUNKS × RGB).
 */
export async function chunkedResult(tile: RenderTile, half: Uint8Array, chunks: Float32Array): Promise<Uint8Array> {
  const opened = await openedPixels(tile, half);
  const out = new Uint8Array(chunkedBytes(tile.w, tile.h));
  out.set(half, 0);
  out.set(CHUNKS_MARK, half.byteLength);
  const sums = new Float32Array(opened.length * RENDER_CHUNKS * 3);
  opened.forEach((p, i) => sums.set(chunks.subarray(p * RENDER_CHUNKS * 3, (p + 1) * RENDER_CHUNKS * 3), i * RENDER_CHUNKS * 3));
  out.set(new Uint8Array(sums.buffer), half.byteLength + CHUNKS_MARK.byteLength);
  return out;
}

/** A chunked result's f16 bytes and chunk sums (`bytes` of chunkedBytes(w, h)); throws KernelError VALIDATION without the mark. */
export function splitChunked(w: number, h: number, bytes: Uint8Array): { half: Uint8Array; sums: Float32Array } {
  const halfBytes = 6 * w * h;
  const mark = bytes.subarray(halfBytes, halfBytes + CHUNKS_MARK.byteLength);
  if (bytes.byteLength !== chunkedBytes(w, h) || !mark.every((b, i) => b === CHUNKS_MARK[i])) {
    throw new KernelError(`a chunked render result is ${chunkedBytes(w, h)} bytes with "${new TextDecoder().decode(CHUNKS_MARK)}" after the tile's f16 values`, 'VALIDATION');
  }
  // Copies (a Node Buffer's slice is a view into a shared pool), the sums' bytes then aligned for f32.
  const sums = new Float32Array(new Uint8Array(bytes.subarray(halfBytes + CHUNKS_MARK.byteLength)).buffer);
  return { half: new Uint8Array(bytes.subarray(0, halfBytes)), sums };
}

/**
 * The check of a result that carries chunk sums (`rgbHalfChunks`; docs/DESIGN.md, "the check's
 * cost"): for each opened pixel in the order drawn, its chunk sums must add up to its mean (within
 * f16's and f32's rounding: any that does not is a made-up value, never a divergence), and one of
 * its chunks, drawn with the hub's secret `random` after the result came, is re-traced and must
 * match (as a pixel does in checkRenderTile), until CHECK_PIXELS of them are telling. Its cost is
 * that of checkRenderTile over RENDER_CHUNKS times fewer samples. `sums`: opened.length ×
 * RENDER_CHUNKS × RGB, f32.
 */
export function checkRenderChunks(
  scene: RenderScene,
  tile: RenderTile,
  rgb: Float32Array,
  sums: Float32Array,
  opened: readonly number[],
  options: Pick<RenderCheckOptions, 'random' | 'reference'>,
  tracer?: Tracer,
): RenderCheck {
  const pixels = tile.w * tile.h;
  const fail = (reason: string): RenderCheck => ({ verdict: { ok: false, reason }, checked: 0, traced: 0, mismatches: 0 });
  if (rgb.length !== 3 * pixels || sums.length !== opened.length * RENDER_CHUNKS * 3) return fail(`the tile must hold ${3 * pixels} values and ${opened.length * RENDER_CHUNKS * 3} chunk sums`);
  const tr = tracer ?? (options.reference ? null : tracerFor(scene, tile.width, tile.height));
  const wrong = valueProblem(scene, rgb, tr);
  if (wrong) return fail(wrong);
  const reference = referenceOf(tr, tile, options, new Float32Array(3));
  const S = tile.sampleCount;
  const filled = Array.from({ length: RENDER_CHUNKS }, (_, k) => k).filter((k) => chunkSpan(S, k)[1] > 0);
  const chunkMean = new Float32Array(3);
  const at = new Map(opened.map((index, i) => [index, i]));
  return judgeDrawn(opened, Math.min(CHECK_PIXELS, opened.length), (index) => {
    const base = at.get(index)! * RENDER_CHUNKS * 3;
    for (let c = 0; c < 3; c++) {
      let total = 0;
      for (let k = 0; k < RENDER_CHUNKS; k++) total += sums[base + 3 * k + c]!;
      const mean = rgb[3 * index + c]!;
      // f16's rounding of the mean, f32's tolerance, and the f32 sums' order (S additions, each within 2⁻²⁴).
      if (!(Math.abs(total / S - mean) <= channelTolerance(mean, 'f16') + S * 2 ** -24 * Math.abs(mean))) {
        return `pixel ${index}'s chunk sums add up to ${total / S}, not its value ${mean}`;
      }
    }
    const k = filled[Math.floor(options.random() * filled.length)]!;
    const [start, count] = chunkSpan(S, k);
    for (let c = 0; c < 3; c++) chunkMean[c] = Math.fround(sums[base + 3 * k + c]! / count);
    const want = reference(index, tile.sampleStart + start, count);
    return { varied: want.varied, matches: pixelMatches(chunkMean, want.rgb, 0, 0, 'f32') };
  });
}

export function verifyRender(scene: RenderScene, tile: RenderTile, rgb: Float32Array, random: () => number, encoding: RenderEncoding = 'f32'): Verdict {
  return checkRenderTile(scene, tile, rgb, { random, encoding }).verdict;
}
