/**
 * render on a real WebGPU device (Dawn; SwiftShader on machines without a GPU) against its f32 CPU
 * reference, and the hub's check of a tile (verify.ts) on honest and dishonest tiles. No adapter
 * fails these tests with describeMissingWebGpu()'s instructions.
 *
 * The check statistics re-check the same tiles many times with fresh secret pixel draws: the
 * reference's value of every pixel is traced once (a table), and each check draws its pixels and
 * compares, as the hub does, without tracing again. Each tile is checked as f32 and, rounded to
 * half floats as the worker sends it (f16), with f16's rounding allowed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeMissingWebGpu, openNodeGpu } from '../../worker/compute/webgpu-node.js';
import { KernelDevice } from '../device.js';
import { requestComputeDevice } from '../gpu.js';
import { KernelError } from '../types.js';
import { f16ToF32, f32ToF16 } from '../../protocol/index.js';
import {
  allowedMismatches,
  boxScene,
  channelTolerance,
  checkPixelCount,
  checkRenderChunks,
  checkRenderTile,
  chequerScene,
  chunkedResult,
  chunkSpan,
  openedPixels,
  RENDER_CHUNKS,
  runRenderChunks,
  splitChunked,
  pixelMatches,
  type RenderEncoding,
  renderReference,
  renderReferenceVaried,
  runRender,
  skyScene,
  verifyRender,
  type RenderScene,
  type RenderTile,
} from './index.js';

/** A seeded generator (mulberry32), so a failure can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCENES: Array<[string, RenderScene]> = [
  ['box', boxScene()],
  ['sky', skyScene()],
  ['chequer', chequerScene()],
];
const TILE: RenderTile = { width: 256, height: 192, x: 96, y: 64, w: 64, h: 64, sampleStart: 4, sampleCount: 8, seed: 0x9e3779b9 };
const CHECKS = 10_000;
const ENCODINGS: RenderEncoding[] = ['f32', 'f16'];
/** Samples of the chunked tile: two a chunk. */
const CHUNKED_SAMPLES = 2 * RENDER_CHUNKS;

/** The tile as the hub reads it in `encoding`: f16 values are the f32 ones rounded to the nearest f16, as the worker sends them. */
const asSent = (rgb: Float32Array, encoding: RenderEncoding): Float32Array => (encoding === 'f32' ? rgb : f16ToF32(f32ToF16(rgb)));

/** A 3×3 box blur (edges clamped). */
function blur(rgb: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(rgb.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += rgb[3 * (Math.min(h - 1, Math.max(0, y + dy)) * w + Math.min(w - 1, Math.max(0, x + dx))) + c]!;
        out[3 * (y * w + x) + c] = s / 9;
      }
    }
  }
  return out;
}

/** A denoiser's kind of smoothing: each pixel moved towards the mean of its neighbours that look alike (a bilateral filter). */
function denoise(rgb: Float32Array, w: number, h: number): Float32Array {
  const out = new Float32Array(rgb.length);
  const lum = (i: number): number => rgb[3 * i]! + rgb[3 * i + 1]! + rgb[3 * i + 2]!;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const acc = [0, 0, 0];
      let weight = 0;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          const j = yy * w + xx;
          const d = lum(j) - lum(i);
          const k = Math.exp(-(dx * dx + dy * dy) / 4 - (d * d) / 0.05);
          for (let c = 0; c < 3; c++) acc[c]! += k * rgb[3 * j + c]!;
          weight += k;
        }
      }
      for (let c = 0; c < 3; c++) out[3 * i + c] = acc[c]! / weight;
    }
  }
  return out;
}

