/**
 * Freivalds' check of C = A·B without redoing the product: for secret random vectors r,
 * compare C·r with A·(B·r). Cost O(mk + kn + mn) instead of O(mnk).
 *
 * Tolerance: an f32 dot product of length k carries at most about k·2⁻²⁴·Σ|a||b| of rounding
 * error, so row i of (C − AB)·r may differ by up to k·2⁻²⁴·(|A|·(|B|·|r|))ᵢ. We allow twice that.
 * Entries of r have magnitude in [0.5, 1], so an error larger than about twice the tolerance in
 * any single element is always caught, and a spread of errors is caught with probability 1 for
 * continuous random signs and sizes.
 */
import type { Verdict } from '../types.js';
import { checkSizes, type MatmulDims } from './reference.js';

export const FREIVALDS_ROUNDS = 2;
export const TOLERANCE_FACTOR = 2;
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
  for (let round = 0; round < FREIVALDS_ROUNDS; round++) {
    const u = randoms(2 * n);
    const r = new Float64Array(n);
    for (let j = 0; j < n; j++) r[j] = (u[2 * j]! < 0.5 ? -1 : 1) * (0.5 + 0.5 * u[2 * j + 1]!);
    const br = new Float64Array(k);
    const babs = new Float64Array(k);
    for (let l = 0; l < k; l++) {
      let s = 0;
      let sa = 0;
      const off = l * n;
      for (let j = 0; j < n; j++) {
        const v = b[off + j]!;
        s += v * r[j]!;
        sa += Math.abs(v) * Math.abs(r[j]!);
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
      const coff = i * n;
      for (let j = 0; j < n; j++) cr += c[coff + j]! * r[j]!;
      const tolerance = TOLERANCE_FACTOR * (k + 1) * UNIT_ROUNDOFF * bound;
      if (!(Math.abs(cr - abr) <= tolerance)) {
        return { ok: false, reason: `row ${i} of the result does not match A·B (off by ${Math.abs(cr - abr).toExponential(3)}, allowed ${tolerance.toExponential(3)})` };
      }
    }
  }
  return { ok: true };
}
