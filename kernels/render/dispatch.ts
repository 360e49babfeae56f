/**
 * Dispatches the render shader on any GPUDevice. A tile's work is pixel-samples; a slice (one GPU
 * submission) is either a run of whole samples over every pixel of the tile, or, while one sample
 * of every pixel is more than a slice's worth, a range of pixels for one sample. Each pixel's f32
 * sums stay on the GPU across slices (added to in sample order, as the CPU reference adds) and are
 * read back once; the tile's mean is those sums divided by the sample count, on the host.
 */
import { abortable, BufferUsage, cachedPipeline, describeError, now, readBack, throwIfAborted, withErrorScopes } from '../gpu.js';
import type { KernelDevice } from '../device.js';
import { runSlices, SlicePlanner } from '../slices.js';
import { KernelError, type RunOptions } from '../types.js';
import { packCamera, packScene, type RenderScene, type RenderTile } from './scene.js';
import { renderReference } from './reference.js';
import { RENDER_PARAMS_BYTES, RENDER_WORKGROUP, renderWgsl } from './shader.js';
import { RENDER_CHUNKS } from './verify.js';

/**
 * Pixel-samples of the first slice on a device whose speed is not known yet: 25–60 ms on
 * SwiftShader here for the project's scenes (0.02–0.04 Msamples/s), nothing on a GPU.
 */
export const INITIAL_SLICE_SAMPLES = 1 << 10;
/** Most pixel-samples in one slice. */
export const MAX_SLICE_SAMPLES = 2 ** 28;
const MAX_GROUPS_X = 32768;

export function renderPipeline(gpu: KernelDevice): Promise<GPUComputePipeline> {
  return cachedPipeline(gpu, 'render', renderWgsl);
}

/** Where the slices stand: the next sample and, within it, the next pixel. */
interface Cursor {
  sample: number;
  pixel: number;
}

/** The next slice of about `units` pixel-samples from `at`: samples [s, s+n) of pixels [p, p+count). */
export function nextRenderSlice(at: Cursor, pixels: number, samples: number, units: number): { sample: number; samples: number; pixel: number; pixels: number } | null {
  if (at.sample >= samples) return null;
  if (at.pixel === 0 && units >= pixels) {
    const n = Math.min(samples - at.sample, Math.floor(units / pixels));
    return { sample: at.sample, samples: n, pixel: 0, pixels };
  }
  const count = Math.min(pixels - at.pixel, Math.max(RENDER_WORKGROUP, Math.floor(units / RENDER_WORKGROUP) * RENDER_WORKGROUP));
  return { sample: at.sample, samples: 1, pixel: at.pixel, pixels: count };
}

/** The tile's mean radiance over its samples: w×h×3 f32, row-major. */
export async function runRender(gpu: KernelDevice, scene: RenderScene, tile: RenderTile, options: RunOptions = {}): Promise<Float32Array> {
  return (await renderTile(gpu, scene, tile, options, false)).rgb;
}

/** The tile's mean radiance (runRender's) and each pixel's RENDER_CHUNKS chunk sums (w×h×RENDER_CHUNKS×3 f32: pixel, chunk, channel), read back from the GPU. */
export async function runRenderChunks(gpu: KernelDevice, scene: RenderScene, tile: RenderTile, options: RunOptions = {}): Promise<{ rgb: Float32Array; chunks: Float32Array }> {
  const { rgb, chunks } = await renderTile(gpu, scene, tile, options, true);
  return { rgb, chunks: chunks! };
}

