/** The verifier at the sizes the hub leases: honest f32 work passes, one wrong element does not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matmulReference } from './reference.js';
import { verifyMatmul } from './verify.js';

function rand(len: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: len }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}

/** What an honest GPU computes: f32 accumulation, in k order (the worst common order). */
function f32Product(m: number, n: number, k: number, a: Float32Array, b: Float32Array): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let l = 0; l < k; l++) acc = Math.fround(acc + Math.fround(a[i * k + l]! * b[l * n + j]!));
      c[i * n + j] = acc;
    }
  }
  return c;
}

describe('verifyMatmul at task sizes', () => {
  for (const [m, n, k] of [
    [16, 256, 512],
    [8, 1024, 512],
    [32, 64, 2048],
    [3, 300, 7],
  ] as const) {
    it(`${m}×${n}×${k}: honest f32 accepted, +1.0 in one element rejected anywhere`, () => {
      const a = rand(m * k, 1 + m);
      const b = rand(k * n, 2 + n);
      const honest = f32Product(m, n, k, a, b);
      assert.deepEqual(verifyMatmul({ m, n, k }, a, b, honest), { ok: true });
      assert.deepEqual(verifyMatmul({ m, n, k }, a, b, matmulReference({ m, n, k }, a, b)), { ok: true });
      for (const at of [0, Math.floor((m * n) / 2), m * n - 1]) {
        const bad = honest.slice();
        bad[at] = bad[at]! + 1;
        const verdict = verifyMatmul({ m, n, k }, a, b, bad);
        assert.equal(verdict.ok, false, `+1.0 at element ${at} passed`);
      }
    });
  }

  it('at a feeder size (400×448×512): honest f32 accepted; +0.25 in one element, or a whole row 1% off, rejected', () => {
    const [m, n, k] = [400, 448, 512];
    const a = rand(m * k, 11);
    const b = rand(k * n, 12);
    const honest = f32Product(m, n, k, a, b);
    assert.deepEqual(verifyMatmul({ m, n, k }, a, b, honest), { ok: true });
    const one = honest.slice();
    one[123 * n + 45] = one[123 * n + 45]! + 0.25;
    assert.equal(verifyMatmul({ m, n, k }, a, b, one).ok, false, '+0.25 in one element passed');
    const row = honest.slice();
    for (let j = 0; j < n; j++) row[7 * n + j] = row[7 * n + j]! * 1.01;
    assert.equal(verifyMatmul({ m, n, k }, a, b, row).ok, false, 'a row 1% off passed');
  });

  it('honest work on all-positive data (rounding errors of one sign) is accepted', () => {
    const [m, n, k] = [4, 64, 4096];
    const a = rand(m * k, 5).map((v) => Math.abs(v) + 1);
    const b = rand(k * n, 6).map((v) => Math.abs(v) + 1);
    assert.deepEqual(verifyMatmul({ m, n, k }, a, b, f32Product(m, n, k, a, b)), { ok: true });
  });
});

describe('verifyMatmul on values that are not numbers', () => {
  it('rejects a NaN or an infinity anywhere in the result, naming the element', () => {
    const [m, n, k] = [5, 7, 3];
    const a = rand(m * k, 3);
    const b = rand(k * n, 4);
    for (const [at, bad] of [
      [0, Number.NaN],
      [17, Number.POSITIVE_INFINITY],
      [m * n - 1, Number.NEGATIVE_INFINITY],
    ] as const) {
      const c = matmulReference({ m, n, k }, a, b);
      c[at] = bad;
      assert.deepEqual(verifyMatmul({ m, n, k }, a, b, c), { ok: false, reason: `the result holds a non-finite value at element ${at}` });
    }
  });
});
