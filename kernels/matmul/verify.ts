/**
 * Freivalds' check of C = A·B without redoing the product: for secret random vectors r,
 * compare C·r with A·(B·r), one block of COLUMN_BLOCK columns at a time. Cost: about
 * 2·m·k·n/COLUMN_BLOCK multiply-adds (1/8 of the product) plus O(kn + mn).
 *
 * Two tolerances, so that honest work is never rejected and wrong work is caught tightly:
 * - the fast one assumes rounding errors behave like random noise (they grow like √k·2⁻²⁴·Σ|a||b|);
 *   a block within it passes at once;
 * - a block beyond it is not yet wrong, since structured inputs can make honest f32 errors grow
 *   like k·2⁻²⁴·Σ|a||b| (the worst case for any summation order). Its elements are then
 *   recomputed exactly, and the result is rejected only if some element is off by more than
 *   twice that worst case: a verdict with no false alarms.
 * Entries of r have random signs and magnitudes in [0.5, 1], so an error in one element larger
 * than about 4× its block's fast tolerance always reaches the exact check, and errors spread over
 * many elements cancel only with probability zero.
 */
import type { Verdict } from '../types.js';
import { checkSizes, type MatmulDims } from './reference.js';

export const FREIVALDS_ROUNDS = 2;
export const TOLERANCE_FACTOR = 2;
/** Standard deviations of random-noise rounding the fast tolerance allows. */
export const NOISE_SIGMAS = 6;
/** Columns one random vector covers. */
export const COLUMN_BLOCK = 16;
const UNIT_ROUNDOFF = 2 ** -24;

/** Secret random values in [0, 1): crypto-grade in Node and in browsers. */
function secureRandoms(count: number): Float64Array {
  const words = new Uint32Array(count);
  for (let off = 0; off < count; off += 16384) {
    globalThis.crypto.getRandomValues(words.subarray(off, Math.min(count, off + 16384)));
  }
  return Float64Array.from(words, (w) => w / 2 ** 32);
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
  const br = new Float64Array(k);
  const babs = new Float64Array(k);
  const r = new Float64Array(COLUMN_BLOCK);
  for (let round = 0; round < FREIVALDS_ROUNDS; round++) {
    for (let j0 = 0; j0 < n; j0 += COLUMN_BLOCK) {
      const width = Math.min(COLUMN_BLOCK, n - j0);
      const u = randoms(2 * width);
      for (let j = 0; j < width; j++) r[j] = (u[2 * j]! < 0.5 ? -1 : 1) * (0.5 + 0.5 * u[2 * j + 1]!);
      // B·r and |B|·|r| over this block of columns.
      for (let l = 0; l < k; l++) {
        let s = 0;
        let sa = 0;
        const off = l * n + j0;
        for (let j = 0; j < width; j++) {
          const v = b[off + j]!;
          s += v * r[j]!;
          sa += Math.abs(v * r[j]!);
        }
        br[l] = s;
        babs[l] = sa;
      }
      for (let i = 0; i < m; i++) {
        let abr = 0;
        let bound = 0;
        const aoff = i * k;
        for (let l = 0; l < k; l++) {
          const v = a[aoff + l]!;
          abr += v * br[l]!;
          bound += Math.abs(v) * babs[l]!;
        }
        let cr = 0;
        const coff = i * n + j0;
        for (let j = 0; j < width; j++) cr += c[coff + j]! * r[j]!;
        const fastTolerance = TOLERANCE_FACTOR * NOISE_SIGMAS * Math.sqrt(k + 1) * UNIT_ROUNDOFF * bound;
        if (Math.abs(cr - abr) <= fastTolerance) continue;
        const wrong = exactCheck(dims, a, b, c, i, j0, width);
        if (wrong) return { ok: false, reason: wrong };
      }
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
