/**
 * The `render` job kind: a path-traced picture of a small scene (triangles and spheres; diffuse,
 * metal, glass and emissive materials; a pinhole camera; an environment colour that lights the
 * scene where a path leaves it). Customers send the whole scene, an image size and a sample count;
 * the hub leases tiles × sample passes as tasks, each answered by the tile's mean radiance over
 * its samples (RGB, row-major, linear: f32, or rounded to half floats, f16). The sizes below bound
 * what one scene may cost a worker per sample and what the hub's check of a tile costs it
 * (kernels/render/verify.ts), and keep every radiance a path can carry within f16's range.
 */
import { z } from 'zod';
import { TaskCommonShape } from '../common.js';
import { base64Length, F32DataSchema, holdsF32s } from './matmul.js';

export const RENDER_MAX_TRIANGLES = 256;
export const RENDER_MAX_SPHERES = 64;
export const RENDER_MAX_MATERIALS = 32;
export const RENDER_MAX_BOUNCES = 8;
/** Smallest and largest side of an image, pixels (the smallest keeps a tile ≥ 64×64: see the hub's check). */
export const RENDER_MIN_SIDE = 64;
export const RENDER_MAX_SIDE = 2048;
/** Most samples per pixel of a job. */
export const RENDER_MAX_SAMPLES = 4096;
/** Largest coordinate and radius, and the largest emission strength. */
export const RENDER_MAX_COORD = 10_000;
export const RENDER_MAX_STRENGTH = 1000;
/** Largest radiance of the environment, each channel. */
export const RENDER_MAX_ENVIRONMENT = 16;
/**
 * The brightest radiance any pixel of any scene can have: a path's throughput is a product of
 * reflectances (each ≤ 1), so no sample carries more than the brightest emission (strength ×
 * colour ≤ RENDER_MAX_STRENGTH) or environment. It fits an f16 (protocol/binary.ts F16_MAX,
 * 65504) with room to spare, so a result sent as f16 never needs clamping: a value an f16 cannot
 * hold (∞) comes only from a wrong result, and the hub rejects it.
 */
export const RENDER_MAX_RADIANCE = Math.max(RENDER_MAX_STRENGTH, RENDER_MAX_ENVIRONMENT);

const Coord = z.number().finite().min(-RENDER_MAX_COORD).max(RENDER_MAX_COORD);
export const Vec3Schema = z.tuple([Coord, Coord, Coord]);
/** A reflectance: each channel in [0, 1]. */
export const ColourSchema = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]);
const EnvironmentChannel = z.number().min(0).max(RENDER_MAX_ENVIRONMENT);
const MaterialIndex = z.number().int().min(0).max(RENDER_MAX_MATERIALS - 1);

export const RenderMaterialSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('diffuse'), color: ColourSchema }),
  z.object({ type: z.literal('metal'), color: ColourSchema, roughness: z.number().min(0).max(1) }),
  z.object({ type: z.literal('glass'), color: ColourSchema.default([1, 1, 1]), ior: z.number().min(1).max(3) }),
  z.object({ type: z.literal('emission'), color: ColourSchema, strength: z.number().positive().max(RENDER_MAX_STRENGTH) }),
]);
export type RenderMaterial = z.infer<typeof RenderMaterialSchema>;

export const RenderSceneSchema = z
  .object({
    camera: z.object({
      from: Vec3Schema,
      at: Vec3Schema,
      up: Vec3Schema.default([0, 1, 0]),
      /** Vertical field of view, degrees. */
      fov: z.number().min(1).max(170),
    }),
    /** Radiance of whatever lies beyond the scene (each channel 0–RENDER_MAX_ENVIRONMENT). */
    environment: z.tuple([EnvironmentChannel, EnvironmentChannel, EnvironmentChannel]),
    materials: z.array(RenderMaterialSchema).min(1).max(RENDER_MAX_MATERIALS),
    spheres: z
      .array(z.object({ center: Vec3Schema, radius: z.number().positive().max(RENDER_MAX_COORD), material: MaterialIndex }))
      .max(RENDER_MAX_SPHERES)
      .default([]),
    triangles: z.array(z.object({ a: Vec3Schema, b: Vec3Schema, c: Vec3Schema, material: MaterialIndex })).max(RENDER_MAX_TRIANGLES).default([]),
    /** Most surfaces a path meets before it is cut off. */
    maxBounces: z.number().int().min(1).max(RENDER_MAX_BOUNCES).default(6),
  })
  .superRefine((s, ctx) => {
    if (s.spheres.length + s.triangles.length === 0) ctx.addIssue({ code: 'custom', message: 'a scene needs at least one sphere or triangle' });
    const bad = [...s.spheres, ...s.triangles].find((p) => p.material >= s.materials.length);
    if (bad) ctx.addIssue({ code: 'custom', message: `material ${bad.material} is not one of the scene's ${s.materials.length} materials` });
    const [fx, fy, fz] = s.camera.from;
    const [ax, ay, az] = s.camera.at;
    const d = [ax - fx, ay - fy, az - fz] as const;
    const len = Math.hypot(...d);
    if (!(len > 1e-6)) ctx.addIssue({ code: 'custom', message: 'camera.from and camera.at must differ' });
    const [ux, uy, uz] = s.camera.up;
    const cross = Math.hypot(d[1] * uz - d[2] * uy, d[2] * ux - d[0] * uz, d[0] * uy - d[1] * ux);
    if (len > 1e-6 && !(cross > 1e-6 * len * Math.hypot(ux, uy, uz))) ctx.addIssue({ code: 'custom', message: 'camera.up must not point along the view' });
  });
