/**
 * The Dawn compute host on a real WebGPU device (SwiftShader on machines without a GPU).
 * No adapter at all fails these tests with describeMissingWebGpu()'s instructions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bytesToF32, f16ToF32, f32ToBase64, f32ToF16 } from '../../protocol/binary.js';
import type { Task } from '../../protocol/index.js';
import { TaskSchema } from '../../protocol/http.js';
import { hashsearchReference, verifyHashsearch } from '../../kernels/hashsearch/index.js';
import { matmulReference, verifyMatmul } from '../../kernels/matmul/index.js';
import { decodeHashsearchOutput } from '../../jobs/hashsearch.js';
import { HashsearchOutputSchema } from '../../protocol/kinds/hashsearch.js';
import { KernelError } from '../../kernels/types.js';
import { checkRenderChunks, openedPixels, renderReference, skyScene, verifyRender } from '../../kernels/render/index.js';
import { decodeRenderOutput } from '../../jobs/render.js';
import { RenderOutputSchema } from '../../protocol/kinds/render.js';
import { createDawnHost, hostForTests, NoWebGpuError } from './dawn.js';
import type { ComputeHost } from './compute-host.js';

function matrix(count: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

let nextId = 0;
function matmulTask(m: number, k: number, n: number, seed = 1) {
  const a = matrix(m * k, seed);
  const b = matrix(k * n, seed + 1);
  const task = TaskSchema.parse({
    id: `t-${++nextId}`,
    kind: 'matmul',
    reward: '1000',
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    params: { m, n, k },
    inputs: { a: f32ToBase64(a), b: f32ToBase64(b) },
  });
  if (task.kind !== 'matmul') throw new Error('unreachable');
  return { task, a, b, dims: { m, n, k } };
}

function hashsearchTask(start: bigint, count: number, header = '00112233445566778899aabbccddeeff') {
  const task = TaskSchema.parse({
    id: `h-${++nextId}`,
    kind: 'hashsearch',
    reward: '1000',
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    params: { header, target: `01${'f'.repeat(62)}`, start: String(start), count },
    inputs: {},
  });
  if (task.kind !== 'hashsearch') throw new Error('unreachable');
  return { task, spec: { header, target: task.params.target, start, count } };
}

/** Parses a host's hashsearch output with the protocol schema and checks it against the reference. */
function assertHashsearchOutput(output: Record<string, unknown>, job: ReturnType<typeof hashsearchTask>): void {
  const parsed = HashsearchOutputSchema.parse(output);
  const result = decodeHashsearchOutput(parsed);
  assert.deepEqual(result, hashsearchReference(job.spec));
  assert.deepEqual(verifyHashsearch(job.spec, result), { ok: true });
}

/** Decodes a host's output and checks it against the CPU reference (Freivalds and elementwise). */
function assertMatmulOutput(output: Record<string, unknown>, job: ReturnType<typeof matmulTask>): void {
  assert.deepEqual(Object.keys(output), ['c']);
  // C as its raw bytes, the form it is saved and sent in.
  assert.ok(output.c instanceof Uint8Array);
  const c = bytesToF32(output.c);
  assert.equal(c.length, job.dims.m * job.dims.n);
  assert.deepEqual(verifyMatmul(job.dims, job.a, job.b, c), { ok: true });
  const ref = matmulReference(job.dims, job.a, job.b);
  for (let i = 0; i < c.length; i++) assert.ok(Math.abs(c[i]! - ref[i]!) <= 1e-4 * (1 + Math.abs(ref[i]!)), `element ${i}`);
}

