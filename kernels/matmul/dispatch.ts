/**
 * Dispatches the matmul shaders on any GPUDevice (Dawn in Node, or a browser page).
 *
 * C is computed in slices: rectangles of whole workgroup blocks, each one GPU submission whose
 * size follows the device's measured speed (kernels/slices.ts). The configuration (shader.ts)
 * is the one the tuner found fastest on the device for the nearest size (setMatmulChoices), else
 * `cpu-sg` (or `cpu` without 4-wide subgroups) on CPU implementations, and on GPUs `gpu-128`, or
 * `gpu-64` for products too small to give `gpu-128` MIN_LARGE_BLOCKS workgroups.
 */
import { abortable, BufferUsage, cachedPipeline, describeError, readBack, storageBuffer, submitAndWait, throwIfAborted, withErrorScopes } from '../gpu.js';
import type { KernelDevice } from '../device.js';
import { runSlices, SlicePlanner } from '../slices.js';
import { KernelError, type RunOptions } from '../types.js';
import { checkSizes, matmulReference, type MatmulDims } from './reference.js';
import { blockShape, DIMS_BYTES, MATMUL_CONFIGS, matmulWgsl, SUBGROUP_ROWS_SIZE, vec4Fits, workgroupBytes, type MatmulConfig, type MatmulConfigName } from './shader.js';

/** Multiply-adds of the first slice on a device whose speed is not known yet (~4 ms on SwiftShader). */
export const INITIAL_SLICE_MACS = 1 << 22;

export interface MatmulRunOptions extends RunOptions {
  /** A configuration of shader.ts; default: the device's (matmulConfigFor). */
  config?: MatmulConfigName;
}

/** A configuration that won on a product of `area` = m·n elements of C (what the tuner found). */
export interface SizeChoice {
  area: number;
  config: MatmulConfigName;
}

/** Below this many blocks of `gpu-128`, the untuned default on a GPU takes the smaller `gpu-64`. */
export const MIN_LARGE_BLOCKS = 128;

