/**
 * Scenes made by the project: the feeder's demo jobs, the example job (examples/render-job.json),
 * the bench's and the tests' scene. Small on purpose: a few dozen primitives.
 */
import type { RenderMaterial, RenderScene, Vec3 } from './scene.js';

type Triangle = RenderScene['triangles'][number];

/** A flat quad p0 p1 p2 p3 (in order around its edge) as two triangles. */
function quad(p0: Vec3, p1: Vec3, p2: Vec3, p3: Vec3, material: number): Triangle[] {
  return [
    { a: p0, b: p1, c: p2, material },
    { a: p0, b: p2, c: p3, material },
  ];
}

/** A box room open towards the camera, lit by a panel in its ceiling: a metal, a glass and a blue sphere. */
export function boxScene(): RenderScene {
  const materials: RenderMaterial[] = [
    { type: 'diffuse', color: [0.75, 0.75, 0.75] },
    { type: 'diffuse', color: [0.75, 0.15, 0.12] },
    { type: 'diffuse', color: [0.15, 0.6, 0.2] },
    { type: 'emission', color: [1, 0.9, 0.75], strength: 8 },
    { type: 'metal', color: [0.9, 0.9, 0.9], roughness: 0.1 },
    { type: 'glass', color: [1, 1, 1], ior: 1.5 },
    { type: 'diffuse', color: [0.2, 0.3, 0.75] },
  ];
  const triangles: Triangle[] = [
    ...quad([-1, 0, 1], [1, 0, 1], [1, 0, -1], [-1, 0, -1], 0), // floor
    ...quad([-1, 2, -1], [1, 2, -1], [1, 2, 1], [-1, 2, 1], 0), // ceiling
    ...quad([-1, 0, -1], [1, 0, -1], [1, 2, -1], [-1, 2, -1], 0), // back
    ...quad([-1, 0, 1], [-1, 0, -1], [-1, 2, -1], [-1, 2, 1], 1), // left, red
    ...quad([1, 0, -1], [1, 0, 1], [1, 2, 1], [1, 2, -1], 2), // right, green
    ...quad([-0.35, 1.99, -0.35], [0.35, 1.99, -0.35], [0.35, 1.99, 0.35], [-0.35, 1.99, 0.35], 3), // light
  ];
  return {
    camera: { from: [0, 1, 3.4], at: [0, 0.95, 0], up: [0, 1, 0], fov: 40 },
    environment: [0.1, 0.12, 0.15],
    materials,
    spheres: [
      { center: [-0.45, 0.35, -0.35], radius: 0.35, material: 4 },
      { center: [0.45, 0.35, 0.15], radius: 0.35, material: 5 },
      { center: [-0.05, 0.18, 0.55], radius: 0.18, material: 6 },
    ],
    triangles,
    maxBounces: 6,
  };
}

/** Spheres on a wide floor under a pale sky, one of them glowing. */
export function skyScene(): RenderScene {
  return {
    camera: { from: [0, 1.2, 5], at: [0, 0.5, 0], up: [0, 1, 0], fov: 45 },
    environment: [0.55, 0.65, 0.85],
    materials: [
      { type: 'diffuse', color: [0.5, 0.5, 0.45] },
      { type: 'diffuse', color: [0.8, 0.3, 0.2] },
      { type: 'metal', color: [0.8, 0.7, 0.4], roughness: 0.3 },
      { type: 'glass', color: [0.95, 1, 0.95], ior: 1.45 },
      { type: 'emission', color: [1, 0.5, 0.2], strength: 4 },
    ],
    spheres: [
      { center: [-1.6, 0.5, 0], radius: 0.5, material: 1 },
      { center: [-0.5, 0.5, -0.3], radius: 0.5, material: 2 },
      { center: [0.6, 0.5, 0.2], radius: 0.5, material: 3 },
      { center: [1.7, 0.4, -0.2], radius: 0.4, material: 4 },
    ],
    triangles: quad([-20, 0, 20], [20, 0, 20], [20, 0, -20], [-20, 0, -20], 0),
    maxBounces: 5,
  };
}

/** A mirror ball and a glass ball on a chequered floor of diffuse tiles. */
export function chequerScene(): RenderScene {
  const triangles: Triangle[] = [];
  for (let i = -3; i < 3; i++) {
    for (let j = -3; j < 3; j++) triangles.push(...quad([i, 0, j + 1], [i + 1, 0, j + 1], [i + 1, 0, j], [i, 0, j], (i + j) & 1));
  }
  return {
    camera: { from: [2.5, 2, 4], at: [0, 0.4, 0], up: [0, 1, 0], fov: 40 },
    environment: [0.8, 0.8, 0.9],
    materials: [
      { type: 'diffuse', color: [0.85, 0.85, 0.85] },
      { type: 'diffuse', color: [0.1, 0.1, 0.12] },
      { type: 'metal', color: [0.95, 0.95, 0.95], roughness: 0 },
      { type: 'glass', color: [1, 1, 1], ior: 1.5 },
    ],
    spheres: [
      { center: [-0.6, 0.6, 0], radius: 0.6, material: 2 },
      { center: [0.8, 0.45, 0.6], radius: 0.45, material: 3 },
    ],
    triangles,
    maxBounces: 6,
  };
}

/** Every project scene by name: the feeder draws from these. */
export const PROJECT_SCENES: Readonly<Record<string, () => RenderScene>> = { box: boxScene, sky: skyScene, chequer: chequerScene };