async function assertKernelError(promise: Promise<unknown>, code: KernelError['code']): Promise<KernelError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    assert.ok(error instanceof KernelError, `expected a KernelError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return true;
  });
  return caught as KernelError;
}

/**
 * An AbortSignal stand-in that never aborts but calls `onRead` each time the kernel checks it
 * (before each slice): a deterministic way to act between slices.
 */
function probeSignal(onRead: (reads: number) => void): AbortSignal {
  let reads = 0;
  return {
    get aborted() {
      onRead(++reads);
      return false;
    },
    reason: undefined,
    addEventListener() {},
    removeEventListener() {},
    throwIfAborted() {},
  } as unknown as AbortSignal;
}

describe('createDawnHost', () => {
  let host: ComputeHost;

  before(async () => {
    try {
      // One block (or one workgroup of nonces) per submission, so device loss can land between slices.
      host = await createDawnHost({ sliceBudget: 1, hashsearchSliceBudget: 1 });
    } catch (error) {
      if (error instanceof NoWebGpuError) throw new Error(error.message);
      throw error;
    }
  });
  after(() => host?.close());

  test('reports its adapter', () => {
    assert.equal(typeof host.adapter.vendor, 'string');
    assert.equal(typeof host.adapter.software, 'boolean');
    assert.ok(host.adapter.vendor || host.adapter.description || host.adapter.architecture, 'the adapter has some name');
  });

  test('runs a matmul task and the output decodes to the reference', async () => {
    const job = matmulTask(40, 30, 20);
    assertMatmulOutput(await host.run(job.task), job);
    const one = matmulTask(1, 1, 1, 9);
    assertMatmulOutput(await host.run(one.task), one);
  });

  test('runs concurrent calls one after another, all correct', async () => {
    const jobs = [matmulTask(33, 17, 9, 3), matmulTask(5, 60, 70, 4), matmulTask(64, 8, 64, 5)];
    const outputs = await Promise.all(jobs.map((job) => host.run(job.task)));
    outputs.forEach((output, i) => assertMatmulOutput(output, jobs[i]!));
  });

  test('a device destroyed between slices fails that run with DEVICE_LOST; the next run gets a new device', async () => {
    const before = hostForTests.device(host);
    assert.ok(before, 'the host has a device');
    const job = matmulTask(100, 100, 100, 11);
    // Reads: the host's check, runMatmul's start, then one per slice: destroy before slice 3.
    const signal = probeSignal((reads) => {
      if (reads === 4) before.destroy();
    });
    const error = await assertKernelError(host.run(job.task, signal), 'DEVICE_LOST');
    assert.match(error.message, /lost/);

    const next = matmulTask(50, 40, 30, 12);
    assertMatmulOutput(await host.run(next.task), next);
    const after = hostForTests.device(host);
    assert.ok(after && after !== before, 'a fresh device');
  });

  test('a device destroyed from a timer mid-task fails that run with DEVICE_LOST; the next run succeeds', async () => {
    const device = hostForTests.device(host);
    assert.ok(device);
    const job = matmulTask(128, 64, 64, 13);
    const running = host.run(job.task);
    setTimeout(() => device.destroy(), 0);
    await assertKernelError(running, 'DEVICE_LOST');
    const next = matmulTask(20, 20, 20, 14);
    assertMatmulOutput(await host.run(next.task), next);
    assert.notEqual(hostForTests.device(host), device);
  });

  test('a device lost while idle is replaced before the next run', async () => {
    const device = hostForTests.device(host);
    assert.ok(device);
    device.destroy();
    await device.lost;
    const job = matmulTask(17, 33, 15, 15);
    assertMatmulOutput(await host.run(job.task), job);
    assert.notEqual(hostForTests.device(host), device);
  });

  test('abort: an aborted signal and one fired between slices reject with ABORTED; the device stays', async () => {
    const device = hostForTests.device(host);
    const job = matmulTask(96, 16, 16, 16);
    await assertKernelError(host.run(job.task, AbortSignal.abort()), 'ABORTED');
    // A real controller, fired from inside the kernel's check before its second slice.
    const controller = new AbortController();
    let reads = 0;
    const firing = {
      get aborted() {
        if (++reads === 3) controller.abort();
        return controller.signal.aborted;
      },
    } as unknown as AbortSignal;
    await assertKernelError(host.run(job.task, firing), 'ABORTED');
    assertMatmulOutput(await host.run(job.task), job);
    assert.equal(hostForTests.device(host), device, 'no new device after an abort');
  });

  test('runs hashsearch tasks: wire output that parses, matches the reference and verifies', async () => {
    const job = hashsearchTask(5000n, 2500);
    assertHashsearchOutput(await host.run(job.task), job);
    const top = hashsearchTask(2n ** 64n - 1500n, 1500);
    assertHashsearchOutput(await host.run(top.task), top);
  });

  test('a device destroyed in the middle of a hashsearch fails it with DEVICE_LOST; the next task succeeds', async () => {
    const before = hostForTests.device(host);
    assert.ok(before);
    const job = hashsearchTask(0n, 8192);
    // Reads: the host's check, runHashsearch's start, then one per slice: destroy before slice 3.
    const signal = probeSignal((reads) => {
      if (reads === 4) before.destroy();
    });
    await assertKernelError(host.run(job.task, signal), 'DEVICE_LOST');
    const next = hashsearchTask(100n, 2000);
    assertHashsearchOutput(await host.run(next.task), next);
    assert.notEqual(hostForTests.device(host), before, 'a fresh device');
    // And a matmul on the new device.
    const mm = matmulTask(20, 30, 10, 22);
    assertMatmulOutput(await host.run(mm.task), mm);
  });

  test('an unknown kind is refused with INTERNAL', async () => {
    const { task } = matmulTask(2, 2, 2);
    const error = await assertKernelError(host.run({ ...task, kind: 'sort' } as unknown as Task), 'INTERNAL');
    assert.match(error.message, /sort/);
  });

  test('runs a render task: wire output (f16 bytes and chunk sums) that parses, equals the CPU reference rounded to f16 and passes the hub checks', async () => {
    const params = { width: 96, height: 64, x: 16, y: 8, w: 64, h: 48, sampleStart: 1, sampleCount: 2, seed: 31, flopsPerSample: 1000 };
    const task = TaskSchema.parse({ id: 'task_render', kind: 'render', reward: '1', leaseExpiresAt: '2030-01-01T00:00:00.000Z', params, inputs: { scene: skyScene() } });
    assert.equal(task.kind, 'render');
    if (task.kind !== 'render') return;
    const output = RenderOutputSchema.parse(await host.run(task));
    assert.ok(output.rgbHalfChunks instanceof Uint8Array, 'the tile comes back as its f16 bytes and chunk sums');
    const { rgb, encoding, chunked } = decodeRenderOutput(task.params, output);
    assert.equal(encoding, 'f16');
    assert.deepEqual(rgb, f16ToF32(f32ToF16(renderReference(task.inputs.scene, task.params))));
    assert.deepEqual(verifyRender(task.inputs.scene, task.params, rgb, Math.random, encoding), { ok: true });
    assert.ok(chunked);
    const opened = await openedPixels(task.params, chunked.half);
    assert.deepEqual(checkRenderChunks(task.inputs.scene, task.params, rgb, chunked.sums, opened, { random: Math.random }).verdict, { ok: true });
  });

  test('benchmark(): a score with every number, on the host device', async () => {
    assert.ok(host.benchmark, 'the Dawn host benchmarks');
    const score = await host.benchmark();
    assert.ok(score.gflops > 0 && Number.isFinite(score.gflops), `gflops ${score.gflops}`);
    assert.ok(score.mhs > 0 && Number.isFinite(score.mhs), `mhs ${score.mhs}`);
    assert.ok(score.renderGflops !== undefined && score.renderGflops > 0 && Number.isFinite(score.renderGflops), `renderGflops ${score.renderGflops}`);
  });

  test('inputs that do not fit the params are refused with VALIDATION', async () => {
    const { task } = matmulTask(4, 4, 4);
    const other = matmulTask(4, 5, 4);
    await assertKernelError(host.run({ ...task, inputs: { a: other.task.inputs.a, b: task.inputs.b } }), 'VALIDATION');
    // And the host keeps working.
    const job = matmulTask(4, 4, 4, 21);
    assertMatmulOutput(await host.run(job.task), job);
  });
});

describe('createDawnHost lifecycle', () => {
  test('close() releases the device; later runs are refused; close twice is fine', async () => {
    const host = await createDawnHost();
    const job = matmulTask(8, 8, 8);
    assertMatmulOutput(await host.run(job.task), job);
    const device = hostForTests.device(host);
    assert.ok(device);
    await host.close();
    assert.equal(hostForTests.device(host), null);
    const info = await device.lost;
    assert.equal(info.reason, 'destroyed');
    await assertKernelError(host.run(job.task), 'INTERNAL');
    await host.close();
  });

  test('no adapter: createDawnHost rejects with NoWebGpuError and instructions', async () => {
    await assert.rejects(createDawnHost({ open: async () => null }), (error: unknown) => {
      assert.ok(error instanceof NoWebGpuError);
      assert.match(error.message, /No WebGPU adapter found/);
      return true;
    });
  });
});
