/**
 * A render scene as the kernel and its CPU reference read it: one Float32Array of vec4 records
 * (materials, then spheres, then triangles), packed once on the host in f32, so the GPU and the
 * CPU reference start from the very same numbers; and the camera, from the image's size.
 *
 * Records (vec4 each):
 * - material: (r, g, b, type) (p0, p1, p2, 0). diffuse: colour; metal: colour, p0 roughness;
 *   glass: tint, p0 ior, p1 1/ior, p2 Schlick's r0 = ((1 − ior)/(1 + ior))²; emission: colour ×
 *   strength. Host-side divisions, so the shader and the reference divide nothing here.
 * - sphere: (cx, cy, cz, radius) (material, 0, 0, 0)
 * - triangle: (v0, material) (e1 = v1 − v0, 0) (e2 = v2 − v0, 0)
 *
 * The types mirror protocol/kinds/render.ts (kernels import nothing of the app).
 */
export type Vec3 = readonly [number, number, number];
export type RenderMaterial =
  | { type: 'diffuse'; color: Vec3 }
  | { type: 'metal'; color: Vec3; roughness: number }
  | { type: 'glass'; color: Vec3; ior: number }
  | { type: 'emission'; color: Vec3; strength: number };

export interface RenderScene {
  camera: { from: Vec3; at: Vec3; up: Vec3; fov: number };
  environment: Vec3;
  materials: readonly RenderMaterial[];
  spheres: readonly { center: Vec3; radius: number; material: number }[];
  triangles: readonly { a: Vec3; b: Vec3; c: Vec3; material: number }[];
  maxBounces: number;
}

/** A task's part of a picture: the tile [x, x+w) × [y, y+h) of width × height, samples [sampleStart, sampleStart+sampleCount). */
export interface RenderTile {
  width: number;
  height: number;
  x: number;
  y: number;
  w: number;
  h: number;
  sampleStart: number;
  sampleCount: number;
  /** The job's seed (u32). */
  seed: number;
}

export const MATERIAL_TYPES = { diffuse: 0, metal: 1, glass: 2, emission: 3 } as const;
export const MATERIAL_VEC4S = 2;
export const SPHERE_VEC4S = 2;
export const TRIANGLE_VEC4S = 3;

export interface PackedScene {
  /** vec4 records, see above. */
  data: Float32Array;
  spheres: number;
  triangles: number;
  /** First vec4 of the spheres and of the triangles. */
  sphereBase: number;
  triangleBase: number;
  maxBounces: number;
  /** Environment radiance (r, g, b, 0). */
  env: Float32Array;
  /** The most radiance any path can carry: the brightest emission or environment channel. */
  maxRadiance: number;
}

const f = Math.fround;

export function packScene(scene: RenderScene): PackedScene {
  const m = scene.materials.length;
  const s = scene.spheres.length;
  const t = scene.triangles.length;
  const sphereBase = m * MATERIAL_VEC4S;
  const triangleBase = sphereBase + s * SPHERE_VEC4S;
  const data = new Float32Array(4 * Math.max(1, triangleBase + t * TRIANGLE_VEC4S));
  let maxRadiance = Math.max(...scene.environment);
  scene.materials.forEach((mat, i) => {
    const o = 4 * i * MATERIAL_VEC4S;
    const [r, g, b] = mat.color;
    data[o + 3] = MATERIAL_TYPES[mat.type];
    if (mat.type === 'emission') {
      data.set([r * mat.strength, g * mat.strength, b * mat.strength], o);
      maxRadiance = Math.max(maxRadiance, f(r * mat.strength), f(g * mat.strength), f(b * mat.strength));
    } else data.set([r, g, b], o);
    if (mat.type === 'metal') data[o + 4] = mat.roughness;
    if (mat.type === 'glass') {
      const r0 = (1 - mat.ior) / (1 + mat.ior);
      data.set([mat.ior, 1 / mat.ior, r0 * r0], o + 4);
    }
  });
  scene.spheres.forEach((sp, i) => {
    const o = 4 * (sphereBase + i * SPHERE_VEC4S);
    data.set([...sp.center, sp.radius, sp.material], o);
  });
  scene.triangles.forEach((tr, i) => {
    const o = 4 * (triangleBase + i * TRIANGLE_VEC4S);
    // Edges in f32 from f32 vertices, as the shader would have computed them.
    const v0 = tr.a.map(f);
    const e1 = tr.b.map((x, k) => f(f(x) - v0[k]!));
    const e2 = tr.c.map((x, k) => f(f(x) - v0[k]!));
    data.set([...v0, tr.material, ...e1, 0, ...e2, 0], o);
  });
  return {
    data,
    spheres: s,
    triangles: t,
    sphereBase,
    triangleBase,
    maxBounces: scene.maxBounces,
    env: Float32Array.from([...scene.environment, 0]),
    maxRadiance: f(maxRadiance),
  };
}

/**
 * The camera for a width × height image, 16 f32: origin, the direction to the top-left corner of
 * the image plane at distance 1, the plane's whole width (left to right) and height (top to
 * bottom) as vectors, each as a vec4 (w = 0). A pixel's ray points along
 * corner + u·right + v·down, u = (px + jx)/width, v = (py + jy)/height.
 */
export function packCamera(camera: RenderScene['camera'], width: number, height: number): Float32Array {
  const sub = (a: Vec3, b: Vec3): [number, number, number] => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const cross = (a: Vec3, b: Vec3): [number, number, number] => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const unit = (a: Vec3): [number, number, number] => {
    const l = Math.hypot(...a);
    return [a[0] / l, a[1] / l, a[2] / l];
  };
  const fwd = unit(sub(camera.at, camera.from));
  const right = unit(cross(fwd, camera.up));
  const up = cross(right, fwd);
  const halfH = Math.tan((camera.fov * Math.PI) / 360);
  const halfW = (halfH * width) / height;
  const corner = [0, 1, 2].map((k) => fwd[k]! - halfW * right[k]! + halfH * up[k]!);
  return Float32Array.from([...camera.from, 0, ...corner, 0, ...right.map((x) => 2 * halfW * x), 0, ...up.map((x) => -2 * halfH * x), 0]);
}
