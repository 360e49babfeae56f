/**
 * The render shader: a path tracer over the packed scene (scene.ts), one invocation per pixel of a
 * tile, each tracing a run of samples of its pixel and adding them, in sample order, to the
 * pixel's f32 sums in `acc` (which persist across slices), and to the sums of its chunk of the
 * task's samples in `chunks` (RENDER_CHUNKS a pixel: the chunk sums a result carries, verify.ts). It is the CPU reference
 * (reference.ts) in WGSL, operation for operation: change one, change the other. Sizes are defined
 * here once and read by the WGSL text and by dispatch.ts.
 */
import { REJECTION_TRIES, T_FAR, T_MIN, DET_EPSILON } from './reference.js';
import { MATERIAL_TYPES, MATERIAL_VEC4S, SPHERE_VEC4S, TRIANGLE_VEC4S } from './scene.js';
import { RENDER_CHUNKS } from './verify.js';

export const RENDER_WORKGROUP = 64;
/** Bytes of the Params uniform block below: 6 vec4f, then 20 u32. */
export const RENDER_PARAMS_BYTES = 6 * 16 + 20 * 4;

const lit = (x: number): string => {
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
};

export function renderWgsl(): string {
  return `struct Params {
  origin: vec4f, corner: vec4f, right: vec4f, down: vec4f, env: vec4f,
  inv: vec4f,
  imageWidth: u32, tileX: u32, tileY: u32, tileW: u32,
  pixelStart: u32, pixelCount: u32, sampleStart: u32, sampleCount: u32,
  seed: u32, spheres: u32, triangles: u32, sphereBase: u32,
  triangleBase: u32, maxBounces: u32, groupsX: u32, pad: u32,
  taskStart: u32, taskSamples: u32, pad1: u32, pad2: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scene: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> acc: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> chunks: array<f32>;

const T_MIN: f32 = ${lit(T_MIN)};
const T_FAR: f32 = ${lit(T_FAR)};
const DET_EPS: f32 = ${lit(DET_EPSILON)};

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

var<private> rng: u32;
fn rnd() -> f32 {
  rng = pcg(rng);
  return f32(rng >> 8u) * (1.0 / 16777216.0);
}

fn dot3(a: vec3f, b: vec3f) -> f32 { return a.x * b.x + a.y * b.y + a.z * b.z; }
fn cross3(a: vec3f, b: vec3f) -> vec3f { return vec3f(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x); }
fn unit(v: vec3f) -> vec3f { let l = sqrt(dot3(v, v)); return v / l; }

fn trace(px: u32, py: u32, pixel: u32, sample: u32) -> vec3f {
  rng = pcg(params.seed ^ pcg(pixel ^ pcg(sample)));
  let jx = rnd();
  let jy = rnd();
  let u = (f32(px) + jx) * params.inv.x;
  let v = (f32(py) + jy) * params.inv.y;
  var o = params.origin.xyz;
  var d = unit(params.corner.xyz + u * params.right.xyz + v * params.down.xyz);
  var thr = vec3f(1.0, 1.0, 1.0);
  var light = vec3f(0.0, 0.0, 0.0);
  for (var bounce = 0u; bounce < params.maxBounces; bounce++) {
    var best = T_FAR;
    var kind = 0u;
    var index = 0u;
    for (var i = 0u; i < params.spheres; i++) {
      let sp = scene[params.sphereBase + i * ${SPHERE_VEC4S}u];
      let oc = o - sp.xyz;
      let r = sp.w;
      let b = dot3(oc, d);
      let cc = dot3(oc, oc) - r * r;
      let disc = b * b - cc;
      if (disc > 0.0) {
        let s = sqrt(disc);
        var t = -b - s;
        if (t < T_MIN) { t = -b + s; }
        if (t > T_MIN && t < best) { best = t; kind = 1u; index = i; }
      }
    }
    for (var i = 0u; i < params.triangles; i++) {
      let base = params.triangleBase + i * ${TRIANGLE_VEC4S}u;
      let v0 = scene[base].xyz;
      let e1 = scene[base + 1u].xyz;
      let e2 = scene[base + 2u].xyz;
      let p = cross3(d, e2);
      let det = dot3(e1, p);
      if (abs(det) < DET_EPS) { continue; }
      let inv = 1.0 / det;
      let tv = o - v0;
      let uu = dot3(tv, p) * inv;
      if (uu < 0.0 || uu > 1.0) { continue; }
      let q = cross3(tv, e1);
      let vv = dot3(d, q) * inv;
      if (vv < 0.0 || uu + vv > 1.0) { continue; }
      let t = dot3(e2, q) * inv;
      if (t > T_MIN && t < best) { best = t; kind = 2u; index = i; }
    }
    if (kind == 0u) {
      light = light + thr * params.env.xyz;
      break;
    }
    let hit = o + best * d;
    var n: vec3f;
    var mat: u32;
    if (kind == 1u) {
      let base = params.sphereBase + index * ${SPHERE_VEC4S}u;
      let sp = scene[base];
      n = (hit - sp.xyz) / sp.w;
      mat = u32(scene[base + 1u].x);
    } else {
      let base = params.triangleBase + index * ${TRIANGLE_VEC4S}u;
      n = unit(cross3(scene[base + 1u].xyz, scene[base + 2u].xyz));
      mat = u32(scene[base].w);
    }
    var dn = dot3(d, n);
    var front = true;
    if (dn > 0.0) { n = -n; dn = -dn; front = false; }
    let m0 = scene[mat * ${MATERIAL_VEC4S}u];
    let m1 = scene[mat * ${MATERIAL_VEC4S}u + 1u];
    let col = m0.xyz;
    let kindOf = u32(m0.w);
    if (kindOf == ${MATERIAL_TYPES.emission}u) {
      light = light + thr * col;
      break;
    }
    if (kindOf == ${MATERIAL_TYPES.diffuse}u) {
      var x = 0.0;
      var y = 0.0;
      for (var k = 0u; k < ${REJECTION_TRIES}u; k++) {
        let a = 2.0 * rnd() - 1.0;
        let b = 2.0 * rnd() - 1.0;
        if (a * a + b * b <= 1.0) { x = a; y = b; break; }
      }
      let z = sqrt(max(0.0, 1.0 - (x * x + y * y)));
      let sgn = select(-1.0, 1.0, n.z >= 0.0);
      let a = -1.0 / (sgn + n.z);
      let b = n.x * n.y * a;
      let t1 = vec3f(1.0 + sgn * n.x * n.x * a, sgn * b, -(sgn * n.x));
      let t2 = vec3f(b, sgn + n.y * n.y * a, -n.y);
      d = x * t1 + y * t2 + z * n;
    } else if (kindOf == ${MATERIAL_TYPES.metal}u) {
      let k2 = 2.0 * dn;
      var r = d - k2 * n;
      let rough = m1.x;
      if (rough > 0.0) {
        var s = vec3f(0.0, 0.0, 0.0);
        for (var k = 0u; k < ${REJECTION_TRIES}u; k++) {
          let a = 2.0 * rnd() - 1.0;
          let b = 2.0 * rnd() - 1.0;
          let c = 2.0 * rnd() - 1.0;
          if (a * a + b * b + c * c <= 1.0) { s = vec3f(a, b, c); break; }
        }
        r = r + rough * s;
      }
      d = unit(r);
      if (dot3(d, n) <= 0.0) { break; }
    } else {
      let eta = select(m1.x, m1.y, front);
      let r0 = m1.z;
      let cosi = min(-dn, 1.0);
      let sin2 = (eta * eta) * (1.0 - cosi * cosi);
      let xx = 1.0 - cosi;
      let fresnel = r0 + (1.0 - r0) * (xx * xx * xx * xx * xx);
      let pick = rnd();
      var r: vec3f;
      if (sin2 > 1.0 || pick < fresnel) {
        let k2 = 2.0 * dn;
        r = d - k2 * n;
      } else {
        let k = sqrt(1.0 - sin2);
        let coef = eta * cosi - k;
        r = eta * d + coef * n;
      }
      d = unit(r);
    }
    thr = thr * col;
    o = hit;
  }
  return light;
}

@compute @workgroup_size(${RENDER_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let id = (wid.y * params.groupsX + wid.x) * ${RENDER_WORKGROUP}u + lid.x;
  if (id >= params.pixelCount) { return; }
  let p = params.pixelStart + id;
  let px = params.tileX + p % params.tileW;
  let py = params.tileY + p / params.tileW;
  let pixel = py * params.imageWidth + px;
  var sum = acc[p];
  for (var s = 0u; s < params.sampleCount; s++) {
    let v = trace(px, py, pixel, params.sampleStart + s);
    sum = sum + vec4f(v, 0.0);
    // Its chunk's sum too (verify.ts chunkSpan: chunk k holds the task's samples ⌊k·S/C⌋ on), in sample order.
    let k = (((params.sampleStart + s - params.taskStart) + 1u) * ${RENDER_CHUNKS}u - 1u) / params.taskSamples;
    let at = (p * ${RENDER_CHUNKS}u + k) * 3u;
    chunks[at] = chunks[at] + v.x;
    chunks[at + 1u] = chunks[at + 1u] + v.y;
    chunks[at + 2u] = chunks[at + 2u] + v.z;
  }
  acc[p] = sum;
}
`;
}
