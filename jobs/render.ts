/**
 * The `render` kind: a tile of a path-traced picture over a run of samples (kernels/render),
 * checked by the hub re-tracing a secret 1% of the tile's pixels with the same seeds on its CPU
 * reference; paid per floating-point operation, counted as pixels × samples × the scene's cost
 * per sample (measured by the hub's reference when the job is submitted, in the task's params).
 * Not replicated: the hub's check alone tells an honest tile from a made-up one (docs/DESIGN.md,
 * "Trust"). Demo jobs: one of the project's scenes (kernels/render/scenes.ts) at 128–192 pixels a
 * side and 8–16 samples per pixel.
 */
import { runRender } from '../kernels/render/dispatch.js';
import { measureFlopsPerSample, renderWorkUnits } from '../kernels/render/reference.js';
import type { RenderScene, RenderTile } from '../kernels/render/scene.js';
import { PROJECT_SCENES } from '../kernels/render/scenes.js';
import { verifyRender } from '../kernels/render/verify.js';
import { downscale, toneMap } from '../kernels/render/image.js';
import { KernelError } from '../kernels/types.js';
import { base64Length, f32ToBase64, RenderOutputSchema, RenderSceneSchema, renderOutputFits, renderWire, toF32, type RenderOutput as RenderWireOutput, type TaskOf } from '../protocol/index.js';
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

/** The tile of a parsed output; throws KernelError VALIDATION when its size does not fit. */
export function decodeRenderOutput(params: TaskOf<'render'>['params'], output: RenderWireOutput): Float32Array {
  const problem = renderOutputFits(params, output);
  if (problem) throw new KernelError(`the render result does not fit: ${problem}`, 'VALIDATION');
  return toF32(output.rgb);
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
    return { kind: 'render', rgb: await runRender(gpu, task.scene, task.tile, options) };
  },
  encodeOutput: (output) => ({ rgb: f32ToBase64(output.rgb) }),
  verify: (task, output) => verifyRender(task.scene, task.tile, output.rgb, secretRandom),
  workUnits: (params) => renderWorkUnits(params),
  paidBy: 'rewardPerGflop',
  reward: (units, rate) => (units * rate) / GFLOP,
  replicated: false,
  maxResultBytes: (params) => base64Length(12 * params.w * params.h),
  preview(task, output) {
    const parsed = RenderOutputSchema.safeParse(output);
    if (!parsed.success || renderOutputFits(task.params, parsed.data)) return null;
    const small = downscale(toF32(parsed.data.rgb), task.params.w, task.params.h, PREVIEW_MAX_SIDE);
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
