/**
 * The `render` kind: a tile of a path-traced picture over a run of samples (kernels/render),
 * checked by the hub re-tracing, with the same seeds on its CPU reference, one secret chunk of
 * each pixel the result opens (or CHECK_PIXELS telling pixels at all their samples, for a result
 * without chunk sums); answered by the tile's mean radiance rounded to half floats (f16) after the
 * kernel and the opened pixels' chunk sums, sent as raw bytes (6 a pixel for the tile; the check
 * allows f16's rounding); paid per floating-point
 * operation, counted as pixels × samples × the scene's cost per sample (measured by the hub's
 * reference when the job is submitted, in the task's params).
 * Not replicated yet (docs/DESIGN.md, "Trust"): the hub's check alone tells an honest tile from a
 * made-up one; a saboteur who does the honest work and then alters the picture with consistent
 * chunk sums gets past it in about 4% of checks, which replication would close. Demo jobs: one of the project's scenes (kernels/render/scenes.ts) at 128–192 pixels a
 * side and 8–16 samples per pixel.
 */
import { runRenderChunks } from '../kernels/render/dispatch.js';
import { measureFlopsPerSample, renderWorkUnits } from '../kernels/render/reference.js';
import type { RenderScene, RenderTile } from '../kernels/render/scene.js';
import { PROJECT_SCENES } from '../kernels/render/scenes.js';
import { chunkedBytes, chunkedResult, splitChunked, verifyRender, type RenderEncoding } from '../kernels/render/verify.js';
import { downscale, toneMap } from '../kernels/render/image.js';
import { KernelError } from '../kernels/types.js';
import {
  base64Length,
  base64ToBytes,
  bytesToF32,
  f16DataToF32,
  f16ToF32,
  f32ToF16,
  RenderOutputSchema,
  RenderSceneSchema,
  renderOutputFits,
  renderWire,
  toF32,
  type RenderOutput as RenderWireOutput,
  type TaskOf,
} from '../protocol/index.js';
import { GFLOP, PREVIEW_MAX_SIDE, type JobKindSpec } from './types.js';

export const FEEDER_MIN_SIDE = 64;
export const FEEDER_MAX_SIDE = 96;
export const FEEDER_MIN_SAMPLES = 2;
export const FEEDER_MAX_SAMPLES = 4;

export interface RenderTask {
  kind: 'render';
  scene: RenderScene;
  tile: RenderTile;
  flopsPerSample: number;
}

export interface RenderOutput {
  kind: 'render';
  /** w×h×3 f32, the tile's mean radiance over its samples. */
  rgb: Float32Array;
  /** The kernel's chunk sums (w×h × RENDER_CHUNKS × RGB) and its tile: what the opened pixels' chunk sums are taken from when it is encoded. */
  chunks?: { sums: Float32Array; tile: RenderTile };
}

/** A tile as the kernel takes it, from a task's params. */
export const tileOf = (p: TaskOf<'render'>['params']): RenderTile => ({
  width: p.width,
  height: p.height,
  x: p.x,
  y: p.y,
  w: p.w,
  h: p.h,
  sampleStart: p.sampleStart,
  sampleCount: p.sampleCount,
  seed: p.seed,
});

/** A result's tile as f32 values (w×h×3), and how it came: f16 values are the f16s exactly; a chunked result's f16 bytes and chunk sums too. */
export interface RenderValues {
  rgb: Float32Array;
  encoding: RenderEncoding;
  chunked?: { half: Uint8Array; sums: Float32Array };
}

/** A chunked result's parts (its length already checked); throws KernelError VALIDATION without the mark. */
function decodeChunked(params: Pick<TaskOf<'render'>['params'], 'w' | 'h'>, bytes: Uint8Array): RenderValues {
  const { half, sums } = splitChunked(params.w, params.h, bytes);
  return { rgb: f16ToF32(half), encoding: 'f16', chunked: { half, sums } };
}

/** The tile of a parsed output (`rgb` or `rgbHalf`); throws KernelError VALIDATION when its size does not fit. */
export function decodeRenderOutput(params: TaskOf<'render'>['params'], output: RenderWireOutput): RenderValues {
  const problem = renderOutputFits(params, output);
  if (problem) throw new KernelError(`the render result does not fit: ${problem}`, 'VALIDATION');
  if (output.rgbHalfChunks !== undefined) {
    const bytes = typeof output.rgbHalfChunks === 'string' ? base64ToBytes(output.rgbHalfChunks) : output.rgbHalfChunks;
    if (bytes.byteLength !== chunkedBytes(params.w, params.h)) throw new KernelError(`rgbHalfChunks must hold ${chunkedBytes(params.w, params.h)} bytes, not ${bytes.byteLength}`, 'VALIDATION');
    return decodeChunked(params, bytes);
  }
  return output.rgbHalf !== undefined ? { rgb: f16DataToF32(output.rgbHalf), encoding: 'f16' } : { rgb: toF32(output.rgb!), encoding: 'f32' };
}

/**
 * The tile of a result sent as raw bytes (docs/PROTOCOL.md): its w×h×3 values as f16 (6·w·h
 * bytes) or as f32 (12·w·h bytes), told apart by the length; any other length is a KernelError
 * VALIDATION that says both.
 */
