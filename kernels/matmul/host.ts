/** Dispatches the matmul shader on any GPUDevice (Dawn in Node, or a browser page). */
import { BufferUsage, readBack, storageBuffer, throwIfAborted, withErrorScopes } from '../gpu.js';
import { KernelError, type RunOptions } from '../types.js';
import { checkSizes, type MatmulDims } from './reference.js';
import { MATMUL_WGSL, TILE } from './shader.js';

/** Default slice: about this many multiply-adds per submission. */
export const DEFAULT_SLICE_MACS = 1 << 24;

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();

function pipelineFor(device: GPUDevice): GPUComputePipeline {
  let pipeline = pipelines.get(device);
  if (!pipeline) {
    const module = device.createShaderModule({ label: 'matmul', code: MATMUL_WGSL });
    pipeline = device.createComputePipeline({ label: 'matmul', layout: 'auto', compute: { module, entryPoint: 'main' } });
    pipelines.set(device, pipeline);
  }
  return pipeline;
}

/** Rows of C per slice: a multiple of the tile, at least one tile. */
export function rowsPerSlice({ n, k }: Pick<MatmulDims, 'n' | 'k'>, sliceMacs: number): number {
  const rows = Math.floor(sliceMacs / Math.max(1, n * k));
  return Math.max(TILE, Math.floor(rows / TILE) * TILE);
}

export async function runMatmul(
  device: GPUDevice,
  dims: MatmulDims,
  a: Float32Array,
  b: Float32Array,
  options: RunOptions = {},
): Promise<Float32Array> {
  checkSizes(dims, a, b);
  const { m, n, k } = dims;
  throwIfAborted(options.signal);
  const outBytes = 4 * m * n;
  const buffers: GPUBuffer[] = [];
  try {
    const { uniform, bindGroup, pipeline, cBuffer } = await withErrorScopes(device, () => {
      const pipeline = pipelineFor(device);
      const aBuffer = storageBuffer(device, a, 'matmul a');
      const bBuffer = storageBuffer(device, b, 'matmul b');
      const cBuffer = device.createBuffer({ label: 'matmul c', size: outBytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC });
      const uniform = device.createBuffer({ label: 'matmul dims', size: 16, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
      buffers.push(aBuffer, bBuffer, cBuffer, uniform);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniform } },
          { binding: 1, resource: { buffer: aBuffer } },
          { binding: 2, resource: { buffer: bBuffer } },
          { binding: 3, resource: { buffer: cBuffer } },
        ],
      });
      return { uniform, bindGroup, pipeline, cBuffer };
    });

    const step = rowsPerSlice(dims, options.sliceBudget ?? DEFAULT_SLICE_MACS);
    const groupsX = Math.ceil(n / TILE);
    for (let row0 = 0; row0 < m; row0 += step) {
      throwIfAborted(options.signal);
      const rows = Math.min(step, m - row0);
      await withErrorScopes(device, () => {
        device.queue.writeBuffer(uniform, 0, new Uint32Array([m, n, k, row0]));
        const encoder = device.createCommandEncoder({ label: 'matmul slice' });
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(groupsX, Math.ceil(rows / TILE));
        pass.end();
        device.queue.submit([encoder.finish()]);
      });
      await device.queue.onSubmittedWorkDone();
    }
    throwIfAborted(options.signal);
    return await readBack(device, cBuffer, outBytes);
  } catch (error) {
    if (error instanceof KernelError) throw error;
    throw new KernelError(`matmul failed on the GPU: ${describeError(error)}`, 'INTERNAL');
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}

/** Dawn rejects with DOMExceptions whose message may be empty (an AbortError after a device loss). */
function describeError(error: unknown): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'name' in error)) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message.trim() : '';
    const label = typeof name === 'string' && name ? name : 'Error';
    return text ? `${label}: ${text}` : `${label} (no message)`;
  }
  return String(error);
}