describe('the check on tiles mostly of flat background (CPU)', () => {
  test('draws until it has telling pixels: fewer samples, blurred and copied tiles are still caught ≥ 99.9%', () => {
    // A wide, low picture of the box scene: most of each tile sees the environment, the same whatever is done to it.
    const scene = boxScene();
    const tile: RenderTile = { width: 256, height: 64, x: 0, y: 0, w: 128, h: 64, sampleStart: 0, sampleCount: 2, seed: 4242 };
    const truth = renderReferenceVaried(scene, tile);
    const flat = truth.varied.reduce((s, v) => s + (v ? 0 : 1), 0) / truth.varied.length;
    assert.ok(flat > 0.5, `${flat} of the pixels are flat`);
    const table = (i: number) => ({ rgb: truth.rgb.subarray(3 * i, 3 * i + 3), varied: truth.varied[i] === 1 });
    const cases: Array<[string, Float32Array, boolean]> = [
      ['honest', truth.rgb, true],
      ['half the samples', renderReference(scene, { ...tile, sampleCount: 1 }), false],
      ['blurred', truth.rgb.map((v, i) => (i + 3 < truth.rgb.length ? (v + truth.rgb[i + 3]!) / 2 : v)), false],
      ['copied from the next tile', renderReference(scene, { ...tile, x: 128 }), false],
    ];
    const figures: string[] = [];
    for (const encoding of ENCODINGS) {
      cases.forEach(([what, f32, honest], k) => {
        const rgb = asSent(f32, encoding);
        const random = seeded(100 + k);
        let passed = 0;
        let traced = 0;
        for (let i = 0; i < CHECKS; i++) {
          const c = checkRenderTile(scene, tile, rgb, { random, reference: table, encoding });
          if (c.verdict.ok) passed++;
          traced += c.traced;
        }
        figures.push(`${what} (${encoding}): ${CHECKS - passed} of ${CHECKS} ${honest ? 'rejected' : 'caught'} (${(traced / CHECKS).toFixed(0)} pixels traced a check)`);
        if (honest) assert.equal(passed, CHECKS, `${what} (${encoding})`);
        else assert.ok(CHECKS - passed >= 0.999 * CHECKS, `${what} (${encoding}): caught ${CHECKS - passed}`);
      });
    }
    console.log(`flat background (${(100 * flat).toFixed(0)}% of the tile's pixels flat): ${figures.join('; ')}`);
  });
});

describe('the f16 allowance (CPU)', () => {
  test('an honest f32 value anywhere within the f32 tolerance still matches once rounded to f16; twice the allowance does not', () => {
    const random = seeded(5);
    for (let i = 0; i < 100_000; i++) {
      // References from 2⁻²⁰ to 2¹⁰ (the brightest scene's light is 1000), the worker's f32 value at the edge of the f32 tolerance.
      const want = Math.fround(2 ** (-20 + 30 * random()));
      const side = random() < 0.5 ? -1 : 1;
      const f32 = Math.fround(want + side * channelTolerance(want, 'f32') * (1 - 2 ** -20));
      const got = asSent(Float32Array.of(f32, f32, f32), 'f16');
      assert.ok(pixelMatches(got, [want, want, want], 0, 0, 'f16'), `${want}: the worker's ${f32} sent as ${got[0]}`);
      // A value off by twice the whole f16 allowance is refused.
      const far = want + 2 * side * channelTolerance(want, 'f16');
      assert.equal(pixelMatches([far, far, far], [want, want, want], 0, 0, 'f16'), false, `${want}: ${far}`);
    }
  });
});