export function decodeRenderBody(params: Pick<TaskOf<'render'>['params'], 'w' | 'h'>, bytes: Uint8Array): RenderValues {
  const values = 3 * params.w * params.h;
  if (bytes.byteLength === 2 * values) return { rgb: f16ToF32(bytes), encoding: 'f16' };
  if (bytes.byteLength === 4 * values) return { rgb: bytesToF32(bytes), encoding: 'f32' };
  if (bytes.byteLength === chunkedBytes(params.w, params.h)) return decodeChunked(params, bytes);
  throw new KernelError(
    `a raw render result is the tile's w×h×3 = ${values} values, as f16 (${2 * values} bytes), as f32 (${4 * values} bytes), or as f16 with chunk sums (${chunkedBytes(params.w, params.h)} bytes), not ${bytes.byteLength} bytes`,
    'VALIDATION',
  );
}

/** Uniform [0, 1) from the platform's cryptographic generator (Node and browsers): the pixels a check draws stay secret. */
function secretRandom(): number {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0]! * 2 ** 21 + (words[1]! >>> 11)) / 2 ** 53;
}

/** The largest cost per sample of the project's scenes at any of the feeder's sizes (its price bound). */
function maxDemoFlopsPerSample(): number {
  let most = 0;
  for (const make of Object.values(PROJECT_SCENES)) {
    for (let w = FEEDER_MIN_SIDE; w <= FEEDER_MAX_SIDE; w += 8) for (let h = FEEDER_MIN_SIDE; h <= FEEDER_MAX_SIDE; h += 8) most = Math.max(most, measureFlopsPerSample(make(), w, h));
  }
  return most;
}

export const renderSpec: JobKindSpec<'render', RenderTask, RenderOutput, { scene: string; width: number; height: number; samples: number }> = {
  kind: 'render',
  wire: renderWire,
  decode(task) {
    return { kind: 'render', scene: task.inputs.scene, tile: tileOf(task.params), flopsPerSample: task.params.flopsPerSample };
  },
  async run(gpu, task, options) {
    const { rgb, chunks } = await runRenderChunks(gpu, task.scene, task.tile, options);
    return { kind: 'render', rgb, chunks: { sums: chunks, tile: task.tile } };
  },
  // Rounded to f16 after the kernel and the opened pixels' chunk sums picked (the CPU's work, a
  // few milliseconds for the largest tile, once the device is free: jobs/gpu-host.ts), sent raw
  // (rawResultField); an output made without chunk sums (tests) goes as plain f16.
  encodeOutput: async (output) => (output.chunks ? { rgbHalfChunks: await chunkedResult(output.chunks.tile, f32ToF16(output.rgb), output.chunks.sums) } : { rgbHalf: f32ToF16(output.rgb) }),
  rawResultField: 'rgbHalfChunks',
  verify: (task, output) => verifyRender(task.scene, task.tile, output.rgb, secretRandom),
  workUnits: (params) => renderWorkUnits(params),
  paidBy: 'rewardPerGflop',
  reward: (units, rate) => (units * rate) / GFLOP,
  speedScore: 'renderGflops',
  replicated: false,
  // The largest of its forms: f32 or the chunked form as base64 in JSON (f32 raw is 12 bytes a pixel, f16 raw 6, f16 as base64 8).
  maxResultBytes: (params) => base64Length(Math.max(12 * params.w * params.h, chunkedBytes(params.w, params.h))),
  preview(task, output) {
    const parsed = RenderOutputSchema.safeParse(output);
    if (!parsed.success || renderOutputFits(task.params, parsed.data)) return null;
    const small = downscale(decodeRenderOutput(task.params, parsed.data).rgb, task.params.w, task.params.h, PREVIEW_MAX_SIDE);
    return { width: small.width, height: small.height, rgb: toneMap(small.rgb) };
  },
  demo: {
    backlog: 1,
    make(random) {
      const names = Object.keys(PROJECT_SCENES);
      const name = names[Math.floor(random() * names.length)]!;
      const side = (): number => FEEDER_MIN_SIDE + 8 * Math.floor(random() * ((FEEDER_MAX_SIDE - FEEDER_MIN_SIDE) / 8 + 1));
      const samples = FEEDER_MIN_SAMPLES + Math.floor(random() * (FEEDER_MAX_SAMPLES - FEEDER_MIN_SAMPLES + 1));
      return { kind: 'render', width: side(), height: side(), samples, seed: Math.floor(random() * 2 ** 32), scene: RenderSceneSchema.parse(PROJECT_SCENES[name]!()) };
    },
    fields: (job) => ({ scene: `${job.scene.triangles.length} triangles, ${job.scene.spheres.length} spheres`, width: job.width, height: job.height, samples: job.samples }),
    describe: ({ scene, width, height, samples }) => `render ${width}×${height}, ${samples} samples per pixel (${scene})`,
    maxPrice: (rates) =>
      renderSpec.reward(renderWorkUnits({ w: FEEDER_MAX_SIDE, h: FEEDER_MAX_SIDE, sampleCount: FEEDER_MAX_SAMPLES, flopsPerSample: maxDemoFlopsPerSample() }), rates.rewardPerGflop),
  },
};
