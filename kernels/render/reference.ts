/**
 * The render kernel's CPU reference: the shader's path tracer (shader.ts) in f32, operation for
 * operation in the shader's order (every step rounded with Math.fround), with the same random
 * sequence per (job seed, pixel, sample). Where the GPU rounds the same way, it gives the GPU's
 * answer bit for bit; where it does not (fused multiply-adds, a division or square root a few
 * ULP off), the pixel is off by a few ULP, or, rarely, a path goes elsewhere (a ray that grazed an
 * edge, a random draw compared with a bound it almost equalled). The verifier allows for both.
 */
import { MATERIAL_TYPES, MATERIAL_VEC4S, packCamera, packScene, SPHERE_VEC4S, TRIANGLE_VEC4S, type PackedScene, type RenderScene, type RenderTile } from './scene.js';

const f = Math.fround;

/** Nearest a hit may be along a ray (no surface hits itself again), and "nothing hit". */
export const T_MIN = 1e-3;
export const T_FAR = 1e30;
/** Tries of each rejection sampling loop (all 16 fail with probability < 10⁻¹⁰). */
export const REJECTION_TRIES = 16;
/** Triangles seen edge-on (|det| under this) are missed. */
export const DET_EPSILON = 1e-12;

const TMIN = f(T_MIN);
const TFAR = f(T_FAR);
const DET_EPS = f(DET_EPSILON);

/** PCG hash (Jarzynski and Olano 2020), u32 → u32. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The first state of the random sequence of one sample of one pixel (`pixel` = y·width + x). */
export const sampleSeed = (seed: number, pixel: number, sample: number): number => pcgHash((seed ^ pcgHash((pixel ^ pcgHash(sample >>> 0)) >>> 0)) >>> 0);

/** What the tracer needs of a tile's picture: the packed scene and the camera for its image size. */
export interface Tracer {
  scene: PackedScene;
  camera: Float32Array;
  width: number;
  height: number;
  invW: number;
  invH: number;
}

export function makeTracer(scene: RenderScene | PackedScene, width: number, height: number, camera: RenderScene['camera'] | Float32Array): Tracer {
  const packed = 'data' in scene ? scene : packScene(scene);
  const cam = camera instanceof Float32Array ? camera : packCamera(camera, width, height);
  return { scene: packed, camera: cam, width, height, invW: f(1 / width), invH: f(1 / height) };
}

export function tracerFor(scene: RenderScene, width: number, height: number): Tracer {
  return makeTracer(scene, width, height, scene.camera);
}

/**
 * One sample of pixel (px, py): its radiance in out[0..2]. Returns the path's segments (rays
 * traced), for the cost measure.
 */