/** Whether `config` fits the device's limits (and features: 4-wide subgroups for `subgroupRows`). */
export function configFits(device: GPUDevice, config: MatmulConfig): boolean {
  const threads = config.wgX * config.wgY;
  if (config.family === 'register' && config.subgroupRows) {
    const info = (device as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
    if (!device.features.has('subgroups') || info?.subgroupMinSize !== SUBGROUP_ROWS_SIZE || info.subgroupMaxSize !== SUBGROUP_ROWS_SIZE) return false;
  }
  return (
    workgroupBytes(config) <= device.limits.maxComputeWorkgroupStorageSize &&
    threads <= device.limits.maxComputeInvocationsPerWorkgroup &&
    config.wgX <= device.limits.maxComputeWorkgroupSizeX &&
    config.wgY <= device.limits.maxComputeWorkgroupSizeY
  );
}

/**
 * `subgroupRows` kernels assume that a subgroup is 4 consecutive invocations of one row of the
 * workgroup, which WebGPU does not promise. Before its first use on a device, each flavour runs
 * one small product against the CPU reference; a wrong answer rules it out on that device.
 */
function subgroupRowsWork(gpu: KernelDevice, name: MatmulConfigName, vec4: boolean): Promise<boolean> {
  const { device, subgroupChecks: forDevice } = gpu;
  const key = `${name}${vec4 ? ' vec4' : ''}`;
  let check = forDevice.get(key);
  if (!check) {
    check = (async () => {
      const dims = vec4 ? { m: 37, n: 24, k: 20 } : { m: 37, n: 23, k: 19 };
      const a = Float32Array.from({ length: dims.m * dims.k }, (_, i) => ((i * 7) % 11) - 5);
      const b = Float32Array.from({ length: dims.k * dims.n }, (_, i) => ((i * 5) % 13) - 6);
      const p = await prepareWith(gpu, dims, a, b, name);
      try {
        device.queue.submit([p.encode()]);
        const c = await p.read();
        // Small integers: the product is exact in f32 whatever the order of the sums.
        const ref = matmulReference(dims, a, b);
        return c.every((v, i) => v === ref[i]);
      } finally {
        p.destroy();
      }
    })();
    forDevice.set(key, check);
    check.catch(() => forDevice.delete(key));
  }
  return check;
}

/** Makes `name` the configuration runMatmul uses on the device for every size. */
export function setMatmulConfig(gpu: KernelDevice, name: MatmulConfigName): void {
  setMatmulChoices(gpu, [{ area: 1, config: name }]);
}

/** What the tuner found per size: each product runs the choice whose area is nearest (in ratio) to its m·n. */
export function setMatmulChoices(gpu: KernelDevice, choices: SizeChoice[]): void {
  if (choices.length === 0) throw new RangeError('no choices');
  for (const { config } of choices) {
    if (!configFits(gpu.device, MATMUL_CONFIGS[config])) throw new RangeError(`matmul configuration ${config} does not fit this device's limits`);
  }
  gpu.matmulChoices = [...choices].sort((x, y) => x.area - y.area);
}

/** The configuration runMatmul uses on the device (for a product of `dims`, when given). */
export function matmulConfigFor(gpu: KernelDevice, dims?: Pick<MatmulDims, 'm' | 'n'>): MatmulConfigName {
  const { device, matmulChoices: list } = gpu;
  if (list && list.length > 0) {
    if (!dims) return list[list.length - 1]!.config;
    const area = Math.log(dims.m * dims.n);
    return list.reduce((x, y) => (Math.abs(Math.log(y.area) - area) < Math.abs(Math.log(x.area) - area) ? y : x)).config;
  }
  if (gpu.software) return configFits(device, MATMUL_CONFIGS['cpu-sg']) ? 'cpu-sg' : 'cpu';
  if (!configFits(device, MATMUL_CONFIGS['gpu-128'])) return 'gpu-64';
  if (dims) {
    const { rows, cols } = blockShape(MATMUL_CONFIGS['gpu-128']);
    if (Math.ceil(dims.m / rows) * Math.ceil(dims.n / cols) < MIN_LARGE_BLOCKS) return 'gpu-64';
  }
  return 'gpu-128';
}

/** The compiled pipeline of a configuration and flavour (cached per device). */
export function matmulPipeline(gpu: KernelDevice, name: MatmulConfigName, vec4: boolean): Promise<GPUComputePipeline> {
  const config = MATMUL_CONFIGS[name];
  const flavour = vec4 && config.family !== 'naive';
  return cachedPipeline(gpu, `matmul ${name}${flavour ? ' vec4' : ''}`, () => matmulWgsl(config, flavour));
}

/** A rectangle of workgroup blocks: x0, y0 the first block, w×h blocks. */
export interface BlockRect {
  x0: number;
  y0: number;
  w: number;
  h: number;
}

/**
 * The next slice of a grid of gridX×gridY blocks, starting at block (x, y), holding at most
 * `blocks` blocks (at least one): whole rows of blocks when a row fits, else part of one row.
 */
export function nextRect(gridX: number, gridY: number, x: number, y: number, blocks: number): BlockRect {
  const n = Math.max(1, Math.floor(blocks));
  if (x === 0 && n >= gridX) return { x0: 0, y0: y, w: gridX, h: Math.min(gridY - y, Math.floor(n / gridX)) };
  return { x0: x, y0: y, w: Math.min(gridX - x, n), h: 1 };
}

/** The buffers, pipeline and bind group of one product on one device. */
export interface PreparedMatmul {
  readonly dims: MatmulDims;
  readonly config: MatmulConfigName;
  readonly block: { rows: number; cols: number };
  readonly grid: { x: number; y: number };
  /** Multiply-adds of one full block (the unit slices are counted in). */
  readonly blockMacs: number;
  /** Encodes `repeats` dispatches of `rect` (the whole grid by default) as one command buffer. */
  encode(rect?: BlockRect, repeats?: number): GPUCommandBuffer;
  /** Reads C back. */
  read(): Promise<Float32Array>;
  destroy(): void;
}

/**
 * Uploads A and B and compiles (or finds) the pipeline. Throws KernelError on GPU errors.
 * A `subgroupRows` configuration that failed its check on this device gives way to `cpu`.
 */
export async function prepareMatmul(gpu: KernelDevice, dims: MatmulDims, a: Float32Array, b: Float32Array, configName?: MatmulConfigName): Promise<PreparedMatmul> {
  checkSizes(dims, a, b);
  let name = configName ?? matmulConfigFor(gpu, dims);
  const config: MatmulConfig = MATMUL_CONFIGS[name];
  if (!configFits(gpu.device, config)) throw new KernelError(`matmul configuration ${name} does not fit this device's limits`, 'VALIDATION');
  if (config.family === 'register' && config.subgroupRows && !(await subgroupRowsWork(gpu, name, vec4Fits(dims)))) name = 'cpu';
  return prepareWith(gpu, dims, a, b, name);
}

async function prepareWith(gpu: KernelDevice, dims: MatmulDims, a: Float32Array, b: Float32Array, name: MatmulConfigName): Promise<PreparedMatmul> {
  const { device } = gpu;
  const config: MatmulConfig = MATMUL_CONFIGS[name];
  const vec4 = config.family !== 'naive' && vec4Fits(dims);
  const pipeline = await matmulPipeline(gpu, name, vec4);
  const { m, n, k } = dims;
  const outBytes = 4 * m * n;
  const buffers: GPUBuffer[] = [];
  const destroy = (): void => {
    for (const buffer of buffers) buffer.destroy();
    buffers.length = 0;
  };
  try {
    return await withErrorScopes(device, () => {
      const aBuffer = storageBuffer(device, a, 'matmul a');
      buffers.push(aBuffer);
      const bBuffer = storageBuffer(device, b, 'matmul b');
      buffers.push(bBuffer);
      const cBuffer = device.createBuffer({ label: 'matmul c', size: outBytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
      buffers.push(cBuffer);
      const uniform = device.createBuffer({ label: 'matmul dims', size: DIMS_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
      buffers.push(uniform);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniform } },
          { binding: 1, resource: { buffer: aBuffer } },
          { binding: 2, resource: { buffer: bBuffer } },
          { binding: 3, resource: { buffer: cBuffer } },
        ],
      });
      const block = blockShape(config);
      const grid = { x: Math.ceil(n / block.cols), y: Math.ceil(m / block.rows) };
      const whole: BlockRect = { x0: 0, y0: 0, w: grid.x, h: grid.y };
      const prepared: PreparedMatmul = {
        dims,
        config: name,
        block,
        grid,
        blockMacs: block.rows * block.cols * k,
        encode(rect = whole, repeats = 1) {
          // Written before the submission that follows: the queue keeps the order.
          device.queue.writeBuffer(uniform, 0, new Uint32Array([m, n, k, rect.y0 * block.rows, rect.x0 * block.cols, 0, 0, 0]));
          const encoder = device.createCommandEncoder({ label: 'matmul slice' });
          const pass = encoder.beginComputePass({ label: 'matmul' });
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          for (let r = 0; r < repeats; r++) pass.dispatchWorkgroups(rect.w, rect.h);
          pass.end();
          return encoder.finish();
        },
        read: () => readBack(device, cBuffer, outBytes),
        destroy,
      };
      return prepared;
    });
  } catch (error) {
    destroy();
    throw error;
  }
}

