/**
 * matmul: the CPU reference and the verifier (pure CPU), and the WGSL kernel on a real WebGPU
 * device (Dawn; SwiftShader on machines without a GPU). No adapter at all fails the GPU tests
 * with the instructions of describeMissingWebGpu(); it never skips them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeMissingWebGpu, openNodeGpu } from '../../worker/compute/webgpu-node.js';
import { KernelError } from '../types.js';
import { KernelDevice } from '../device.js';
import { requestComputeDevice } from '../gpu.js';
import { measuredRate, QUIET_WAIT_SHARE, recordRate, runSlices, SlicePlanner } from '../slices.js';
import {
  blockShape,
  checkSizes,
  configFits,
  INITIAL_SLICE_MACS,
  MATMUL_CONFIGS,
  matmulConfigFor,
  matmulReference,
  matmulWgsl,
  matmulWorkUnits,
  nextRect,
  runMatmul,
  setMatmulChoices,
  setMatmulConfig,
  tuneMatmul,
  verifyMatmul,
  type MatmulConfigName,
  type MatmulDims,
} from './index.js';

// ---- helpers ---------------------------------------------------------------------------------

/** Small seeded PRNG (mulberry32), so a failing shape can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomMatrix(count: number, next: () => number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (2 * next() - 1) * scale;
  return out;
}

function inputs(dims: MatmulDims, seed: number, scale = 1): { a: Float32Array; b: Float32Array } {
  const next = rng(seed);
  return { a: randomMatrix(dims.m * dims.k, next, scale), b: randomMatrix(dims.k * dims.n, next, scale) };
}

/**
 * Asserts |c − A·B| ≤ (k+1)·2⁻²⁴·(|A|·|B|) element by element: the worst-case rounding of an f32
 * dot product of length k, plus the reference's own final rounding to f32.
 */
function assertCloseToReference(dims: MatmulDims, a: Float32Array, b: Float32Array, c: Float32Array): void {
  assert.equal(c.length, dims.m * dims.n, 'result length');
  const ref = matmulReference(dims, a, b);
  const bound = matmulReference(dims, a.map(Math.abs), b.map(Math.abs));
  const unit = (dims.k + 1) * 2 ** -24;
  for (let i = 0; i < c.length; i++) {
    const err = Math.abs(c[i]! - ref[i]!);
    const tol = unit * bound[i]! + 1e-30;
    if (!(err <= tol)) {
      const row = Math.floor(i / dims.n);
      assert.fail(`${dims.m}×${dims.k}×${dims.n}: element (${row}, ${i % dims.n}) is ${c[i]}, reference ${ref[i]}, off by ${err} > ${tol}`);
    }
  }
}