describe('runRender on WebGPU', () => {
  let device: KernelDevice;

  before(async () => {
    const gpu = await openNodeGpu();
    if (!gpu) throw new Error(describeMissingWebGpu());
    device = new KernelDevice(await requestComputeDevice(gpu.adapter));
  });
  after(() => device?.device.destroy());

  for (const [name, scene] of SCENES) {
    describe(`the ${name} scene`, () => {
      let honest: Float32Array;
      let reference: Float32Array;
      let varied: Uint8Array;

      test('the GPU tile agrees with the CPU reference pixel by pixel', async () => {
        honest = await runRender(device, scene, TILE);
        ({ rgb: reference, varied } = renderReferenceVaried(scene, TILE));
        assert.deepEqual(reference, renderReference(scene, TILE));
        let differ = 0;
        let exact = 0;
        for (let p = 0; p < TILE.w * TILE.h; p++) {
          if (!pixelMatches(honest, reference, 3 * p, 3 * p)) differ++;
          if ([0, 1, 2].every((c) => honest[3 * p + c] === reference[3 * p + c])) exact++;
        }
        // Sent as f16, every pixel is within f16's allowance; most are outside what f32 alone allows (why the check allows f16's rounding).
        const half = asSent(honest, 'f16');
        let halfDiffer = 0;
        let halfPastF32 = 0;
        for (let p = 0; p < TILE.w * TILE.h; p++) {
          if (!pixelMatches(half, reference, 3 * p, 3 * p, 'f16')) halfDiffer++;
          if (!pixelMatches(half, reference, 3 * p, 3 * p, 'f32')) halfPastF32++;
        }
        console.log(
          `${name}: ${exact} of ${TILE.w * TILE.h} pixels bit-identical, ${differ} outside the tolerance; as f16, ${halfDiffer} outside the f16 tolerance (${halfPastF32} outside the f32 one)`,
        );
        assert.equal(halfDiffer, 0);
        // The check lets 1/8 of its pixels differ; an honest tile must stay far below.
        assert.ok(differ <= (TILE.w * TILE.h) / 100, `${differ} pixels differ`);
        // Not a blank picture: the test can fail.
        const mean = reference.reduce((s, v) => s + v, 0) / reference.length;
        assert.ok(mean > 0.05 && mean < 2, `mean radiance ${mean}`);
      });

      test(`honest tiles pass ${CHECKS} checks with fresh secret pixels; fewer samples, blurred, denoised and copied tiles fail ≥ 99.9% of theirs; as f32 and as f16`, async () => {
        const table = (index: number): { rgb: Float32Array; varied: boolean } => ({ rgb: reference.subarray(3 * index, 3 * index + 3), varied: varied[index] === 1 });
        const rate = (f32: Float32Array, seed: number, encoding: RenderEncoding): { passed: number; caught: number } => {
          const rgb = asSent(f32, encoding);
          const random = seeded(seed);
          let passed = 0;
          for (let i = 0; i < CHECKS; i++) if (checkRenderTile(scene, TILE, rgb, { random, reference: table, encoding }).verdict.ok) passed++;
          return { passed, caught: CHECKS - passed };
        };
        const fewer = await runRender(device, scene, { ...TILE, sampleCount: TILE.sampleCount / 2 });
        const copied = await runRender(device, scene, { ...TILE, x: TILE.x - 64 });
        const cases: Array<[string, Float32Array]> = [
          ['half the samples', fewer],
          ['blurred', blur(honest, TILE.w, TILE.h)],
          ['denoised', denoise(honest, TILE.w, TILE.h)],
          ['copied from the tile to its left', copied],
          // A cheat on part of the tile: the check's fixed CHECK_PIXELS catch it when it is half the tile (not when it is an eighth: docs/DESIGN.md).
          ['half the samples on every other row', honest.map((v, i) => (Math.floor(i / (3 * TILE.w)) % 2 === 1 ? fewer[i]! : v))],
        ];
        const figures: Record<RenderEncoding, string[]> = { f32: [], f16: [] };
        for (const encoding of ENCODINGS) {
          const h = rate(honest, 1, encoding);
          figures[encoding].push(`honest ${h.caught}/${CHECKS} rejected`);
          assert.equal(h.caught, 0, `an honest tile (${encoding}) was rejected`);
        }
        // A GPU whose rounding sent 1% of its pixels' paths elsewhere (none did here) is still honest.
        const diverged = honest.slice();
        const pick = seeded(7);
        const pixels = TILE.w * TILE.h;
        let divergedCount = 0;
        for (let p = 0; p < pixels; p++) {
          if (pick() >= 0.01) continue;
          // A path sent elsewhere gives another value the scene can have: another pixel's.
          const other = (p + 1 + Math.floor(pick() * (pixels - 1))) % pixels;
          diverged.set(honest.subarray(3 * other, 3 * other + 3), 3 * p);
          divergedCount++;
        }
        assert.ok(divergedCount > 20);
        for (const encoding of ENCODINGS) {
          const d = rate(diverged, 50, encoding);
          figures[encoding].push(`honest with 1% of pixels diverged ${d.caught}/${CHECKS} rejected`);
          assert.equal(d.caught, 0, `a tile with 1% diverged pixels (${encoding}) was rejected`);
          cases.forEach(([what, rgb], i) => {
            const r = rate(rgb, 2 + i, encoding);
            figures[encoding].push(`${what} ${r.caught}/${CHECKS} caught`);
            assert.ok(r.caught >= 0.999 * CHECKS, `${what} (${encoding}): caught ${r.caught} of ${CHECKS}`);
          });
        }
        const checked = `${checkPixelCount(TILE.w * TILE.h)} pixels re-traced a check, ${allowedMismatches(checkPixelCount(TILE.w * TILE.h))} may differ`;
        for (const encoding of ENCODINGS) console.log(`${name} as ${encoding} (${checked}): ${figures[encoding].join('; ')}`);
        // The real check, tracing its pixels itself, agrees.
        assert.deepEqual(verifyRender(scene, TILE, honest, seeded(99)), { ok: true });
        assert.equal(verifyRender(scene, TILE, copied, seeded(99)).ok, false);
        assert.deepEqual(verifyRender(scene, TILE, asSent(honest, 'f16'), seeded(99), 'f16'), { ok: true });
        assert.equal(verifyRender(scene, TILE, asSent(copied, 'f16'), seeded(99), 'f16').ok, false);
      });

      test(`chunk sums: the kernel's are the CPU reference's; honest chunked results pass ${CHECKS} chunk checks; fewer samples, blurred, denoised and copied fail ≥ 99.9%; one chunk a pixel made to match, some`, async () => {
        const tile: RenderTile = { ...TILE, sampleCount: CHUNKED_SAMPLES };
        const pixels = tile.w * tile.h;
        const { rgb, chunks } = await runRenderChunks(device, scene, tile);
        assert.deepEqual(rgb, await runRender(device, scene, tile), 'the same means as without reading the chunks back');
        // The reference of every chunk of every pixel (chunk k of the task: a tile of its samples alone).
        const spans = Array.from({ length: RENDER_CHUNKS }, (_, k) => chunkSpan(tile.sampleCount, k));
        const refs = spans.map(([start, count]) => renderReferenceVaried(scene, { ...tile, sampleStart: tile.sampleStart + start, sampleCount: count }));
        let exact = 0;
        for (let p = 0; p < pixels; p++) {
          spans.forEach(([, count], k) => {
            const mean = [0, 1, 2].map((c) => Math.fround(chunks[(p * RENDER_CHUNKS + k) * 3 + c]! / count));
            if (mean.every((v, c) => v === refs[k]!.rgb[3 * p + c])) exact++;
          });
        }
        assert.ok(exact >= 0.99 * pixels * RENDER_CHUNKS, `${exact} of ${pixels * RENDER_CHUNKS} chunk means equal the reference's`);
        const reference = (index: number, start: number): { rgb: Float32Array; varied: boolean } => {
          const k = spans.findIndex(([s]) => tile.sampleStart + s === start);
          return { rgb: refs[k]!.rgb.subarray(3 * index, 3 * index + 3), varied: refs[k]!.varied[index] === 1 };
        };
        /** What a worker sends with these means and chunk sums, as the hub reads it; and how often the chunk check passes it. */
        const rate = async (means: Float32Array, sums: Float32Array, seed: number): Promise<{ passed: number; caught: number; opened: number }> => {
          const sent = await chunkedResult(tile, f32ToF16(means), sums);
          const { half, sums: opened } = splitChunked(tile.w, tile.h, sent);
          const which = await openedPixels(tile, half);
          const random = seeded(seed);
          let passed = 0;
          for (let i = 0; i < CHECKS; i++) if (checkRenderChunks(scene, tile, f16ToF32(half), opened, which, { random, reference }).verdict.ok) passed++;
          return { passed, caught: CHECKS - passed, opened: which.length };
        };
        const honest = await rate(rgb, chunks, 1);
        assert.equal(honest.opened, 160);
        assert.equal(honest.caught, 0, 'an honest chunked result was rejected');
        // Honest with 1% of its chunks' paths diverged (a chunk takes another pixel's, the mean follows): never rejected either.
        const diverged = chunks.slice();
        const pick = seeded(8);
        for (let cell = 0; cell < pixels * RENDER_CHUNKS; cell++) {
          if (pick() >= 0.01) continue;
          const other = Math.floor(pick() * pixels) * RENDER_CHUNKS + (cell % RENDER_CHUNKS);
          diverged.set(chunks.subarray(3 * other, 3 * other + 3), 3 * cell);
        }
        // Cheats. Half the samples: the first half's chunks rendered, copied over the second's (the sums stay consistent with the mean).
        const half = chunks.slice();
        for (let p = 0; p < pixels; p++) half.copyWithin((p * RENDER_CHUNKS + RENDER_CHUNKS / 2) * 3, p * RENDER_CHUNKS * 3, (p * RENDER_CHUNKS + RENDER_CHUNKS / 2) * 3);
        const meanOf = (sums: Float32Array): Float32Array =>
          Float32Array.from({ length: 3 * pixels }, (_, i) => {
            let t = 0;
            for (let k = 0; k < RENDER_CHUNKS; k++) t += sums[(Math.floor(i / 3) * RENDER_CHUNKS + k) * 3 + (i % 3)]!;
            return t / tile.sampleCount;
          });
        // A blur or a denoise made consistent: chunk 0 of each pixel takes the difference.
        const consistent = (means: Float32Array): Float32Array => {
          const sums = chunks.slice();
          for (let i = 0; i < 3 * pixels; i++) sums[Math.floor(i / 3) * RENDER_CHUNKS * 3 + (i % 3)]! += (means[i]! - rgb[i]!) * tile.sampleCount;
          return sums;
        };
        const copied = await runRenderChunks(device, scene, { ...tile, x: tile.x - 64 });
        const blurred = blur(rgb, tile.w, tile.h);
        const denoised = denoise(rgb, tile.w, tile.h);
        const cases: Array<[string, Float32Array, Float32Array, number]> = [
          ['half the samples', meanOf(half), half, 0.999],
          ['blurred, its chunk sums as rendered', blurred, chunks, 0.999],
          ['denoised, its chunk sums as rendered', denoised, chunks, 0.999],
          ['copied from the tile to its left', copied.rgb, copied.chunks, 0.999],
          // Sabotage at full cost, the residual (docs/DESIGN.md): caught only where the secret chunk is the changed one at more
          // than the 5 of 40 telling pixels allowed to differ, P(Binomial(40, 1/16) > 5) ≈ 4%.
          ['blurred, one chunk a pixel changed to match', blurred, consistent(blurred), 0.01],
          ['denoised, one chunk a pixel changed to match', denoised, consistent(denoised), 0.01],
        ];
        const divergedRate = await rate(meanOf(diverged), diverged, 9);
        assert.equal(divergedRate.caught, 0, 'an honest chunked result with 1% of its chunks diverged was rejected');
        const figures = [`honest ${honest.caught}/${CHECKS} rejected`, `honest with 1% of chunks diverged ${divergedRate.caught}/${CHECKS} rejected`];
        for (const [what, means, sums, least] of cases) {
          const r = await rate(means, sums, what.length);
          figures.push(`${what} ${r.caught}/${CHECKS} caught`);
          assert.ok(r.caught >= least * CHECKS, `${what}: caught ${r.caught} of ${CHECKS}`);
        }
        console.log(`${name}, chunked (${RENDER_CHUNKS} chunks of ${tile.sampleCount / RENDER_CHUNKS} samples, 160 pixels opened): ${figures.join('; ')}`);
      });
    });
  }

  test('slices of any size give the same tile, bit for bit (sums added in sample order)', async () => {
    const scene = skyScene();
    const tile: RenderTile = { ...TILE, x: 0, y: 100, w: 70, h: 33, sampleCount: 3 };
    const whole = await runRender(device, scene, tile, { sliceBudget: 1 << 20 });
    const pieces = await runRender(device, scene, tile, { sliceBudget: 100 });
    assert.deepEqual(pieces, whole);
    assert.deepEqual(whole, renderReference(scene, tile));
  });

  test('a stop between slices ends the run within two slices with ABORTED; the device renders on', async () => {
    const scene = skyScene();
    const stop = new AbortController();
    let slices = 0;
    let doneAtStop = 0;
    const run = runRender(device, scene, TILE, {
      sliceBudget: 256,
      signal: stop.signal,
      onProgress: (done) => {
        slices++;
        if (slices === 2) {
          doneAtStop = done;
          stop.abort();
        }
      },
    });
    await assert.rejects(run, (e: unknown) => e instanceof KernelError && e.code === 'ABORTED');
    assert.ok(slices <= 3, `${slices} slices ran`);
    assert.ok(doneAtStop < TILE.w * TILE.h * TILE.sampleCount);
    const small: RenderTile = { ...TILE, w: 8, h: 8, sampleCount: 1 };
    assert.deepEqual(await runRender(device, scene, small), renderReference(scene, small));
  });

  test('values no path can carry are refused without tracing', async () => {
    const scene = skyScene();
    const rgb = await runRender(device, scene, TILE);
    rgb[7] = 1e6;
    const verdict = verifyRender(scene, TILE, rgb, seeded(3));
    assert.equal(verdict.ok, false);
    rgb[7] = Number.NaN;
    assert.equal(verifyRender(scene, TILE, rgb, seeded(3)).ok, false);
  });
});