/** C = A·B on the device, in slices; rejects with KernelError (ABORTED once `signal` fires). */
export async function runMatmul(gpu: KernelDevice, dims: MatmulDims, a: Float32Array, b: Float32Array, options: MatmulRunOptions = {}): Promise<Float32Array> {
  const { device } = gpu;
  checkSizes(dims, a, b);
  throwIfAborted(options.signal);
  let prepared: PreparedMatmul | null = null;
  try {
    const preparing = prepareMatmul(gpu, dims, a, b, options.config);
    try {
      prepared = await abortable(preparing, options.signal);
    } catch (error) {
      // Stopped while compiling or uploading: release what the preparation still makes.
      preparing.then((p) => p.destroy(), () => undefined);
      throw error;
    }
    const p = prepared;
    const planner = new SlicePlanner(gpu, `matmul ${p.config}`, {
      ...(options.sliceBudget !== undefined ? { fixed: Math.max(1, Math.floor(options.sliceBudget / p.blockMacs)) } : {}),
      ...(options.sliceMs !== undefined ? { targetMs: options.sliceMs } : {}),
      initial: Math.max(1, Math.floor(INITIAL_SLICE_MACS / p.blockMacs)),
      min: 1,
      max: p.grid.x * p.grid.y,
    });
    const total = p.grid.x * p.grid.y;
    let done = 0;
    let x = 0;
    let y = 0;
    await runSlices(device, planner, {
      signal: options.signal,
      submit: async (units) => {
        if (y >= p.grid.y) return 0;
        const rect = nextRect(p.grid.x, p.grid.y, x, y, units);
        await withErrorScopes(device, () => device.queue.submit([p.encode(rect)]));
        x = rect.x0 + rect.w;
        y = rect.y0 + rect.h - 1;
        if (x >= p.grid.x) {
          x = 0;
          y += 1;
        }
        return rect.w * rect.h;
      },
      onDone: (blocks) => {
        done += blocks;
        options.onProgress?.(done, total);
      },
    });
    return await p.read();
  } catch (error) {
    if (error instanceof KernelError) throw error;
    throw new KernelError(`matmul failed on the GPU: ${describeError(error)}`, 'INTERNAL');
  } finally {
    prepared?.destroy();
  }
}