export type RenderScene = z.infer<typeof RenderSceneSchema>;

const Side = z.number().int().min(RENDER_MIN_SIDE).max(RENDER_MAX_SIDE);
/** A job's seed of its random sequences: a u32. */
export const RenderSeedSchema = z.number().int().min(0).max(0xffffffff);

/** `POST /v1/jobs` body for render. `seed` defaults to one the hub draws. */
export const RenderJobRequestSchema = z.object({
  kind: z.literal('render'),
  width: Side,
  height: Side,
  samples: z.number().int().min(1).max(RENDER_MAX_SAMPLES),
  seed: RenderSeedSchema.optional(),
  scene: RenderSceneSchema,
});
export type RenderJobRequest = z.infer<typeof RenderJobRequestSchema>;

/**
 * A task: the tile [x, x+w) × [y, y+h) of a width × height image, samples
 * [sampleStart, sampleStart+sampleCount) of each of its pixels, and the hub's measure of the
 * scene's cost (floating-point operations per sample, what it is paid by).
 */
export const RenderParamsSchema = z
  .object({
    width: Side,
    height: Side,
    x: z.number().int().min(0),
    y: z.number().int().min(0),
    w: z.number().int().min(1).max(RENDER_MAX_SIDE),
    h: z.number().int().min(1).max(RENDER_MAX_SIDE),
    sampleStart: z.number().int().min(0).max(RENDER_MAX_SAMPLES - 1),
    sampleCount: z.number().int().min(1).max(RENDER_MAX_SAMPLES),
    seed: RenderSeedSchema,
    flopsPerSample: z.number().int().min(1).max(2 ** 30),
  })
  .refine((p) => p.x + p.w <= p.width && p.y + p.h <= p.height, 'the tile must lie inside the image')
  .refine((p) => p.sampleStart + p.sampleCount <= RENDER_MAX_SAMPLES, `samples end at ${RENDER_MAX_SAMPLES}`);
export type RenderParams = z.infer<typeof RenderParamsSchema>;

export const RenderInputsSchema = z.object({ scene: RenderSceneSchema });

/** f16 data: little-endian half floats, in the same two forms as F32DataSchema (base64 text in JSON, raw bytes in a binary body). */
export const F16DataSchema = F32DataSchema;
export type F16Data = z.infer<typeof F16DataSchema>;

/** Whether `data` holds exactly `count` f16 values. */
export const holdsF16s = (data: F16Data, count: number): boolean => (typeof data === 'string' ? data.length === base64Length(2 * count) : data.byteLength === 2 * count);

/**
 * The tile's mean radiance over the task's samples: w×h pixels × RGB, row-major, as f32 (`rgb`),
 * rounded to the nearest f16 (`rgbHalf`, half the bytes), or as f16 followed by the chunk sums of
 * the pixels its bytes open (`rgbHalfChunks`, what the worker sends; its layout: docs/PROTOCOL.md
 * and kernels/render/verify.ts `chunkedBytes`): exactly one.
 */
export const RenderOutputSchema = z
  .object({ rgb: F32DataSchema.optional(), rgbHalf: F16DataSchema.optional(), rgbHalfChunks: F16DataSchema.optional() })
  .refine((o) => [o.rgb, o.rgbHalf, o.rgbHalfChunks].filter((v) => v !== undefined).length === 1, 'the output holds exactly one of rgb (f32), rgbHalf (f16) and rgbHalfChunks (f16 and chunk sums)');
export type RenderOutput = z.infer<typeof RenderOutputSchema>;

export function renderOutputFits(p: Pick<RenderParams, 'w' | 'h'>, o: RenderOutput): string | null {
  const values = 3 * p.w * p.h;
  if ([o.rgb, o.rgbHalf, o.rgbHalfChunks].filter((v) => v !== undefined).length !== 1) return 'the output holds one of rgb (f32), rgbHalf (f16) and rgbHalfChunks (f16 and chunk sums)';
  if (o.rgb !== undefined) return holdsF32s(o.rgb, values) ? null : `rgb must hold w×h×3 = ${values} f32 values`;
  if (o.rgbHalf !== undefined) return holdsF16s(o.rgbHalf, values) ? null : `rgbHalf must hold w×h×3 = ${values} f16 values`;
  // Its exact length (the chunk sums' count) is the kind's (jobs/render.ts decodeRenderOutput): here, more than the f16 tile.
  const data = o.rgbHalfChunks!;
  return (typeof data === 'string' ? data.length > base64Length(2 * values) : data.byteLength > 2 * values) ? null : `rgbHalfChunks must hold more than the tile's ${2 * values} bytes of f16`;
}

export const RenderTaskBody = {
  kind: z.literal('render'),
  params: RenderParamsSchema,
  inputs: RenderInputsSchema,
};

/** The render kind's wire schemas, one entry of protocol/kinds/index.ts. */
export const renderWire = { kind: 'render', task: z.object({ ...TaskCommonShape, ...RenderTaskBody }), output: RenderOutputSchema, job: RenderJobRequestSchema } as const;
