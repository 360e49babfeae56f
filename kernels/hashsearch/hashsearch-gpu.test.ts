/**
 * hashsearch on a real WebGPU device (Dawn; SwiftShader on machines without a GPU), against the
 * CPU reference and a range with a known answer. No adapter fails these tests with
 * describeMissingWebGpu()'s instructions.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { describeMissingWebGpu, openNodeGpu } from '../../worker/compute/webgpu-node.js';
import { KernelDevice } from '../device.js';
import { requestComputeDevice } from '../gpu.js';
import { KernelError } from '../types.js';
import {
  FOUND_CAPACITY,
  hashsearchReference,
  NONCES_PER_WORKGROUP,
  planHashsearch,
  runHashsearch,
  sha256Compress,
  tailBlocks,
  verifyHashsearch,
  type HashsearchSpec,
} from './index.js';

const headerOf = (length: number, seed = 7): string => Array.from({ length }, (_, i) => ((i * 37 + seed) & 255).toString(16).padStart(2, '0')).join('');

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

describe('planHashsearch (CPU)', () => {
  test('the midstate and tail rebuild SHA-256 of header ‖ nonce', () => {
    for (const length of [0, 5, 47, 48, 56, 60, 63, 64, 80, 130]) {
      const spec = { header: headerOf(length), target: 'f'.repeat(64), start: 0n, count: 1 };
      const plan = planHashsearch(spec);
      assert.equal(plan.offset, length % 64);
      assert.equal(plan.blocks, tailBlocks(plan.offset));
      assert.equal(plan.blocks, length % 64 <= 47 ? 1 : 2, `length ${length}`);
      // With a zero nonce the tail is the rest of the padded message: finishing it gives the hash.
      const state = Uint32Array.from(plan.midstate);
      for (let b = 0; b < plan.blocks; b++) sha256Compress(state, plan.tail.subarray(16 * b, 16 * b + 16));
      const expected = createHash('sha256').update(Buffer.concat([Buffer.from(spec.header, 'hex'), Buffer.alloc(8)])).digest('hex');
      assert.equal(Array.from(state, (w) => w.toString(16).padStart(8, '0')).join(''), expected, `length ${length}`);
    }
  });

  test('bad ranges and targets are refused', () => {
    assert.throws(() => planHashsearch({ header: '', target: 'f'.repeat(63), start: 0n, count: 1 }), RangeError);
    assert.throws(() => planHashsearch({ header: '', target: 'f'.repeat(64), start: 0n, count: 0 }), RangeError);
    assert.throws(() => planHashsearch({ header: '', target: 'f'.repeat(64), start: (1n << 64n) - 1n, count: 2 }), RangeError);
  });
});

describe('runHashsearch on WebGPU', () => {
  let device: KernelDevice;

  before(async () => {
    const gpu = await openNodeGpu();
    if (!gpu) throw new Error(describeMissingWebGpu());
    device = new KernelDevice(await requestComputeDevice(gpu.adapter));
  });
  after(() => device?.device.destroy());

  test('a range with a known answer (nonces checked with node:crypto once, written here)', async () => {
    const spec: HashsearchSpec = {
      header: Buffer.from('Idleforge block 1', 'utf8').toString('hex'),
      target: `0001${'f'.repeat(60)}`,
      start: 123456789000n,
      count: 150000,
    };
    const result = await runHashsearch(device, spec);
    assert.deepEqual(result.nonces, [123456791149n, 123456864209n, 123456901478n, 123456933699n]);
    assert.deepEqual(result.best, { nonce: 123456791149n, hash: '0000acfe8423207292d983d68cdde4153741432dcc35b2b87c6c566a72729b7b' });
    assert.deepEqual(verifyHashsearch(spec, result), { ok: true });
  });

  // Header lengths: short; the longest whose tail is one block; a nonce across two blocks;
  // a whole block before the nonce (midstate).
  const cases: Array<[string, HashsearchSpec]> = [
    ['5-byte header', { header: headerOf(5), target: `02${'f'.repeat(62)}`, start: 1000n, count: 3000 }],
    ['47-byte header (tail of one block)', { header: headerOf(47, 3), target: `02${'f'.repeat(62)}`, start: 0n, count: 2500 }],
    ['60-byte header (nonce across two blocks)', { header: headerOf(60, 5), target: `02${'f'.repeat(62)}`, start: 2n ** 32n - 1200n, count: 2400 }],
    ['80-byte header (midstate), the top of the 64-bit range', { header: headerOf(80, 9), target: `02${'f'.repeat(62)}`, start: 2n ** 64n - 2100n, count: 2100 }],
  ];
  for (const [name, spec] of cases) {
    test(`matches the CPU reference: ${name}`, async () => {
      const result = await runHashsearch(device, spec);
      const reference = hashsearchReference(spec);
      assert.deepEqual(result, reference);
      assert.ok(result.nonces.length > 0, 'the case has matches');
    });
  }

  test('one nonce; no match; an all-ones target matches everything', async () => {
    // The 5-byte header of the first case: its shader is compiled already.
    const one = { header: headerOf(5), target: '0'.repeat(64), start: 42n, count: 1 };
    assert.deepEqual(await runHashsearch(device, one), hashsearchReference(one));
    const all = { header: headerOf(5), target: 'f'.repeat(64), start: 7n, count: 300 };
    const result = await runHashsearch(device, all);
    assert.deepEqual(result.nonces, Array.from({ length: 300 }, (_, i) => 7n + BigInt(i)));
    assert.deepEqual(result, hashsearchReference(all));
  });

  test('sliced into single workgroups, the same answer', async () => {
    const [, spec] = cases[0]!;
    const progress: number[] = [];
    const result = await runHashsearch(device, spec, { sliceBudget: 1, onProgress: (done) => progress.push(done) });
    assert.deepEqual(result, hashsearchReference(spec));
    assert.equal(progress.length, Math.ceil(spec.count / NONCES_PER_WORKGROUP));
    assert.equal(progress.at(-1), spec.count);
  });

  test('aborted before and between slices: ABORTED', async () => {
    const [, spec] = cases[0]!;
    await assertKernelError(runHashsearch(device, spec, { signal: AbortSignal.abort() }), 'ABORTED');
    const controller = new AbortController();
    await assertKernelError(
      runHashsearch(device, spec, { signal: controller.signal, sliceBudget: 1, onProgress: () => controller.abort() }),
      'ABORTED',
    );
  });

  test('more matches than one result may hold: VALIDATION', async () => {
    const spec = { header: headerOf(5), target: 'f'.repeat(64), start: 0n, count: FOUND_CAPACITY + 100 };
    const error = await assertKernelError(runHashsearch(device, spec), 'VALIDATION');
    assert.match(error.message, /too easy/);
  });
});
