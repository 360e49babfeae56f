/**
 * The hub's side of render: planning tiles and passes, the picture's content negotiation, and a
 * job end to end on a hub (PostgreSQL): a customer's scene cut into tiles, a blurred tile
 * rejected and earning nothing, honest tiles (the CPU reference, which SwiftShader's GPU tiles
 * equal bit for bit: kernels/render/render-gpu.test.ts) credited, the picture read back as PNG and
 * as raw f32; and tiles sent as half floats (f16), raw and as JSON `rgbHalf`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import {
  bytesToBase64,
  EarningsResponseSchema,
  F16_MAX,
  f16ToF32,
  f32ToBase64,
  f32ToF16,
  JobCreatedSchema,
  LeaseResponseSchema,
  RENDER_MAX_RADIANCE,
  RENDER_MAX_TRIANGLES,
  ResultResponseSchema,
  type Task,
} from '../protocol/index.js';
import { render } from '../kernels/index.js';
import { JOB_SPECS } from '../jobs/index.js';
import { DEFAULT_REWARD_PER_GFLOP } from './jobs.js';
import { planRender, RENDER_TILE_PIXELS, renderTaskCount, renderTaskParams, type RenderJobSpec } from './kinds/render.js';
import { decodeRgbPng, encodeRgbPng } from '../lib/png.js';
import { acceptQuality, prefersOctetStream } from './routes/customer.js';
import { call, errorOf, signIn, startTestHub, TEST_RENDER_TILE_PIXELS, type TestHub } from './testkit.js';

type RenderTask = Extract<Task, { kind: 'render' }>;

describe('render planning', () => {
  it('cuts a picture into tiles of √(tile pixels) to twice that a side (128–255 here), covering every pixel once, and counts a new key’s passes of 2³⁰ operations', () => {
    const spec: RenderJobSpec = { width: 300, height: 200, samples: 10, seed: 1, flopsPerSample: 1000, ...planRender({ width: 300, height: 200, samples: 10 }, 1000, 150 * 200 * 1000 * 4, TEST_RENDER_TILE_PIXELS), scene: render.boxScene() as RenderJobSpec['scene'] };
    assert.deepEqual([spec.tilesX, spec.tilesY, spec.samplesPerPass], [2, 1, 4]);
    assert.equal(renderTaskCount(spec), 2 * 3, 'the job-size limit counts tiles × passes at the new-key size');
    const covered = new Uint8Array(300 * 200);
    for (let tile = 0; tile < spec.tilesX * spec.tilesY; tile++) {
      const p = renderTaskParams(spec, tile, 3, 5);
      assert.deepEqual([p.sampleStart, p.sampleCount], [3, 5]);
      assert.ok(p.w * p.h >= 64 * 64, 'a tile is large enough for a 1% check');
      for (let y = p.y; y < p.y + p.h; y++) for (let x = p.x; x < p.x + p.w; x++) covered[y * 300 + x]! += 1;
    }
    assert.ok(covered.every((c) => c === 1));
    // A small image is one tile; a costly scene gets one sample a task, never none.
    assert.deepEqual(planRender({ width: 64, height: 100, samples: 3 }, 10 ** 9), { tilesX: 1, tilesY: 1, samplesPerPass: 1 });
    // By default tiles are 362–723 pixels a side (2¹⁷–2¹⁹ pixels): the example's 256×192 is one, a 2048² picture 5 × 5.
    assert.deepEqual(planRender({ width: 256, height: 192, samples: 16 }, 2000), { tilesX: 1, tilesY: 1, samplesPerPass: Math.floor(2 ** 30 / (256 * 192 * 2000)) });
    const big = planRender({ width: 2048, height: 2048, samples: 4096 }, 2000);
    assert.deepEqual([big.tilesX, big.tilesY], [5, 5]);
    const largest = Math.ceil(2048 / 5) ** 2;
    assert.ok(largest >= RENDER_TILE_PIXELS && largest < 4 * RENDER_TILE_PIXELS);
    // A costly scene (10⁵ operations a sample) gets tiles whose one sample is under 4 × 2³⁰ operations: ⌊√(2³⁰/10⁵)⌋ = 103 a side.
    const costly = planRender({ width: 2048, height: 2048, samples: 16 }, 1e5);
    assert.deepEqual([costly.tilesX, costly.tilesY], [Math.floor(2048 / 103), Math.floor(2048 / 103)]);
    assert.ok(Math.ceil(2048 / costly.tilesX) ** 2 * 1e5 < 4 * 2 ** 30);
  });

  it('answers a PNG unless raw f32 is preferred', () => {
    assert.equal(prefersOctetStream(undefined), false);
    assert.equal(prefersOctetStream('*/*'), false);
    assert.equal(prefersOctetStream('application/octet-stream'), true);
    assert.equal(prefersOctetStream('image/png, application/octet-stream;q=0.5'), false);
    assert.equal(prefersOctetStream('image/*;q=0.2, application/octet-stream'), true);
    assert.equal(prefersOctetStream('application/octet-stream;q=0'), false);
    assert.equal(acceptQuality('text/html, image/*;q=0.3', 'image/png'), 0.3);
  });

  it('writes PNGs it reads back', () => {
    const rgb = Uint8Array.from({ length: 3 * 5 * 3 }, (_, i) => (i * 37) & 255);
    assert.deepEqual(decodeRgbPng(encodeRgbPng(5, 3, rgb)), { width: 5, height: 3, rgb });
  });

  it("a result's limit holds each of its four forms (f16 and f32, raw and as JSON), the largest of which is base64 f32", () => {
    const params = { width: 300, height: 200, x: 0, y: 0, w: 255, h: 200, sampleStart: 0, sampleCount: 1, seed: 1, flopsPerSample: 1 };
    const values = 3 * params.w * params.h;
    const forms = [2 * values, 4 * values, bytesToBase64(new Uint8Array(2 * values)).length, f32ToBase64(new Float32Array(values)).length];
    assert.equal(JOB_SPECS.render.maxResultBytes(params), Math.max(...forms));
    // Every radiance a scene can carry fits an f16, with room for the check's own margin.
    assert.ok(RENDER_MAX_RADIANCE * (1 + 2 ** -10) < F16_MAX);
  });

  it('weighs passes by their samples', () => {
    const sums = new Float64Array(3 * 2);
    render.addPass(sums, 2, { x: 0, y: 0, w: 2, h: 1 }, Float32Array.of(1, 1, 1, 0, 0, 0), 3);
    render.addPass(sums, 2, { x: 0, y: 0, w: 2, h: 1 }, Float32Array.of(0, 0, 0, 2, 2, 2), 1);
    assert.deepEqual([...render.meanImage(sums, 4)], [0.75, 0.75, 0.75, 0.5, 0.5, 0.5]);
  });
});