export function traceSample(tr: Tracer, seed: number, px: number, py: number, sample: number, out: Float32Array | number[]): number {
  const { data, spheres, triangles, sphereBase, triangleBase, maxBounces, env } = tr.scene;
  const cam = tr.camera;
  let state = sampleSeed(seed, py * tr.width + px, sample);
  const rnd = (): number => {
    state = pcgHash(state);
    return f((state >>> 8) * 5.9604644775390625e-8);
  };
  const jx = rnd();
  const jy = rnd();
  const u = f(f(px + jx) * tr.invW);
  const v = f(f(py + jy) * tr.invH);
  let ox = cam[0]!;
  let oy = cam[1]!;
  let oz = cam[2]!;
  let dx = f(f(cam[4]! + f(u * cam[8]!)) + f(v * cam[12]!));
  let dy = f(f(cam[5]! + f(u * cam[9]!)) + f(v * cam[13]!));
  let dz = f(f(cam[6]! + f(u * cam[10]!)) + f(v * cam[14]!));
  let len = f(Math.sqrt(f(f(f(dx * dx) + f(dy * dy)) + f(dz * dz))));
  dx = f(dx / len);
  dy = f(dy / len);
  dz = f(dz / len);
  let tR = 1;
  let tG = 1;
  let tB = 1;
  let lR = 0;
  let lG = 0;
  let lB = 0;
  let segments = 0;
  for (let bounce = 0; bounce < maxBounces; bounce++) {
    segments++;
    let best = TFAR;
    let kind = 0;
    let index = 0;
    for (let i = 0; i < spheres; i++) {
      const o = 4 * (sphereBase + i * SPHERE_VEC4S);
      const ocx = f(ox - data[o]!);
      const ocy = f(oy - data[o + 1]!);
      const ocz = f(oz - data[o + 2]!);
      const r = data[o + 3]!;
      const b = f(f(f(ocx * dx) + f(ocy * dy)) + f(ocz * dz));
      const cc = f(f(f(f(ocx * ocx) + f(ocy * ocy)) + f(ocz * ocz)) - f(r * r));
      const disc = f(f(b * b) - cc);
      if (disc > 0) {
        const s = f(Math.sqrt(disc));
        let t = f(-b - s);
        if (t < TMIN) t = f(-b + s);
        if (t > TMIN && t < best) {
          best = t;
          kind = 1;
          index = i;
        }
      }
    }
    for (let i = 0; i < triangles; i++) {
      const o = 4 * (triangleBase + i * TRIANGLE_VEC4S);
      const e1x = data[o + 4]!;
      const e1y = data[o + 5]!;
      const e1z = data[o + 6]!;
      const e2x = data[o + 8]!;
      const e2y = data[o + 9]!;
      const e2z = data[o + 10]!;
      // p = cross(d, e2)
      const px_ = f(f(dy * e2z) - f(dz * e2y));
      const py_ = f(f(dz * e2x) - f(dx * e2z));
      const pz_ = f(f(dx * e2y) - f(dy * e2x));
      const det = f(f(f(e1x * px_) + f(e1y * py_)) + f(e1z * pz_));
      if (Math.abs(det) < DET_EPS) continue;
      const inv = f(1 / det);
      const tx = f(ox - data[o]!);
      const ty = f(oy - data[o + 1]!);
      const tz = f(oz - data[o + 2]!);
      const uu = f(f(f(f(tx * px_) + f(ty * py_)) + f(tz * pz_)) * inv);
      if (uu < 0 || uu > 1) continue;
      // q = cross(tv, e1)
      const qx = f(f(ty * e1z) - f(tz * e1y));
      const qy = f(f(tz * e1x) - f(tx * e1z));
      const qz = f(f(tx * e1y) - f(ty * e1x));
      const vv = f(f(f(f(dx * qx) + f(dy * qy)) + f(dz * qz)) * inv);
      if (vv < 0 || f(uu + vv) > 1) continue;
      const t = f(f(f(f(e2x * qx) + f(e2y * qy)) + f(e2z * qz)) * inv);
      if (t > TMIN && t < best) {
        best = t;
        kind = 2;
        index = i;
      }
    }
    if (kind === 0) {
      lR = f(lR + f(tR * env[0]!));
      lG = f(lG + f(tG * env[1]!));
      lB = f(lB + f(tB * env[2]!));
      break;
    }
    const hx = f(ox + f(best * dx));
    const hy = f(oy + f(best * dy));
    const hz = f(oz + f(best * dz));
    let nx: number;
    let ny: number;
    let nz: number;
    let mat: number;
    if (kind === 1) {
      const o = 4 * (sphereBase + index * SPHERE_VEC4S);
      const r = data[o + 3]!;
      nx = f(f(hx - data[o]!) / r);
      ny = f(f(hy - data[o + 1]!) / r);
      nz = f(f(hz - data[o + 2]!) / r);
      mat = data[o + 4]!;
    } else {
      const o = 4 * (triangleBase + index * TRIANGLE_VEC4S);
      const e1x = data[o + 4]!;
      const e1y = data[o + 5]!;
      const e1z = data[o + 6]!;
      const e2x = data[o + 8]!;
      const e2y = data[o + 9]!;
      const e2z = data[o + 10]!;
      nx = f(f(e1y * e2z) - f(e1z * e2y));
      ny = f(f(e1z * e2x) - f(e1x * e2z));
      nz = f(f(e1x * e2y) - f(e1y * e2x));
      len = f(Math.sqrt(f(f(f(nx * nx) + f(ny * ny)) + f(nz * nz))));
      nx = f(nx / len);
      ny = f(ny / len);
      nz = f(nz / len);
      mat = data[o + 3]!;
    }
    let dn = f(f(f(dx * nx) + f(dy * ny)) + f(dz * nz));
    let front = true;
    if (dn > 0) {
      nx = -nx;
      ny = -ny;
      nz = -nz;
      dn = -dn;
      front = false;
    }
    const mo = 4 * mat * MATERIAL_VEC4S;
    const cR = data[mo]!;
    const cG = data[mo + 1]!;
    const cB = data[mo + 2]!;
    const type = data[mo + 3]!;
    if (type === MATERIAL_TYPES.emission) {
      lR = f(lR + f(tR * cR));
      lG = f(lG + f(tG * cG));
      lB = f(lB + f(tB * cB));
      break;
    }
    if (type === MATERIAL_TYPES.diffuse) {
      // Cosine-weighted: a uniform point of the unit disc lifted onto the hemisphere (Malley).
      let x = 0;
      let y = 0;
      for (let k = 0; k < REJECTION_TRIES; k++) {
        const a = f(f(2 * rnd()) - 1);
        const b = f(f(2 * rnd()) - 1);
        if (f(f(a * a) + f(b * b)) <= 1) {
          x = a;
          y = b;
          break;
        }
      }
      const z = f(Math.sqrt(Math.max(0, f(1 - f(f(x * x) + f(y * y))))));
      // An orthonormal basis around n (Duff et al. 2017).
      const sign = nz >= 0 ? 1 : -1;
      const a = f(-1 / f(sign + nz));
      const b = f(f(nx * ny) * a);
      const t1x = f(1 + f(f(f(sign * nx) * nx) * a));
      const t1y = f(sign * b);
      const t1z = -f(sign * nx);
      const t2x = b;
      const t2y = f(sign + f(f(ny * ny) * a));
      const t2z = -ny;
      dx = f(f(f(x * t1x) + f(y * t2x)) + f(z * nx));
      dy = f(f(f(x * t1y) + f(y * t2y)) + f(z * ny));
      dz = f(f(f(x * t1z) + f(y * t2z)) + f(z * nz));
    } else if (type === MATERIAL_TYPES.metal) {
      const k2 = f(2 * dn);
      let rx = f(dx - f(k2 * nx));
      let ry = f(dy - f(k2 * ny));
      let rz = f(dz - f(k2 * nz));
      const rough = data[mo + 4]!;
      if (rough > 0) {
        let sx = 0;
        let sy = 0;
        let sz = 0;
        for (let k = 0; k < REJECTION_TRIES; k++) {
          const a = f(f(2 * rnd()) - 1);
          const b = f(f(2 * rnd()) - 1);
          const c = f(f(2 * rnd()) - 1);
          if (f(f(f(a * a) + f(b * b)) + f(c * c)) <= 1) {
            sx = a;
            sy = b;
            sz = c;
            break;
          }
        }
        rx = f(rx + f(rough * sx));
        ry = f(ry + f(rough * sy));
        rz = f(rz + f(rough * sz));
      }
      len = f(Math.sqrt(f(f(f(rx * rx) + f(ry * ry)) + f(rz * rz))));
      dx = f(rx / len);
      dy = f(ry / len);
      dz = f(rz / len);
      if (f(f(f(dx * nx) + f(dy * ny)) + f(dz * nz)) <= 0) break;
    } else {
      // Glass: Schlick's Fresnel picks reflection or refraction.
      const eta = front ? data[mo + 5]! : data[mo + 4]!;
      const r0 = data[mo + 6]!;
      const cosi = Math.min(-dn, 1);
      const sin2 = f(f(eta * eta) * f(1 - f(cosi * cosi)));
      const xx = f(1 - cosi);
      const fresnel = f(r0 + f(f(1 - r0) * f(f(f(f(xx * xx) * xx) * xx) * xx)));
      const pick = rnd();
      let rx: number;
      let ry: number;
      let rz: number;
      if (sin2 > 1 || pick < fresnel) {
        const k2 = f(2 * dn);
        rx = f(dx - f(k2 * nx));
        ry = f(dy - f(k2 * ny));
        rz = f(dz - f(k2 * nz));
      } else {
        const k = f(Math.sqrt(f(1 - sin2)));
        const coef = f(f(eta * cosi) - k);
        rx = f(f(eta * dx) + f(coef * nx));
        ry = f(f(eta * dy) + f(coef * ny));
        rz = f(f(eta * dz) + f(coef * nz));
      }
      len = f(Math.sqrt(f(f(f(rx * rx) + f(ry * ry)) + f(rz * rz))));
      dx = f(rx / len);
      dy = f(ry / len);
      dz = f(rz / len);
    }
    tR = f(tR * cR);
    tG = f(tG * cG);
    tB = f(tB * cB);
    ox = hx;
    oy = hy;
    oz = hz;
  }
  out[0] = lR;
  out[1] = lG;
  out[2] = lB;
  return segments;
}

