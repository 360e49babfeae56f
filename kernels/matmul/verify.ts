/**
 * Freivalds' check of C = A·B without redoing the product: for secret random vectors r, compare
 * C·r with A·(B·r). Cost per round: about k·n + m·k + m·n multiply-adds, O(n²) for an n³
 * product (a few ms at the feeder's sizes, whose products are 17–134 million multiply-adds), so
 * one hub keeps up with many GPUs.
 *
 * Two tolerances, so that honest work is never rejected and wrong work is caught tightly:
 * - the fast one: r has secret random signs, so the rounding errors e_ij of row i reach
 *   (C·r)_i − (A·B·r)_i as Σ_j r_j·e_ij, whose spread is at most ‖r‖·max_j |e_ij| whatever
 *   their pattern; with rounding errors behaving like random noise, |e_ij| grows like
 *   √k·2⁻²⁴·Σ_l |a_il||b_lj| ≤ √k·2⁻²⁴·S_i, S_i = Σ_l |a_il|·max_j |b_lj|. A row within
 *   NOISE_SIGMAS such spreads (times TOLERANCE_FACTOR) passes at once;
 * - a row beyond it is not yet wrong, since structured inputs can make honest f32 errors grow
 *   like k·2⁻²⁴·Σ|a||b| (the worst case for any summation order). Its elements are then
 *   recomputed exactly, and the result is rejected only if some element is off by more than
 *   twice that worst case: a verdict with no false alarms.
 * Entries of r have random signs and magnitudes in [0.5, 1], so an error in one element larger
 * than about 2× its row's fast tolerance always reaches the exact check, and errors spread over
 * many elements cancel only with probability zero.
 */
import type { Verdict } from '../types.js';
import { checkSizes, type MatmulDims } from './reference.js';

export const FREIVALDS_ROUNDS = 2;
export const TOLERANCE_FACTOR = 2;
/** Standard deviations of random-noise rounding the fast tolerance allows. */
export const NOISE_SIGMAS = 6;
const UNIT_ROUNDOFF = 2 ** -24;

/** Secret random values in [0, 1): crypto-grade in Node and in browsers. */
function secureRandoms(count: number): Float64Array {
  const words = new Uint32Array(count);
  for (let off = 0; off < count; off += 16384) {
    globalThis.crypto.getRandomValues(words.subarray(off, Math.min(count, off + 16384)));
  }
  return Float64Array.from(words, (w) => w / 2 ** 32);
}

/** f32's normal range: products outside it underflow or overflow, and f32 results stop being checkable. */
const F32_MIN_NORMAL = 2 ** -126;
/** Sums of k products are kept this far under f32's largest value (2¹²⁸). */
const F32_SAFE_MAX = 2 ** 120;

/**
 * Why a product A·B cannot be computed faithfully in f32, or null when it can: every product of
 * a nonzero entry of A and a nonzero entry of B lies in f32's normal range, and no sum of k of
 * them can come near overflow. (Inputs of 10⁻³⁰ give products of 10⁻⁶⁰, which f32 flushes to 0;
 * inputs of 10²⁰ overflow to ∞: an honest worker's exact f32 answer would then fail the check.)
 */
export function productRangeProblem(dims: MatmulDims, a: Float32Array, b: Float32Array): string | null {
  const extent = (x: Float32Array): { max: number; minNonzero: number } => {
    let max = 0;
    let minNonzero = Infinity;
    for (let i = 0; i < x.length; i++) {
      const v = Math.abs(x[i]!);
      if (v > max) max = v;
      if (v !== 0 && v < minNonzero) minNonzero = v;
    }
    return { max, minNonzero };
  };
  const ea = extent(a);
  const eb = extent(b);
  if (ea.max === 0 || eb.max === 0) return null;
  if (dims.k * ea.max * eb.max > F32_SAFE_MAX) {
    return `entries this large (|a| up to ${ea.max.toExponential(2)}, |b| up to ${eb.max.toExponential(2)}) can overflow f32 in a sum of ${dims.k} products; scale the inputs down`;
  }
  if (ea.minNonzero * eb.minNonzero < F32_MIN_NORMAL) {
    return `entries this small (|a| down to ${ea.minNonzero.toExponential(2)}, |b| down to ${eb.minNonzero.toExponential(2)}) give products under f32's normal range (${F32_MIN_NORMAL.toExponential(2)}), which f32 flushes towards 0; scale the inputs up`;
  }
  return null;
}