async function renderTile(gpu: KernelDevice, scene: RenderScene, tile: RenderTile, options: RunOptions, withChunks: boolean): Promise<{ rgb: Float32Array; chunks: Float32Array | null }> {
  const { device } = gpu;
  const packed = packScene(scene);
  const camera = packCamera(scene.camera, tile.width, tile.height);
  const pixels = tile.w * tile.h;
  const total = pixels * tile.sampleCount;
  throwIfAborted(options.signal);
  const buffers: GPUBuffer[] = [];
  try {
    const pipeline = await abortable(renderPipeline(gpu), options.signal);
    const { uniform, acc, chunks, bindGroup } = await withErrorScopes(device, () => {
      const make = (label: string, size: number, usage: number): GPUBuffer => {
        const buffer = device.createBuffer({ label, size, usage });
        buffers.push(buffer);
        return buffer;
      };
      const uniform = make('render params', RENDER_PARAMS_BYTES, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
      const sceneBuffer = make('render scene', packed.data.byteLength, BufferUsage.STORAGE | BufferUsage.COPY_DST);
      device.queue.writeBuffer(sceneBuffer, 0, packed.data);
      // Zero-filled at creation.
      const acc = make('render sums', 16 * pixels, BufferUsage.STORAGE | BufferUsage.COPY_SRC);
      const chunks = make('render chunk sums', 12 * RENDER_CHUNKS * pixels, BufferUsage.STORAGE | BufferUsage.COPY_SRC);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniform } },
          { binding: 1, resource: { buffer: sceneBuffer } },
          { binding: 2, resource: { buffer: acc } },
          { binding: 3, resource: { buffer: chunks } },
        ],
      });
      return { uniform, acc, chunks, bindGroup };
    });

    const raw = new ArrayBuffer(RENDER_PARAMS_BYTES);
    const floats = new Float32Array(raw, 0, 24);
    const words = new Uint32Array(raw, 96, 20);
    floats.set(camera, 0);
    floats.set(packed.env, 16);
    floats[20] = Math.fround(1 / tile.width);
    floats[21] = Math.fround(1 / tile.height);
    words.set([tile.width, tile.x, tile.y, tile.w, 0, 0, 0, 0, tile.seed >>> 0, packed.spheres, packed.triangles, packed.sphereBase, packed.triangleBase, packed.maxBounces, 0, 0, tile.sampleStart, tile.sampleCount, 0, 0]);

    const planner = new SlicePlanner(gpu, 'render', {
      ...(options.sliceBudget !== undefined ? { fixed: options.sliceBudget } : {}),
      ...(options.sliceMs !== undefined ? { targetMs: options.sliceMs } : {}),
      initial: INITIAL_SLICE_SAMPLES,
      min: RENDER_WORKGROUP,
      max: MAX_SLICE_SAMPLES,
    });
    const at: Cursor = { sample: 0, pixel: 0 };
    let done = 0;
    await runSlices(device, planner, {
      signal: options.signal,
      submit: async (units) => {
        const slice = nextRenderSlice(at, pixels, tile.sampleCount, units);
        if (!slice) return 0;
        const groups = Math.ceil(slice.pixels / RENDER_WORKGROUP);
        const groupsX = Math.min(groups, MAX_GROUPS_X);
        const groupsY = Math.ceil(groups / groupsX);
        words[4] = slice.pixel;
        words[5] = slice.pixels;
        words[6] = tile.sampleStart + slice.sample;
        words[7] = slice.samples;
        words[14] = groupsX;
        await withErrorScopes(device, () => {
          device.queue.writeBuffer(uniform, 0, raw);
          const encoder = device.createCommandEncoder({ label: 'render slice' });
          const pass = encoder.beginComputePass({ label: 'render' });
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(groupsX, groupsY);
          pass.end();
          device.queue.submit([encoder.finish()]);
        });
        if (slice.pixel + slice.pixels >= pixels) {
          at.sample += slice.samples;
          at.pixel = 0;
        } else at.pixel += slice.pixels;
        return slice.pixels * slice.samples;
      },
      onDone: (units) => {
        done += units;
        options.onProgress?.(done, total);
      },
    });

    const sums = await readBack(device, acc, 16 * pixels);
    const out = new Float32Array(3 * pixels);
    for (let p = 0; p < pixels; p++) {
      for (let c = 0; c < 3; c++) out[3 * p + c] = Math.fround(sums[4 * p + c]! / tile.sampleCount);
    }
    return { rgb: out, chunks: withChunks ? await readBack(device, chunks, 12 * RENDER_CHUNKS * pixels) : null };
  } catch (error) {
    if (error instanceof KernelError) throw error;
    throw new KernelError(`render failed on the GPU: ${describeError(error)}`, 'INTERNAL');
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}

/** Pixel-samples per second, in millions, of `samples` traced in `ms`. */
export const msamplesPerSecond = (samples: number, ms: number): number => samples / ms / 1000;

/** The tile the speed measurements trace: 64×64 pixels in the middle of a 256×256 picture. */
export const TIMING_TILE: RenderTile = { width: 256, height: 256, x: 96, y: 96, w: 64, h: 64, sampleStart: 0, sampleCount: 1, seed: 7 };

/**
 * The kernel's speed in Msamples/s (pixel-samples per second) on `scene`: TIMING_TILE with a
 * sample count growing (×8 while far too short, else ×2) until one run takes at least `targetMs`,
 * after a first run (compiling included) that is not timed; each run sliced as tasks are, read
 * back included. Returns the last run's tile (to check) with its figures.
 */
export async function timeRender(
  gpu: KernelDevice,
  scene: RenderScene,
  opts: { targetMs: number; deadline?: number; signal?: AbortSignal },
): Promise<{ msps: number; samples: number; ms: number; tile: RenderTile; rgb: Float32Array }> {
  const tile: RenderTile = { ...TIMING_TILE };
  const run = (): Promise<Float32Array> => runRender(gpu, scene, tile, opts.signal ? { signal: opts.signal } : {});
  await run();
  const fits = (ms: number): boolean => opts.deadline === undefined || now() + ms < opts.deadline;
  for (;;) {
    const began = now();
    const rgb = await run();
    const ms = now() - began;
    const samples = tile.w * tile.h * tile.sampleCount;
    if (ms >= opts.targetMs || !fits(4 * ms) || tile.sampleCount >= 1 << 16) return { msps: msamplesPerSecond(samples, ms), samples, ms, tile: { ...tile }, rgb };
    tile.sampleCount *= ms < opts.targetMs / 8 ? 8 : 2;
  }
}

/** The CPU reference's speed in Msamples/s on `scene` (16×16 pixels of TIMING_TILE, samples doubling until a run takes `targetMs`). */
export function timeRenderReference(scene: RenderScene, targetMs: number): { msps: number; samples: number; ms: number } {
  const tile: RenderTile = { ...TIMING_TILE, x: 120, y: 120, w: 16, h: 16 };
  for (;;) {
    const began = now();
    renderReference(scene, tile);
    const ms = now() - began;
    const samples = tile.w * tile.h * tile.sampleCount;
    if (ms >= targetMs || tile.sampleCount >= 1 << 12) return { msps: msamplesPerSecond(samples, ms), samples, ms };
    tile.sampleCount *= 2;
  }
}
