/**
 * Dispatches the hashsearch shader on any GPUDevice. The range is cut into slices (one GPU
 * submission each) sized from the device's measured hash rate; matches and best-hash
 * candidates accumulate on the GPU across slices and are read back once at the end.
 */
import { abortable, BufferUsage, cachedPipeline, describeError, now, readBackBytes, throwIfAborted, withErrorScopes } from '../gpu.js';
import type { KernelDevice } from '../device.js';
import { runSlices, SlicePlanner } from '../slices.js';
import { KernelError, type RunOptions } from '../types.js';
import type { HashsearchResult, HashsearchSpec } from './reference.js';
import { hexToBytes, sha256Compress, sha256Pad, SHA256_INIT } from './sha256.js';
import {
  CANDIDATE_CAPACITY,
  CANDIDATE_WORDS,
  COUNTERS,
  FOUND_CAPACITY,
  hashsearchWgsl,
  NONCES_PER_WORKGROUP,
  PARAMS_BYTES,
  tailBlocks,
} from './shader.js';

/** Nonces of the first slice on a device whose hash rate is not known yet (~10 ms on SwiftShader). */
export const INITIAL_SLICE_NONCES = 1 << 14;
/** Most nonces in one slice (a u32 count, and far beyond 100 ms on any GPU today). */
export const MAX_SLICE_NONCES = 2 ** 31;
/** Most workgroups along x in one dispatch (WebGPU guarantees 65535). */
const MAX_GROUPS_X = 32768;

const U64_MAX = (1n << 64n) - 1n;

/** What the shader needs of a spec: midstate, tail template, target words, nonce offset. */
export interface HashsearchPlan {
  offset: number;
  blocks: number;
  midstate: Uint32Array;
  tail: Uint32Array;
  target: Uint32Array;
}

export function planHashsearch(spec: HashsearchSpec): HashsearchPlan {
  if (!/^[0-9a-fA-F]{64}$/.test(spec.target)) throw new RangeError('target must be 64 hex digits');
  if (!Number.isSafeInteger(spec.count) || spec.count < 1) throw new RangeError('count must be a whole number ≥ 1');
  if (spec.start < 0n || spec.start + BigInt(spec.count) - 1n > U64_MAX) throw new RangeError('the nonce range must fit in 64 bits');
  const header = hexToBytes(spec.header);
  // The padded message with the nonce bytes left zero.
  const message = new Uint8Array(header.length + 8);
  message.set(header);
  const padded = sha256Pad(message);
  const view = new DataView(padded.buffer);
  const full = Math.floor(header.length / 64);
  const midstate = Uint32Array.from(SHA256_INIT);
  const block = new Uint32Array(16);
  for (let bIndex = 0; bIndex < full; bIndex++) {
    for (let t = 0; t < 16; t++) block[t] = view.getUint32(64 * bIndex + 4 * t, false);
    sha256Compress(midstate, block);
  }
  const offset = header.length % 64;
  const blocks = tailBlocks(offset);
  if (padded.length !== 64 * (full + blocks)) throw new Error('internal: unexpected padded length');
  const tail = new Uint32Array(32);
  for (let t = 0; t < 16 * blocks; t++) tail[t] = view.getUint32(64 * full + 4 * t, false);
  const target = new Uint32Array(8);
  for (let i = 0; i < 8; i++) target[i] = parseInt(spec.target.slice(8 * i, 8 * i + 8), 16);
  return { offset, blocks, midstate, tail, target };
}

/** The compiled pipeline for nonces at byte `offset` of the tail (cached per device). */
export function hashsearchPipeline(gpu: KernelDevice, offset: number): Promise<GPUComputePipeline> {
  return cachedPipeline(gpu, `hashsearch @${offset}`, () => hashsearchWgsl(offset));
}

const hex8 = (w: number): string => (w >>> 0).toString(16).padStart(8, '0');

