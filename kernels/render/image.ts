/**
 * From tiles to a picture: a job's passes over a tile are weighed by their sample counts into the
 * image's mean radiance (linear f32 RGB), and that is tone-mapped to 8 bits for people: each
 * channel x ↦ 1 − e^(−x) (bright light rolls off instead of clipping), then the sRGB curve.
 */

/** Adds a pass of `count` samples over the tile at (x, y) (w×h×3 mean radiance) into `sums` (width×height×3, radiance × samples). */
export function addPass(sums: Float64Array, width: number, tile: { x: number; y: number; w: number; h: number }, rgb: Float32Array, count: number): void {
  for (let ty = 0; ty < tile.h; ty++) {
    for (let tx = 0; tx < tile.w; tx++) {
      const from = 3 * (ty * tile.w + tx);
      const to = 3 * ((tile.y + ty) * width + tile.x + tx);
      for (let c = 0; c < 3; c++) sums[to + c]! += rgb[from + c]! * count;
    }
  }
}

/** The image's mean radiance from its sums over `samples` samples per pixel. */
export function meanImage(sums: Float64Array, samples: number): Float32Array {
  const out = new Float32Array(sums.length);
  for (let i = 0; i < sums.length; i++) out[i] = sums[i]! / samples;
  return out;
}

/**
 * The picture (w×h×3, linear) shrunk to fit `maxSide` on its longer side (never enlarged): each
 * output pixel the mean of the input pixels it covers.
 */
export function downscale(rgb: Float32Array, w: number, h: number, maxSide: number): { width: number; height: number; rgb: Float32Array } {
  const scale = Math.max(1, w / maxSide, h / maxSide);
  const width = Math.max(1, Math.round(w / scale));
  const height = Math.max(1, Math.round(h / scale));
  const out = new Float32Array(3 * width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * h) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * h) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * w) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * w) / width));
      const n = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += rgb[3 * (yy * w + xx) + c]!;
        out[3 * (y * width + x) + c] = sum / n;
      }
    }
  }
  return { width, height, rgb: out };
}

const srgb = (v: number): number => (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);

/** One channel's radiance as an 8-bit value. */
export const toneMapValue = (x: number): number => Math.round(255 * srgb(1 - Math.exp(-Math.max(0, x))));

/** Linear RGB (f32) → 8-bit RGB. */
export function toneMap(rgb: Float32Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) out[i] = toneMapValue(rgb[i]!);
  return out;
}

/** Mean of a picture's 8-bit values over all channels, 0–255. */
export function meanBrightness(rgb8: Uint8Array): number {
  let s = 0;
  for (const v of rgb8) s += v;
  return s / rgb8.length;
}

/**
 * Structural similarity (SSIM, Wang et al. 2004) of two 8-bit RGB pictures of one size, on their
 * luma, over 8×8 windows (step 4), averaged: 1 for the same picture, lower as structure differs.
 */
export function ssim(a: Uint8Array, b: Uint8Array, width: number, height: number): number {
  if (a.length !== b.length || a.length !== 3 * width * height) throw new RangeError('ssim: the pictures differ in size');
  const luma = (p: Uint8Array, i: number): number => 0.299 * p[3 * i]! + 0.587 * p[3 * i + 1]! + 0.114 * p[3 * i + 2]!;
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  const W = 8;
  let total = 0;
  let windows = 0;
  for (let y = 0; y + W <= height; y += 4) {
    for (let x = 0; x + W <= width; x += 4) {
      let ma = 0;
      let mb = 0;
      for (let dy = 0; dy < W; dy++) for (let dx = 0; dx < W; dx++) {
        const i = (y + dy) * width + x + dx;
        ma += luma(a, i);
        mb += luma(b, i);
      }
      ma /= W * W;
      mb /= W * W;
      let va = 0;
      let vb = 0;
      let cov = 0;
      for (let dy = 0; dy < W; dy++) for (let dx = 0; dx < W; dx++) {
        const i = (y + dy) * width + x + dx;
        const da = luma(a, i) - ma;
        const db = luma(b, i) - mb;
        va += da * da;
        vb += db * db;
        cov += da * db;
      }
      va /= W * W - 1;
      vb /= W * W - 1;
      cov /= W * W - 1;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      windows++;
    }
  }
  return total / windows;
}