export function verifyMatmul(
  dims: MatmulDims,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  randoms: (count: number) => Float64Array = secureRandoms,
): Verdict {
  checkSizes(dims, a, b);
  const { m, n, k } = dims;
  if (c.length !== m * n) return { ok: false, reason: `the result holds ${c.length} values, expected ${m * n}` };
  for (let i = 0; i < c.length; i++) {
    if (!Number.isFinite(c[i]!)) return { ok: false, reason: `the result holds a non-finite value at element ${i}` };
  }
  // S_i = Σ_l |a_il|·max_j |b_lj|: the scale of row i's rounding errors.
  const bmax = new Float64Array(k);
  for (let l = 0; l < k; l++) {
    let mx = 0;
    const off = l * n;
    for (let j = 0; j < n; j++) mx = Math.max(mx, Math.abs(b[off + j]!));
    bmax[l] = mx;
  }
  const scale = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    const off = i * k;
    for (let l = 0; l < k; l++) s += Math.abs(a[off + l]!) * bmax[l]!;
    scale[i] = s;
  }
  const noise = TOLERANCE_FACTOR * NOISE_SIGMAS * Math.sqrt(k + 1) * UNIT_ROUNDOFF;
  const checked = new Uint8Array(m);
  const r = new Float64Array(n);
  const br = new Float64Array(k);
  for (let round = 0; round < FREIVALDS_ROUNDS; round++) {
    const u = randoms(2 * n);
    let norm2 = 0;
    for (let j = 0; j < n; j++) {
      r[j] = (u[2 * j]! < 0.5 ? -1 : 1) * (0.5 + 0.5 * u[2 * j + 1]!);
      norm2 += r[j]! * r[j]!;
    }
    const norm = Math.sqrt(norm2);
    // B·r
    for (let l = 0; l < k; l++) {
      let s = 0;
      const off = l * n;
      for (let j = 0; j < n; j++) s += b[off + j]! * r[j]!;
      br[l] = s;
    }
    for (let i = 0; i < m; i++) {
      if (checked[i]) continue;
      let abr = 0;
      const aoff = i * k;
      for (let l = 0; l < k; l++) abr += a[aoff + l]! * br[l]!;
      let cr = 0;
      const coff = i * n;
      for (let j = 0; j < n; j++) cr += c[coff + j]! * r[j]!;
      if (Math.abs(cr - abr) <= noise * scale[i]! * norm) continue;
      const wrong = exactCheck(dims, a, b, c, i, 0, n);
      if (wrong) return { ok: false, reason: wrong };
      checked[i] = 1;
    }
  }
  return { ok: true };
}

/** Recomputes row i, columns j0…j0+width−1 exactly; describes the first element beyond the worst case. */
function exactCheck({ n, k }: MatmulDims, a: Float32Array, b: Float32Array, c: Float32Array, i: number, j0: number, width: number): string | null {
  for (let j = j0; j < j0 + width; j++) {
    let exact = 0;
    let scale = 0;
    for (let l = 0; l < k; l++) {
      const p = a[i * k + l]! * b[l * n + j]!;
      exact += p;
      scale += Math.abs(p);
    }
    const got = c[i * n + j]!;
    const allowed = TOLERANCE_FACTOR * (k + 1) * UNIT_ROUNDOFF * scale;
    if (!(Math.abs(got - exact) <= allowed)) {
      return `element (${i}, ${j}) of the result is ${got}, but A·B gives ${exact} (off by ${Math.abs(got - exact).toExponential(3)}, allowed ${allowed.toExponential(3)})`;
    }
  }
  return null;
}