/** The mean radiance of one pixel of the image over samples [start, start+count): f32 sums in sample order, then one division. */
export function tracePixel(tr: Tracer, seed: number, px: number, py: number, start: number, count: number, out: Float32Array | number[] = new Float32Array(3)): Float32Array | number[] {
  tracePixelVaried(tr, seed, px, py, start, count, out);
  return out;
}

/**
 * tracePixel, saying whether the pixel's samples differ from one another. A pixel whose samples
 * all carry the same radiance (it sees the environment, or a light, directly) has the same value
 * whatever is done to it (fewer samples, a blur within a flat area): it tells the check nothing.
 */
export function tracePixelVaried(tr: Tracer, seed: number, px: number, py: number, start: number, count: number, out: Float32Array | number[]): boolean {
  const one = new Float32Array(3);
  let r = 0;
  let g = 0;
  let b = 0;
  let varied = false;
  let r0 = 0;
  let g0 = 0;
  let b0 = 0;
  for (let s = start; s < start + count; s++) {
    traceSample(tr, seed, px, py, s, one);
    if (s === start) {
      r0 = one[0]!;
      g0 = one[1]!;
      b0 = one[2]!;
    } else if (one[0] !== r0 || one[1] !== g0 || one[2] !== b0) varied = true;
    r = f(r + one[0]!);
    g = f(g + one[1]!);
    b = f(b + one[2]!);
  }
  out[0] = f(r / count);
  out[1] = f(g / count);
  out[2] = f(b / count);
  // One sample cannot show it: counted as telling.
  return varied || count === 1;
}