export interface MatmulTiming {
  /** Median wall time of one product, ms. */
  ms: number;
  gflops: number;
  /** Products per timed batch, batches timed. */
  repeats: number;
  batches: number;
}

/**
 * Times the product alone (inputs already on the GPU, no readback): one warm-up, then `batches`
 * batches of back-to-back whole-grid dispatches in one submission each, sized to take about
 * `batchMs`; the median batch divided by its size. Used by the benchmark and `bench kernels`.
 */
export async function timeMatmul(
  gpu: KernelDevice,
  dims: MatmulDims,
  a: Float32Array,
  b: Float32Array,
  opts: { config?: MatmulConfigName; batches?: number; batchMs?: number; maxRepeats?: number; read?: boolean } = {},
): Promise<MatmulTiming & { config: MatmulConfigName; c?: Float32Array }> {
  const { device } = gpu;
  const p = await prepareMatmul(gpu, dims, a, b, opts.config);
  try {
    const warm = await submitAndWait(device, [p.encode()]);
    const second = await submitAndWait(device, [p.encode()]);
    const single = Math.max(1e-3, Math.min(warm, second));
    const repeats = Math.max(1, Math.min(opts.maxRepeats ?? 200, Math.round((opts.batchMs ?? 100) / single)));
    const times: number[] = [];
    for (let i = 0; i < (opts.batches ?? 3); i++) times.push((await submitAndWait(device, [p.encode(undefined, repeats)])) / repeats);
    times.sort((x, y) => x - y);
    const ms = times[Math.floor(times.length / 2)]!;
    const timing = { config: p.config, ms, gflops: (2 * dims.m * dims.n * dims.k) / ms / 1e6, repeats, batches: times.length };
    return opts.read ? { ...timing, c: await p.read() } : timing;
  } finally {
    p.destroy();
  }
}