/** Every nonce in the spec's range whose hash is at or under the target (ascending), and best. */
export async function runHashsearch(gpu: KernelDevice, spec: HashsearchSpec, options: RunOptions = {}): Promise<HashsearchResult> {
  const { device } = gpu;
  const plan = planHashsearch(spec);
  throwIfAborted(options.signal);
  const buffers: GPUBuffer[] = [];
  try {
    const pipeline = await abortable(hashsearchPipeline(gpu, plan.offset), options.signal);
    const { uniform, counters, found, candidates, bindGroup } = await withErrorScopes(device, () => {
      const make = (label: string, size: number, usage: number): GPUBuffer => {
        const buffer = device.createBuffer({ label, size, usage });
        buffers.push(buffer);
        return buffer;
      };
      const uniform = make('hashsearch params', PARAMS_BYTES, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
      const counters = make('hashsearch counters', 4 * COUNTERS, BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC);
      const found = make('hashsearch found', 8 * FOUND_CAPACITY, BufferUsage.STORAGE | BufferUsage.COPY_SRC);
      const candidates = make('hashsearch candidates', 4 * CANDIDATE_WORDS * CANDIDATE_CAPACITY, BufferUsage.STORAGE | BufferUsage.COPY_SRC);
      device.queue.writeBuffer(counters, 0, new Uint32Array([0, 0xffffffff, 0, 0]));
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniform } },
          { binding: 1, resource: { buffer: counters } },
          { binding: 2, resource: { buffer: found } },
          { binding: 3, resource: { buffer: candidates } },
        ],
      });
      return { uniform, counters, found, candidates, bindGroup };
    });

    const params = new Uint32Array(PARAMS_BYTES / 4);
    params.set(plan.midstate, 4);
    params.set(plan.target, 12);
    params.set(plan.tail, 20);
    const planner = new SlicePlanner(gpu, 'hashsearch', {
      ...(options.sliceBudget !== undefined ? { fixed: options.sliceBudget } : {}),
      ...(options.sliceMs !== undefined ? { targetMs: options.sliceMs } : {}),
      initial: INITIAL_SLICE_NONCES,
      min: NONCES_PER_WORKGROUP,
      max: MAX_SLICE_NONCES,
    });
    let submitted = 0;
    let done = 0;
    await runSlices(device, planner, {
      signal: options.signal,
      submit: async (units) => {
        if (submitted >= spec.count) return 0;
        // Whole workgroups per slice, except the last.
        const wanted = Math.floor(units / NONCES_PER_WORKGROUP) * NONCES_PER_WORKGROUP;
        const count = Math.min(spec.count - submitted, Math.max(NONCES_PER_WORKGROUP, wanted));
        const start = spec.start + BigInt(submitted);
        const groups = Math.ceil(count / NONCES_PER_WORKGROUP);
        const groupsX = Math.min(groups, MAX_GROUPS_X);
        const groupsY = Math.ceil(groups / groupsX);
        params[0] = Number(start & 0xffffffffn);
        params[1] = Number(start >> 32n);
        params[2] = count;
        params[3] = groupsX;
        await withErrorScopes(device, () => {
          // Copied at once and applied in queue order: the slice queued before keeps its own.
          device.queue.writeBuffer(uniform, 0, params);
          const encoder = device.createCommandEncoder({ label: 'hashsearch slice' });
          const pass = encoder.beginComputePass({ label: 'hashsearch' });
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(groupsX, groupsY);
          pass.end();
          device.queue.submit([encoder.finish()]);
        });
        submitted += count;
        return count;
      },
      onDone: (count) => {
        done += count;
        options.onProgress?.(done, spec.count);
      },
    });

    const counts = new Uint32Array(await readBackBytes(device, counters, 4 * COUNTERS));
    const matches = counts[0]!;
    const offered = counts[2]!;
    if (matches > FOUND_CAPACITY) {
      throw new KernelError(`${matches} nonces are under the target, more than the ${FOUND_CAPACITY} one result may hold: the target is too easy`, 'VALIDATION');
    }
    if (offered > CANDIDATE_CAPACITY) throw new KernelError(`too many best-hash candidates (${offered}); the result cannot be trusted`, 'INTERNAL');
    const nonces: bigint[] = [];
    if (matches > 0) {
      const words = new Uint32Array(await readBackBytes(device, found, 8 * matches));
      for (let i = 0; i < matches; i++) nonces.push(BigInt(words[2 * i]!) | (BigInt(words[2 * i + 1]!) << 32n));
      nonces.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    }
    const cand = new Uint32Array(await readBackBytes(device, candidates, 4 * CANDIDATE_WORDS * Math.max(1, offered)));
    let best: { nonce: bigint; hash: string } | null = null;
    for (let i = 0; i < offered; i++) {
      const base = i * CANDIDATE_WORDS;
      const nonce = BigInt(cand[base]!) | (BigInt(cand[base + 1]!) << 32n);
      let hash = '';
      for (let w = 0; w < 8; w++) hash += hex8(cand[base + 2 + w]!);
      if (best === null || hash < best.hash || (hash === best.hash && nonce < best.nonce)) best = { nonce, hash };
    }
    if (best === null) throw new KernelError('the GPU reported no hash at all', 'INTERNAL');
    return { nonces, best };
  } catch (error) {
    if (error instanceof KernelError) throw error;
    throw new KernelError(`hashsearch failed on the GPU: ${describeError(error)}`, 'INTERNAL');
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}

/** The header the speed measurements hash: 80 bytes, as a chain's block header would be. */
export const TIMING_HEADER = Array.from({ length: 80 }, (_, i) => ((i * 29 + 3) & 255).toString(16).padStart(2, '0')).join('');

/**
 * The kernel's speed: ranges with no match (target 0) of growing size (×8) until one takes at
 * least a quarter of `targetMs`, then one sized to take about `targetMs`, all before `deadline`
 * (a performance.now() time) when given. Each run is sliced as tasks are, so every submission
 * stays short. MH/s = nonces / wall time of the last run.
 */
export async function timeHashsearch(
  gpu: KernelDevice,
  opts: { targetMs: number; deadline?: number; signal?: AbortSignal },
): Promise<{ mhs: number; nonces: number; ms: number }> {
  let start = 1n << 40n;
  const run = async (count: number): Promise<number> => {
    const began = now();
    await runHashsearch(gpu, { header: TIMING_HEADER, target: '0'.repeat(64), start, count }, opts.signal ? { signal: opts.signal } : {});
    start += BigInt(count);
    return now() - began;
  };
  const fits = (ms: number): boolean => opts.deadline === undefined || now() + ms < opts.deadline;
  // Compiling is not hashing.
  await hashsearchPipeline(gpu, planHashsearch({ header: TIMING_HEADER, target: '0'.repeat(64), start, count: 1 }).offset);
  let count = 1 << 16;
  let ms = await run(count);
  while (ms < opts.targetMs / 4 && count < 2 ** 44 && fits(8 * ms)) {
    count *= 8;
    ms = await run(count);
  }
  const sized = Math.floor((count / ms) * opts.targetMs);
  if (ms < opts.targetMs / 2 && sized > count && fits(opts.targetMs)) {
    count = Math.min(sized, 2 ** 46);
    ms = await run(count);
  }
  return { mhs: count / ms / 1000, nonces: count, ms };
}