describe('a render job on a hub', () => {
  let t: TestHub;
  let customer: string;
  const honest = Wallet.createRandom();
  const cheater = Wallet.createRandom();
  const tokens = new Map<string, string>();
  const job = { kind: 'render', width: 256, height: 64, samples: 2, seed: 77, scene: render.boxScene() };
  let jobId = '';

  before(async () => {
    t = await startTestHub({ renderTilePixels: TEST_RENDER_TILE_PIXELS });
    customer = await t.hub.createCustomer('studio');
    for (const w of [honest, cheater]) tokens.set(w.address, await signIn(t.hub.url, w));
  });
  after(() => t?.close());

  const lease = async (w: { address: string }): Promise<RenderTask> => {
    const r = await call(`${t.hub.url}/v1/tasks/lease`, { token: tokens.get(w.address)!, body: { kinds: ['render'] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const task = LeaseResponseSchema.parse(r.body).task;
    assert.equal(task.kind, 'render');
    return task as RenderTask;
  };
  const submit = (w: { address: string }, id: string, rgb: Float32Array) => call(`${t.hub.url}/v1/tasks/${id}/result`, { token: tokens.get(w.address)!, body: { output: { rgb: f32ToBase64(rgb) } } });

  it('refuses scenes past the limits, with the reason', async () => {
    const tooMany = { ...job, scene: { ...job.scene, triangles: Array.from({ length: RENDER_MAX_TRIANGLES + 1 }, () => job.scene.triangles[0]) } };
    const badMaterial = { ...job, scene: { ...job.scene, spheres: [{ center: [0, 0, 0], radius: 1, material: 99 }] } };
    const tooSmall = { ...job, width: 32 };
    for (const body of [tooMany, badMaterial, tooSmall]) {
      const r = await call(`${t.hub.url}/v1/jobs`, { token: customer, body });
      assert.equal(r.status, 400);
      assert.equal(errorOf(r).code, 'INVALID_BODY');
    }
  });

  it('prices a job by pixels × samples × the cost per sample it measured', async () => {
    const r = await call(`${t.hub.url}/v1/jobs`, { token: customer, body: job });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const created = JobCreatedSchema.parse(r.body);
    jobId = created.id;
    assert.equal(created.tasks, 2);
    const flops = render.measureFlopsPerSample(job.scene, 256, 64);
    assert.ok(flops > 100);
    assert.equal(BigInt(created.price), 2n * JOB_SPECS.render.reward(128n * 64n * 2n * BigInt(flops), DEFAULT_REWARD_PER_GFLOP));
  });

  it('rejects a blurred tile and a tile of the wrong size; credits honest tiles', async () => {
    const task = await lease(cheater);
    assert.deepEqual(task.params, { width: 256, height: 64, x: 0, y: 0, w: 128, h: 64, sampleStart: 0, sampleCount: 2, seed: 77, flopsPerSample: task.params.flopsPerSample });
    const truth = render.renderReference(task.inputs.scene, task.params);
    const wrongSize = await submit(cheater, task.id, truth.subarray(3));
    assert.equal(wrongSize.status, 400);
    // A blur: each pixel the mean of itself and its right neighbour.
    const blurred = truth.map((v, i) => (i + 3 < truth.length ? (v + truth[i + 3]!) / 2 : v));
    const judged = ResultResponseSchema.parse((await submit(cheater, task.id, blurred)).body);
    assert.equal(judged.status, 'rejected');
    assert.equal(judged.credited, '0');
    assert.match(judged.reason ?? '', /differ from the scene/);

    for (let i = 0; i < 2; i++) {
      const mine = await lease(honest);
      const rgb = render.renderReference(mine.inputs.scene, mine.params);
      // The first as JSON (base64), the second as raw f32 bytes.
      const reply =
        i === 0
          ? await submit(honest, mine.id, rgb)
          : await fetch(`${t.hub.url}/v1/tasks/${mine.id}/result`, {
              method: 'POST',
              headers: { authorization: `Bearer ${tokens.get(honest.address)!}`, 'content-type': 'application/octet-stream' },
              body: new Uint8Array(rgb.slice().buffer),
            }).then(async (res) => ({ status: res.status, body: (await res.json()) as unknown }));
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const r = ResultResponseSchema.parse(reply.body);
      assert.equal(r.status, 'accepted');
      assert.equal(r.credited, mine.reward);
    }
    const cheats = EarningsResponseSchema.parse((await call(`${t.hub.url}/v1/earnings`, { token: tokens.get(cheater.address)! })).body);
    assert.deepEqual(cheats.balance, { pending: '0', verified: '0', paid: '0' });
  });

  it('takes tiles as f16, raw (6 bytes a pixel) or as JSON rgbHalf: checked with f16’s rounding allowed, credited once; a wrong length is a 400 that says the sizes; an f16 ∞ or NaN is rejected', async () => {
    const halfJob = { ...job, seed: 78 };
    const created = await call(`${t.hub.url}/v1/jobs`, { token: customer, body: halfJob });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const halfJobId = JobCreatedSchema.parse(created.body).id;
    const raw = (w: { address: string }, id: string, bytes: Uint8Array) =>
      fetch(`${t.hub.url}/v1/tasks/${id}/result`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.get(w.address)!}`, 'content-type': 'application/octet-stream' },
        body: bytes.slice(),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as unknown, headers: res.headers }));
    const half = (w: { address: string }, id: string, bytes: Uint8Array) => call(`${t.hub.url}/v1/tasks/${id}/result`, { token: tokens.get(w.address)!, body: { output: { rgbHalf: bytesToBase64(bytes) } } });
    const f16Of = (task: RenderTask): Uint8Array => f32ToF16(render.renderReference(task.inputs.scene, task.params));

    // The cheater: sizes that do not fit, then an ∞ (raw) and a NaN (JSON), each rejected by the check.
    const first = await lease(cheater);
    const values = 3 * first.params.w * first.params.h;
    const short = await raw(cheater, first.id, new Uint8Array(2 * values - 2));
    assert.equal(short.status, 400, JSON.stringify(short.body));
    const chunked = render.chunkedBytes(first.params.w, first.params.h);
    assert.equal(
      errorOf(short).message,
      `a raw render result is the tile's w×h×3 = ${values} values, as f16 (${2 * values} bytes), as f32 (${4 * values} bytes), or as f16 with chunk sums (${chunked} bytes), not ${2 * values - 2} bytes`,
    );
    const halfShort = await half(cheater, first.id, new Uint8Array(2 * values - 6));
    assert.equal(halfShort.status, 400);
    assert.match(errorOf(halfShort).message, new RegExp(`rgbHalf must hold w×h×3 = ${values} f16 values`));
    const both = await call(`${t.hub.url}/v1/tasks/${first.id}/result`, { token: tokens.get(cheater.address)!, body: { output: { rgb: 'AAAAAA==', rgbHalf: 'AAAA' } } });
    assert.equal(both.status, 400);
    assert.match(errorOf(both).message, /exactly one of rgb \(f32\), rgbHalf \(f16\) and rgbHalfChunks/);
    const infinite = f16Of(first);
    infinite.set([0x00, 0x7c], 2 * 100);
    const inf = ResultResponseSchema.parse((await raw(cheater, first.id, infinite)).body);
    assert.equal(inf.status, 'rejected');
    assert.match(inf.reason ?? '', /pixel 33 has Infinity/);
    const second = await lease(cheater);
    assert.notEqual(second.id, first.id);
    const nan = f16Of(second);
    nan.set([0x00, 0x7e], 2 * 7);
    const notANumber = ResultResponseSchema.parse((await half(cheater, second.id, nan)).body);
    assert.equal(notANumber.status, 'rejected');
    assert.match(notANumber.reason ?? '', /pixel 2 has NaN/);

    // The honest worker: one tile raw, the other as JSON; each credited once.
    const credited: string[] = [];
    for (const form of ['raw', 'json'] as const) {
      const mine = await lease(honest);
      const bytes = f16Of(mine);
      const reply = form === 'raw' ? await raw(honest, mine.id, bytes) : await half(honest, mine.id, bytes);
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const r = ResultResponseSchema.parse(reply.body);
      assert.equal(r.status, 'accepted', `${form}: ${r.reason}`);
      assert.equal(r.credited, mine.reward);
      credited.push(r.entryId!);
      const again = await raw(honest, mine.id, bytes);
      assert.equal(again.status, 409, `${form}: a second answer`);
    }
    const ledger = EarningsResponseSchema.parse((await call(`${t.hub.url}/v1/earnings`, { token: tokens.get(honest.address)! })).body);
    for (const id of credited) assert.equal(ledger.entries.filter((e) => e.id === id && e.status === 'verified').length, 1);

    // The picture is assembled from the f16 tiles: each value the f16 of the reference's.
    const whole = render.renderReference(halfJob.scene, { width: 256, height: 64, x: 0, y: 0, w: 256, h: 64, sampleStart: 0, sampleCount: 2, seed: 78 });
    const picture = await call(`${t.hub.url}/v1/jobs/${halfJobId}/result`, { token: customer, headers: { accept: 'application/octet-stream' } });
    assert.equal(picture.status, 200);
    const bytes = picture.body as Uint8Array;
    assert.deepEqual(new Float32Array(bytes.slice().buffer), f16ToF32(f32ToF16(whole)));
  });

  it('takes tiles with chunk sums (what the worker sends): the chunk check credits an honest one and rejects half the samples made to add up', async () => {
    const created = await call(`${t.hub.url}/v1/jobs`, { token: customer, body: { ...job, samples: 32, seed: 79 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const raw = (w: { address: string }, id: string, bytes: Uint8Array) =>
      fetch(`${t.hub.url}/v1/tasks/${id}/result`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.get(w.address)!}`, 'content-type': 'application/octet-stream' },
        body: bytes.slice(),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as unknown }));
    /** A tile's means and chunk sums as the CPU reference makes them (pixel, chunk, RGB), half of its chunks copied over the other half when `cheat`. */
    const chunkedOf = async (task: RenderTask, cheat: boolean): Promise<Uint8Array> => {
      const p = task.params;
      const pixels = p.w * p.h;
      const sums = new Float32Array(pixels * render.RENDER_CHUNKS * 3);
      for (let k = 0; k < render.RENDER_CHUNKS; k++) {
        const count = render.chunkSpan(p.sampleCount, k)[1];
        const source = cheat ? k % (render.RENDER_CHUNKS / 2) : k;
        const [s0, c0] = render.chunkSpan(p.sampleCount, source);
        const means = render.renderReference(task.inputs.scene, { ...p, sampleStart: p.sampleStart + s0, sampleCount: c0 });
        for (let i = 0; i < pixels; i++) for (let c = 0; c < 3; c++) sums[(i * render.RENDER_CHUNKS + k) * 3 + c] = Math.fround(means[3 * i + c]! * count);
      }
      const rgb = Float32Array.from({ length: 3 * pixels }, (_, i) => {
        let total = 0;
        for (let k = 0; k < render.RENDER_CHUNKS; k++) total += sums[(Math.floor(i / 3) * render.RENDER_CHUNKS + k) * 3 + (i % 3)]!;
        return total / p.sampleCount;
      });
      return render.chunkedResult({ ...p }, f32ToF16(rgb), sums);
    };
    // A cheater of its own: the one above is cut off by now.
    const skimmer = Wallet.createRandom();
    tokens.set(skimmer.address, await signIn(t.hub.url, skimmer));
    const bad = await lease(skimmer);
    const rejected = ResultResponseSchema.parse((await raw(skimmer, bad.id, await chunkedOf(bad, true))).body);
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.credited, '0');
    const mine = await lease(honest);
    const honestBytes = await chunkedOf(mine, false);
    assert.equal(honestBytes.byteLength, render.chunkedBytes(mine.params.w, mine.params.h));
    const reply = await raw(honest, mine.id, honestBytes);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const accepted = ResultResponseSchema.parse(reply.body);
    assert.equal(accepted.status, 'accepted', accepted.reason);
    assert.equal(accepted.credited, mine.reward);
  });

  it('answers the picture as PNG, and as raw f32 RGB when asked', async () => {
    const whole = render.renderReference(job.scene, { width: 256, height: 64, x: 0, y: 0, w: 256, h: 64, sampleStart: 0, sampleCount: 2, seed: 77 });
    const png = await call(`${t.hub.url}/v1/jobs/${jobId}/result`, { token: customer });
    assert.equal(png.status, 200);
    assert.equal(png.headers.get('content-type'), 'image/png');
    const picture = decodeRgbPng(png.body as Uint8Array);
    assert.equal(picture.width, 256);
    assert.equal(picture.height, 64);
    assert.deepEqual(picture.rgb, render.toneMap(whole));
    const raw = await call(`${t.hub.url}/v1/jobs/${jobId}/result`, { token: customer, headers: { accept: 'application/octet-stream' } });
    assert.equal(raw.headers.get('content-type'), 'application/octet-stream');
    const bytes = raw.body as Uint8Array;
    assert.deepEqual(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), whole);
  });
});