/** A whole tile on the CPU with, for each pixel, whether its samples differ (tracePixelVaried). */
export function renderReferenceVaried(scene: RenderScene, tile: RenderTile): { rgb: Float32Array; varied: Uint8Array } {
  const tr = tracerFor(scene, tile.width, tile.height);
  const rgb = new Float32Array(3 * tile.w * tile.h);
  const varied = new Uint8Array(tile.w * tile.h);
  const px = new Float32Array(3);
  for (let y = 0; y < tile.h; y++) {
    for (let x = 0; x < tile.w; x++) {
      varied[y * tile.w + x] = tracePixelVaried(tr, tile.seed, tile.x + x, tile.y + y, tile.sampleStart, tile.sampleCount, px) ? 1 : 0;
      rgb.set(px, 3 * (y * tile.w + x));
    }
  }
  return { rgb, varied };
}

/** A whole tile on the CPU: w×h×3 f32, row-major, as the kernel returns it. */
export function renderReference(scene: RenderScene, tile: RenderTile): Float32Array {
  const tr = tracerFor(scene, tile.width, tile.height);
  const out = new Float32Array(3 * tile.w * tile.h);
  const px = new Float32Array(3);
  for (let y = 0; y < tile.h; y++) {
    for (let x = 0; x < tile.w; x++) {
      tracePixel(tr, tile.seed, tile.x + x, tile.y + y, tile.sampleStart, tile.sampleCount, px);
      out.set(px, 3 * (y * tile.w + x));
    }
  }
  return out;
}

/**
 * Floating-point operations of one ray segment, by what it tests (the cost measure's weights:
 * counted from traceSample above, an add, multiply, compare, division or square root each one).
 */
export const FLOPS_PER_SPHERE_TEST = 22;
export const FLOPS_PER_TRIANGLE_TEST = 45;
export const FLOPS_PER_SHADE = 40;
export const FLOPS_PER_CAMERA_RAY = 30;
/** Samples the cost measure traces, and the seed it traces them with (fixed: a scene's cost does not depend on its job's seed). */
export const COST_PROBES = 256;
const COST_SEED = 0x1d1e;

/**
 * The scene's cost per sample in floating-point operations: the mean number of ray segments of
 * COST_PROBES samples spread over the image (fixed seeds), each weighted by the tests it makes.
 * What a render task is paid by (× pixels × samples); deterministic for a scene and image size.
 */
export function measureFlopsPerSample(scene: RenderScene, width: number, height: number): number {
  const tr = tracerFor(scene, width, height);
  const out = new Float32Array(3);
  let segments = 0;
  for (let i = 0; i < COST_PROBES; i++) {
    const h = pcgHash(i ^ COST_SEED);
    segments += traceSample(tr, COST_SEED, h % width, pcgHash(h) % height, i, out);
  }
  const perSegment = tr.scene.spheres * FLOPS_PER_SPHERE_TEST + tr.scene.triangles * FLOPS_PER_TRIANGLE_TEST + FLOPS_PER_SHADE;
  return Math.max(1, Math.ceil((segments / COST_PROBES) * perSegment + FLOPS_PER_CAMERA_RAY));
}

/** Paid work of a tile: pixels × samples × the scene's measured FLOP per sample. */
export function renderWorkUnits(p: { w: number; h: number; sampleCount: number; flopsPerSample: number }): bigint {
  return BigInt(p.w) * BigInt(p.h) * BigInt(p.sampleCount) * BigInt(p.flopsPerSample);
}

export { MATERIAL_VEC4S };