async function assertKernelError(promise: Promise<unknown>, code: KernelError['code']): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof KernelError, `expected a KernelError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

const label = ({ m, n, k }: MatmulDims): string => `m=${m} k=${k} n=${n}`;

// ---- pure CPU --------------------------------------------------------------------------------

describe('matmulReference (CPU)', () => {
  test('a small product, exactly', () => {
    // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
    const c = matmulReference({ m: 2, n: 2, k: 3 }, Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(7, 8, 9, 10, 11, 12));
    assert.deepEqual([...c], [58, 64, 139, 154]);
  });

  test('identity and 1×1', () => {
    const { a } = inputs({ m: 5, n: 5, k: 5 }, 1);
    const eye = new Float32Array(25);
    for (let i = 0; i < 5; i++) eye[i * 6] = 1;
    assert.deepEqual(matmulReference({ m: 5, n: 5, k: 5 }, a, eye), a);
    assert.deepEqual(matmulReference({ m: 5, n: 5, k: 5 }, eye, a), a);
    assert.deepEqual([...matmulReference({ m: 1, n: 1, k: 1 }, Float32Array.of(3), Float32Array.of(-2))], [-6]);
  });

  test('accumulates in f64 and rounds once', () => {
    // 1 + 2⁻²⁴·4 − 1 in f32 order would lose the small terms; f64 keeps them.
    const a = Float32Array.of(1, 2 ** -24, 2 ** -24, 2 ** -24, 2 ** -24, -1);
    const b = Float32Array.of(1, 1, 1, 1, 1, 1);
    assert.equal(matmulReference({ m: 1, n: 1, k: 6 }, a, b)[0], 2 ** -22);
  });

  test('wrong sizes and bad dims are refused', () => {
    assert.throws(() => matmulReference({ m: 2, n: 2, k: 2 }, new Float32Array(3), new Float32Array(4)), RangeError);
    assert.throws(() => matmulReference({ m: 2, n: 2, k: 2 }, new Float32Array(4), new Float32Array(5)), RangeError);
    assert.throws(() => checkSizes({ m: 0, n: 1, k: 1 }, new Float32Array(0), new Float32Array(1)), RangeError);
    assert.throws(() => checkSizes({ m: 1.5, n: 1, k: 1 }, new Float32Array(1), new Float32Array(1)), RangeError);
  });

  test('work units are 2·m·n·k', () => {
    assert.equal(matmulWorkUnits({ m: 16384, n: 16384, k: 16384 }), 2n * 16384n ** 3n);
  });

  test('nextRect: whole rows of blocks when a row fits, else part of one row', () => {
    assert.deepEqual(nextRect(4, 3, 0, 0, 1), { x0: 0, y0: 0, w: 1, h: 1 });
    assert.deepEqual(nextRect(4, 3, 1, 0, 2), { x0: 1, y0: 0, w: 2, h: 1 });
    assert.deepEqual(nextRect(4, 3, 3, 0, 9), { x0: 3, y0: 0, w: 1, h: 1 }, 'the rest of a row, no wrap');
    assert.deepEqual(nextRect(4, 3, 0, 1, 9), { x0: 0, y0: 1, w: 4, h: 2 });
    assert.deepEqual(nextRect(4, 3, 0, 2, 100), { x0: 0, y0: 2, w: 4, h: 1 }, 'never past the grid');
    assert.deepEqual(nextRect(4, 3, 0, 0, 0.5), { x0: 0, y0: 0, w: 1, h: 1 }, 'at least one block');
  });

  test('every configuration generates WGSL with its sizes written once', () => {
    for (const [name, config] of Object.entries(MATMUL_CONFIGS)) {
      for (const vec4 of [false, true]) {
        const code = matmulWgsl(config, vec4);
        assert.match(code, new RegExp(`@workgroup_size\\(${config.wgX}, ${config.wgY}\\)`), name);
      }
      const { rows, cols } = blockShape(config);
      assert.ok(rows >= 1 && cols >= 1, name);
    }
    assert.throws(() => matmulWgsl({ family: 'shared', wgX: 16, wgY: 16, tm: 6, tn: 8, bk: 8 }, true), RangeError);
  });
});

describe('SlicePlanner (CPU)', () => {
  // A stand-in device: the planner keeps its rates on the KernelDevice.
  const fakeDevice = () => new KernelDevice({} as GPUDevice, false);

  test('a fixed budget is used as is, clamped to what can be dispatched', () => {
    const planner = new SlicePlanner(fakeDevice(), 'k', { fixed: 5, initial: 100, min: 1, max: 10 });
    assert.equal(planner.next(), 5);
    planner.done(5, 1000);
    assert.equal(planner.next(), 5);
    assert.equal(new SlicePlanner(fakeDevice(), 'k', { fixed: 50, initial: 1, min: 1, max: 10 }).next(), 10);
  });

  test('starts small on an unknown device, grows at most 4× a slice, then aims at the target', () => {
    const device = fakeDevice();
    const planner = new SlicePlanner(device, 'k', { initial: 100, min: 1, max: 1e12, targetMs: 50 });
    assert.equal(planner.next(), 100);
    planner.done(100, 1); // 100 units/ms: the target would be 5000, growth allows 400
    assert.equal(planner.next(), 400);
    planner.done(400, 4);
    assert.equal(planner.next(), 1600);
    planner.done(1600, 16);
    assert.equal(planner.next(), 5000, 'the target: 100 units/ms × 50 ms');
    assert.equal(measuredRate(device, 'k'), 100);
    // A new run on the same device starts at the measured speed.
    const next = new SlicePlanner(device, 'k', { initial: 100, min: 1, max: 1e12, targetMs: 50 });
    assert.equal(next.next(), 5000);
    // It slows down when the device does.
    next.done(5000, 500);
    assert.ok(next.next() < 5000 * 0.6, 'a slower slice shrinks the next one');
  });

  test('tells the least time a slice can take once the rate is known (never with a fixed budget)', () => {
    const device = fakeDevice();
    const planner = new SlicePlanner(device, 'k', { initial: 100, min: 1, max: 1e12 });
    assert.equal(planner.leastMs(100), undefined);
    planner.done(100, 2);
    assert.equal(planner.leastMs(1000), 20);
    const fixed = new SlicePlanner(device, 'k', { fixed: 5, initial: 1, min: 1, max: 10 });
    assert.equal(fixed.leastMs(5), undefined);
  });

  test('the least time follows the fastest rate seen lately: a one-off slow slice does not stretch it, a freak fast one fades', () => {
    const device = fakeDevice();
    const planner = new SlicePlanner(device, 'k', { initial: 100, min: 1, max: 1e12 });
    // The first slice pays a one-off cost (10× slower), the next runs at the device's speed.
    planner.done(100, 1000);
    planner.done(100, 100);
    assert.equal(planner.leastMs(100), 100, 'by the fast slice, not the smoothed rate');
    assert.ok(measuredRate(device, 'k')! < 1, 'while the slices are still sized by the smoothed (slower) rate');
    // A freak sample 100× too fast, then the usual speed: within 50 slices the least time is back.
    planner.done(100, 1);
    assert.equal(planner.leastMs(100), 1);
    for (let i = 0; i < 50; i++) planner.done(100, 100);
    assert.ok(Math.abs(planner.leastMs(100)! - 100) < 1, `back to about 100 ms: ${planner.leastMs(100)}`);
  });
});

describe('runSlices (a queue that says when it is asked and finishes when told)', () => {
  /**
   * A GPU queue driven by the test: `ask` records how many slices had been submitted when the
   * host asked (the question covers those), and a question is answered only by `finishNext`.
   */
  const scriptedQueue = () => {
    const log: string[] = [];
    let submitted = 0;
    let finished = 0;
    const open: { covers: number; resolve: () => void }[] = [];
    const device = {
      queue: {
        onSubmittedWorkDone: () =>
          new Promise<void>((resolve) => {
            log.push(`ask ${submitted}`);
            open.push({ covers: submitted, resolve });
          }),
      },
    } as unknown as GPUDevice;
    const submit = async (units: number): Promise<number> => {
      if (submitted === 5) return 0;
      submitted += 1;
      log.push(`submit ${submitted}`);
      return units;
    };
    /** The GPU finishes its oldest slice; answers the questions that covered no more than that. */
    const finishNext = (): void => {
      finished += 1;
      assert.ok(submitted - finished <= 1, 'at most two slices were queued');
      const answered = open.filter((q) => q.covers <= finished);
      open.splice(0, open.length, ...open.filter((q) => q.covers > finished));
      for (const q of answered) q.resolve();
    };
    const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    return { device, log, submit, finishNext, settle, submitted: () => submitted };
  };
  const fixedPlanner = (device: GPUDevice): SlicePlanner => new SlicePlanner(new KernelDevice(device, false), 'k', { fixed: 4, initial: 1, min: 1, max: 10 });

  test('queues the next slice before it waits on the one running, and asks about that one alone', async () => {
    const q = scriptedQueue();
    const done: number[] = [];
    const running = runSlices(q.device, fixedPlanner(q.device), { submit: q.submit, onDone: (u) => done.push(u) });
    for (let i = 0; i < 5; i++) {
      await q.settle();
      // Slice i+1 is running and the next one is already queued behind it (none after the last).
      assert.equal(q.submitted(), Math.min(5, i + 2), `while slice ${i + 1} runs`);
      q.finishNext();
    }
    await running;
    assert.deepEqual(q.log, ['submit 1', 'ask 1', 'submit 2', 'ask 2', 'submit 3', 'ask 3', 'submit 4', 'ask 4', 'submit 5', 'ask 5']);
    assert.deepEqual(done, [4, 4, 4, 4, 4]);
  });

  test('a stop submits nothing more, waits for the slice it asked about, and rejects with ABORTED', async () => {
    const q = scriptedQueue();
    const stop = new AbortController();
    const running = runSlices(q.device, fixedPlanner(q.device), { submit: q.submit, signal: stop.signal });
    const outcome = running.then(() => 'resolved', (e: unknown) => (e instanceof KernelError ? e.code : String(e)));
    await q.settle();
    stop.abort();
    q.finishNext();
    await q.settle();
    q.finishNext();
    assert.equal(await outcome, 'ABORTED');
    assert.equal(q.submitted(), 2, 'the slice running and the one queued behind it when the stop came; nothing after');
    await assert.rejects(runSlices(q.device, fixedPlanner(q.device), { submit: q.submit, signal: stop.signal }), (e: unknown) => e instanceof KernelError && e.code === 'ABORTED');
  });

  test('a stop cuts the quiet sleep short: the queue is asked at once, and nothing more is submitted', async () => {
    const q = scriptedQueue();
    // 1 unit per 100 s: the quiet sleep before asking about a slice of 1 unit would last 60 s.
    const known = new KernelDevice(q.device, false);
    recordRate(known, 'k', 1, 100_000);
    const planner = new SlicePlanner(known, 'k', { initial: 1, min: 1, max: 1 });
    const stop = new AbortController();
    const running = runSlices(q.device, planner, { submit: q.submit, signal: stop.signal });
    const outcome = running.then(() => 'resolved', (e: unknown) => (e instanceof KernelError ? e.code : String(e)));
    await q.settle();
    assert.deepEqual(q.log, ['submit 1'], 'sleeping before it asks');
    stop.abort();
    await q.settle();
    assert.deepEqual(q.log, ['submit 1', 'ask 1'], 'woken by the stop, it asks about the slice on the GPU');
    q.finishNext();
    assert.equal(await outcome, 'ABORTED');
    assert.equal(q.submitted(), 1);
  });

  test('sleeps through most of a slice whose duration is known before it asks the queue', async () => {
    let askedAt: number | null = null;
    const device = { queue: { onSubmittedWorkDone: async () => void (askedAt = performance.now()) } } as unknown as GPUDevice;
    // 1 unit per ms, slices of 100 units: each should take 100 ms.
    const known = new KernelDevice(device, false);
    recordRate(known, 'k', 100, 100);
    const planner = new SlicePlanner(known, 'k', { targetMs: 100, initial: 100, min: 1, max: 100 });
    let left = 1;
    const t0 = performance.now();
    await runSlices(device, planner, { submit: async (units) => (left-- > 0 ? units : 0) });
    assert.ok(askedAt !== null && askedAt - t0 >= 100 * QUIET_WAIT_SHARE - 2, `asked after ${askedAt! - t0} ms`);
  });
});

describe('verifyMatmul (CPU)', () => {
  const dims = { m: 33, n: 29, k: 47 };
  const { a, b } = inputs(dims, 7);
  const good = matmulReference(dims, a, b);

  test('accepts the reference and a result rounded in f32 order', () => {
    assert.deepEqual(verifyMatmul(dims, a, b, good), { ok: true });
    // Naive f32 accumulation: what a GPU does, with its rounding.
    const f32 = new Float32Array(dims.m * dims.n);
    for (let i = 0; i < dims.m; i++) {
      for (let j = 0; j < dims.n; j++) {
        let acc = 0;
        for (let l = 0; l < dims.k; l++) acc = Math.fround(acc + Math.fround(a[i * dims.k + l]! * b[l * dims.n + j]!));
        f32[i * dims.n + j] = acc;
      }
    }
    assert.deepEqual(verifyMatmul(dims, a, b, f32), { ok: true });
  });

  test('rejects one element off by 1.0, wherever it is', () => {
    for (const index of [0, 17, dims.m * dims.n - 1]) {
      const bad = good.slice();
      bad[index]! += 1;
      assert.equal(verifyMatmul(dims, a, b, bad).ok, false, `element ${index}`);
    }
  });

  test('rejects NaN and infinities', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const bad = good.slice();
      bad[5] = value;
      const verdict = verifyMatmul(dims, a, b, bad);
      assert.equal(verdict.ok, false);
    }
  });

  test('rejects a wrong length, all zeros and random output', () => {
    const short = verifyMatmul(dims, a, b, good.subarray(0, good.length - 1));
    assert.equal(short.ok, false);
    assert.match(short.ok ? '' : short.reason, /holds \d+ values/);
    assert.equal(verifyMatmul(dims, a, b, new Float32Array(good.length + 1)).ok, false);
    assert.equal(verifyMatmul(dims, a, b, new Float32Array(good.length)).ok, false);
    assert.equal(verifyMatmul(dims, a, b, randomMatrix(good.length, rng(99), 10)).ok, false);
  });

  test('rejects transposed or swapped results', () => {
    const sq = { m: 24, n: 24, k: 24 };
    const { a: sa, b: sb } = inputs(sq, 3);
    const c = matmulReference(sq, sa, sb);
    const transposed = new Float32Array(c.length);
    for (let i = 0; i < 24; i++) for (let j = 0; j < 24; j++) transposed[j * 24 + i] = c[i * 24 + j]!;
    assert.equal(verifyMatmul(sq, sa, sb, transposed).ok, false);
    assert.equal(verifyMatmul(sq, sa, sb, matmulReference(sq, sb, sa)).ok, false);
  });

  test('uses the random vectors it is given (deterministic with a fixed source)', () => {
    const fixed = (count: number): Float64Array => Float64Array.from({ length: count }, (_, i) => ((i * 7919) % 1000) / 1000);
    assert.deepEqual(verifyMatmul(dims, a, b, good, fixed), { ok: true });
    const bad = good.slice();
    bad[3]! -= 0.5;
    assert.equal(verifyMatmul(dims, a, b, bad, fixed).ok, false);
  });
});

// ---- on the GPU ------------------------------------------------------------------------------

/** A device whose queue counts submissions and reports each finished slice. */
function instrument(device: GPUDevice, onSliceDone: (slice: number) => void = () => {}) {
  let submits = 0;
  let done = 0;
  const queue = device.queue;
  const queueProxy = new Proxy(queue, {
    get(target, prop) {
      if (prop === 'submit') {
        return (buffers: GPUCommandBuffer[]) => {
          submits++;
          target.submit(buffers);
        };
      }
      if (prop === 'onSubmittedWorkDone') {
        return async () => {
          await target.onSubmittedWorkDone();
          onSliceDone(++done);
        };
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const proxy = new Proxy(device, {
    get(target, prop) {
      if (prop === 'queue') return queueProxy;
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    device: proxy,
    /** The kernels' view of the proxy (its own pipelines and rates). */
    kernel: new KernelDevice(proxy),
    submits: () => submits,
    /** Forgets what was counted (after a warm-up run on the proxy: compiling, first-use checks). */
    reset() {
      submits = 0;
      done = 0;
    },
  };
}

/** An instrumented device, warmed up on one product so that only the runs under test count. */
async function warmProbe(device: GPUDevice, onSliceDone?: (slice: number) => void) {
  let armed = false;
  const probe = instrument(device, (slice) => {
    if (armed) onSliceDone?.(slice);
  });
  const dims = { m: 8, k: 8, n: 8 };
  await runMatmul(probe.kernel, dims, new Float32Array(64), new Float32Array(64));
  await runMatmul(probe.kernel, { m: 9, k: 7, n: 5 }, new Float32Array(63), new Float32Array(35));
  probe.reset();
  armed = true;
  return probe;
}

/**
 * Which configurations to check, on which shapes (a vec4 shape runs the vec4 flavour, a scalar
 * shape the scalar one). Compiling the large GPU shaders takes seconds each on SwiftShader, so by
 * default: the naive and both CPU kernels, the GPU default `gpu-128` in its vec4 flavour and `gpu-64`
 * in its scalar flavour: between them every branch of the generator but multi-slot tile loads
 * and a partly unrolled K loop. IDLEFORGE_KERNEL_CONFIGS=all checks every configuration
 * in both flavours (the device check on a real GPU runs it so).
 */
function configsToCheck(): Array<{ name: MatmulConfigName; shapes: MatmulDims[] }> {
  const vec4Shape = { m: 130, k: 36, n: 68 }; // multiples of 4, of no block
  const scalarShape = { m: 67, k: 29, n: 45 };
  const both = [vec4Shape, scalarShape, { m: 1, k: 1, n: 1 }];
  if (process.env.IDLEFORGE_KERNEL_CONFIGS === 'all') {
    return (Object.keys(MATMUL_CONFIGS) as MatmulConfigName[]).map((name) => ({ name, shapes: both }));
  }
  return [
    { name: 'naive', shapes: [scalarShape, { m: 1, k: 1, n: 1 }] },
    { name: 'cpu', shapes: both },
    { name: 'cpu-sg', shapes: both },
    { name: 'gpu-128', shapes: [vec4Shape] },
    { name: 'gpu-64', shapes: [scalarShape, { m: 1, k: 1, n: 1 }] },
  ];
}

describe('runMatmul on WebGPU', () => {
  let device: GPUDevice;
  let kd: KernelDevice;
  let config: MatmulConfigName;

  before(async () => {
    const gpu = await openNodeGpu();
    if (!gpu) throw new Error(describeMissingWebGpu());
    device = await requestComputeDevice(gpu.adapter);
    kd = new KernelDevice(device);
    config = matmulConfigFor(kd);
    console.error(`adapter: ${gpu.info.vendor} ${gpu.info.architecture} ${gpu.info.description}${gpu.info.software ? ' (software)' : ''}; default configuration ${config}`);
  });
  after(() => device?.destroy());

  test('the default configuration fits CPU implementations and GPUs', () => {
    assert.ok(configFits(device, MATMUL_CONFIGS[config]));
    const software = /swiftshader|llvmpipe|lavapipe/i.test(`${device.adapterInfo.architecture} ${device.adapterInfo.description}`);
    assert.equal(MATMUL_CONFIGS[config].family, software ? 'register' : 'shared');
  });

  const fixed: MatmulDims[] = [
    { m: 1, k: 1, n: 1 },
    { m: 1, k: 37, n: 1 },
    { m: 37, k: 1, n: 53 },
    { m: 1, k: 300, n: 257 },
    { m: 300, k: 2, n: 3 },
    { m: 3, k: 513, n: 2 },
    { m: 16, k: 16, n: 16 },
    { m: 17, k: 33, n: 15 },
    { m: 64, k: 3, n: 200 },
    { m: 100, k: 100, n: 100 },
    { m: 128, k: 64, n: 128 },
  ];
  for (const [i, dims] of fixed.entries()) {
    test(`matches the reference: ${label(dims)}`, async () => {
      const { a, b } = inputs(dims, 1000 + i);
      assertCloseToReference(dims, a, b, await runMatmul(kd, dims, a, b));
    });
  }

  test('matches the reference: 8 random shapes up to 130 per side', async () => {
    const next = rng(2024);
    const side = () => 1 + Math.floor(next() * 130);
    for (let i = 0; i < 8; i++) {
      const dims = { m: side(), k: side(), n: side() };
      const { a, b } = inputs(dims, 5000 + i);
      assertCloseToReference(dims, a, b, await runMatmul(kd, dims, a, b));
    }
  });

  for (const { name, shapes } of configsToCheck()) {
    test(`configuration ${name} matches the reference: ${shapes.map(label).join('; ')}`, async (t) => {
      if (!configFits(device, MATMUL_CONFIGS[name])) {
        t.skip(`${name} does not fit this device's limits`);
        return;
      }
      for (const [i, dims] of shapes.entries()) {
        const { a, b } = inputs(dims, 300 + i);
        assertCloseToReference(dims, a, b, await runMatmul(kd, dims, a, b, { config: name }));
        // Sliced into single blocks, the same numbers.
        if (i === 0) assert.deepEqual(await runMatmul(kd, dims, a, b, { config: name, sliceBudget: 1 }), await runMatmul(kd, dims, a, b, { config: name }));
      }
    });
  }

  test('large and small magnitudes, exact small integers', async () => {
    const dims = { m: 40, k: 70, n: 30 };
    for (const scale of [1e-12, 1e12]) {
      const { a, b } = inputs(dims, 77, scale);
      assertCloseToReference(dims, a, b, await runMatmul(kd, dims, a, b));
    }
    // Small integers: every partial sum is exact in f32, so the result must be exact.
    const next = rng(8);
    const a = Float32Array.from({ length: dims.m * dims.k }, () => Math.floor(next() * 17) - 8);
    const b = Float32Array.from({ length: dims.k * dims.n }, () => Math.floor(next() * 17) - 8);
    assert.deepEqual(await runMatmul(kd, dims, a, b), matmulReference(dims, a, b));
  });

  test('a tiny slice budget runs one block per submission and gives the same result', async () => {
    for (const dims of [
      { m: 100, k: 100, n: 100 },
      { m: 129, k: 17, n: 65 },
      { m: 64, k: 3, n: 200 },
    ]) {
      const { a, b } = inputs(dims, 31);
      const probe = await warmProbe(device);
      const sliced = await runMatmul(probe.kernel, dims, a, b, { sliceBudget: 1 });
      const { rows, cols } = blockShape(MATMUL_CONFIGS[matmulConfigFor(kd, dims)]);
      const blocks = Math.ceil(dims.m / rows) * Math.ceil(dims.n / cols);
      assert.equal(probe.submits(), blocks + 1, `${label(dims)}: one submission per block, plus the readback`);
      assertCloseToReference(dims, a, b, sliced);
      assert.deepEqual(sliced, await runMatmul(kd, dims, a, b), `${label(dims)}: sliced and whole runs agree`);
    }
  });

  test('slices follow the measured speed: small first, then sized from the rate', async () => {
    const fresh = new KernelDevice(await requestComputeDevice((await openNodeGpu())!.adapter));
    try {
      // The naive kernel: quick to compile on a fresh device, and small blocks to slice finely.
      const dims = { m: 256, k: 256, n: 256 };
      const { a, b } = inputs(dims, 41);
      const name = 'naive';
      const { rows, cols } = blockShape(MATMUL_CONFIGS[name]);
      const sizes: number[] = [];
      const progress = (done: number) => sizes.push(done - sizes.reduce((x, y) => x + y, 0));
      assert.equal(measuredRate(fresh, `matmul ${name}`), undefined);
      assertCloseToReference(dims, a, b, await runMatmul(fresh, dims, a, b, { config: name, onProgress: progress }));
      const firstBlocks = Math.max(1, Math.floor(INITIAL_SLICE_MACS / (rows * cols * dims.k)));
      assert.equal(sizes[0], firstBlocks, 'the first slice holds INITIAL_SLICE_MACS');
      // A slice that only finished the rest of a row of blocks can be much smaller than the size
      // asked for (seen under load: 29, then 3 to end the row, then 32): growth is counted from
      // the larger of the two slices before.
      for (let i = 1; i < sizes.length - 1; i++) {
        assert.ok(sizes[i]! <= 4 * Math.max(sizes[i - 1]!, sizes[i - 2] ?? 0), `slice ${i} grew at most 4×: ${sizes.join(', ')}`);
      }
      assert.ok((measuredRate(fresh, `matmul ${name}`) ?? 0) > 0, 'the rate was measured');
    } finally {
      fresh.device.destroy();
    }
  });

  test('an aborted signal rejects with ABORTED before any work', async () => {
    const dims = { m: 20, k: 20, n: 20 };
    const { a, b } = inputs(dims, 4);
    const probe = instrument(device);
    await assertKernelError(runMatmul(probe.kernel, dims, a, b, { signal: AbortSignal.abort() }), 'ABORTED');
    assert.equal(probe.submits(), 0);
  });

  test('aborting between slices rejects with ABORTED and stops submitting', async () => {
    const dims = { m: 160, k: 32, n: 32 };
    const { a, b } = inputs(dims, 5);
    const controller = new AbortController();
    const probe = await warmProbe(device, (slice) => {
      if (slice === 2) controller.abort();
    });
    await assertKernelError(runMatmul(probe.kernel, dims, a, b, { signal: controller.signal, sliceBudget: 1 }), 'ABORTED');
    // Slice 3 was queued behind slice 2 (runSlices keeps the queue fed); nothing after it.
    assert.equal(probe.submits(), 3, 'no slice submitted after the abort');
    // The device is still good afterwards.
    assertCloseToReference(dims, a, b, await runMatmul(kd, dims, a, b));
  });

  test('wrong input sizes are refused', async () => {
    await assert.rejects(runMatmul(kd, { m: 2, n: 2, k: 2 }, new Float32Array(3), new Float32Array(4)), RangeError);
  });

  test('a configuration beyond the device limits is refused; setMatmulConfig and tuneMatmul pick among those that fit', async () => {
    const dims = { m: 9, k: 9, n: 9 };
    const { a, b } = inputs(dims, 2);
    const tiny = new Proxy(device, {
      get(target, prop) {
        if (prop === 'limits') return { ...target.limits, maxComputeWorkgroupStorageSize: 1024, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256 };
        const value: unknown = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await assertKernelError(runMatmul(new KernelDevice(tiny), dims, a, b, { config: 'gpu-128' }), 'VALIDATION');
    assert.throws(() => setMatmulConfig(new KernelDevice(tiny), 'gpu-128'), RangeError);
    const tuned = await tuneMatmul(kd, { sizes: [32, 64], candidates: [config, 'naive'], apply: false });
    assert.deepEqual(tuned.results.map((r) => `${r.config}@${r.size}`), [`${config}@32`, 'naive@32', `${config}@64`, 'naive@64']);
    assert.ok(tuned.results.every((r) => r.gflops > 0));
    assert.deepEqual(tuned.choices.map((c) => c.area), [32 * 32, 64 * 64]);
    assert.equal(matmulConfigFor(kd), config, 'apply: false leaves the device as it was');
  });

  test('per-size choices: each product takes the choice nearest its size; the GPU default by block count', () => {
    const other = new KernelDevice(device);
    setMatmulChoices(other, [
      { area: 512 * 512, config: 'naive' },
      { area: 64 * 64, config: config },
    ]);
    assert.equal(matmulConfigFor(other, { m: 60, n: 70 }), config);
    assert.equal(matmulConfigFor(other, { m: 400, n: 700 }), 'naive');
    assert.equal(matmulConfigFor(other, { m: 5000, n: 5000 }), 'naive');
    assert.equal(matmulConfigFor(other), 'naive', 'without sizes: the largest');
    setMatmulConfig(other, config);
    assert.equal(matmulConfigFor(other, { m: 5000, n: 5000 }), config);
    // A device taken for a GPU: gpu-128 once it fills MIN_LARGE_BLOCKS workgroups, else gpu-64.
    const gpuLike = new KernelDevice(device, false);
    assert.equal(matmulConfigFor(gpuLike, { m: 512, n: 512 }), 'gpu-64');
    assert.equal(matmulConfigFor(gpuLike, { m: 2048, n: 2048 }), 'gpu-128');
    assert.equal(matmulConfigFor(gpuLike), 'gpu-128');
  });

  test('verifyMatmul accepts the GPU result and rejects tampered ones', async () => {
    const dims = { m: 70, k: 90, n: 50 };
    const { a, b } = inputs(dims, 6);
    const c = await runMatmul(kd, dims, a, b);
    assert.deepEqual(verifyMatmul(dims, a, b, c), { ok: true });

    const plusOne = c.slice();
    plusOne[1234]! += 1;
    assert.equal(verifyMatmul(dims, a, b, plusOne).ok, false, 'one element +1.0');
    const nan = c.slice();
    nan[0] = Number.NaN;
    assert.equal(verifyMatmul(dims, a, b, nan).ok, false, 'a NaN');
    assert.equal(verifyMatmul(dims, a, b, c.subarray(1)).ok, false, 'wrong length');
    assert.equal(verifyMatmul(dims, a, b, new Float32Array(c.length)).ok, false, 'all zeros');
    assert.equal(verifyMatmul(dims, a, b, randomMatrix(c.length, rng(12))).ok, false, 'random output');
  });
});
