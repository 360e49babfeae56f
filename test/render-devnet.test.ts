/**
 * The example render job (examples/render-job.json, at a smaller size and sample count so that a
 * software GPU renders it in seconds) through the devnet with the real `idleforge worker` on
 * Dawn/SwiftShader: the picture the hub assembles is checked by its properties (mean brightness,
 * and its structural similarity to the CPU reference's picture), not by exact pixels; the worker
 * keeps a thumbnail of each tile it rendered for its dashboard. Then two real workers at
 * different speeds (one at intensity 25: it rests three times as long as it works) on one job:
 * the hub carves each tile's samples to each one's observed rate (hub/sizing.ts), so the fast
 * one's runs hold more samples, and the runs still make the reference's picture.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobCreatedSchema, JobStatusSchema, RenderJobRequestSchema, type CliEvent, type JobCreated, type RenderJobRequest } from '../protocol/index.js';
import { render } from '../kernels/index.js';
import { startDevnet, type Devnet } from '../hub/devnet.js';
import { TEST_RENDER_TILE_PIXELS } from '../hub/testkit.js';
import { decodeRgbPng } from '../lib/png.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';
import { WorkerStore } from '../worker/store/index.js';
import { startCli, tempDir, until } from './helpers.js';

const EXAMPLE = RenderJobRequestSchema.parse(JSON.parse(readFileSync(new URL('../examples/render-job.json', import.meta.url), 'utf8')));

type Credited = Extract<CliEvent, { event: 'credited' }>;
const isCredited = (e: CliEvent): e is Credited => e.event === 'credited';

/** The devnet's customer endpoints. */
const customerOf =
  (net: Devnet) =>
  (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${net.hubUrl}${path}`, { ...init, headers: { authorization: `Bearer ${net.customerKey}`, 'content-type': 'application/json', ...init.headers } });

/** The done job's PNG, checked against the CPU reference's picture by its brightness and structure; returns both, tone-mapped. */
async function assertLikeReference(net: Devnet, created: JobCreated, job: RenderJobRequest): Promise<{ picture: Uint8Array; reference: Uint8Array }> {
  const res = await customerOf(net)(`/v1/jobs/${created.id}/result`);
  assert.equal(res.headers.get('content-type'), 'image/png');
  const picture = decodeRgbPng(new Uint8Array(await res.arrayBuffer()));
  assert.deepEqual([picture.width, picture.height], [job.width, job.height]);
  const reference = render.toneMap(render.renderReference(job.scene, { width: job.width, height: job.height, x: 0, y: 0, w: job.width, h: job.height, sampleStart: 0, sampleCount: job.samples, seed: job.seed ?? 0 }));
  const mean = render.meanBrightness(picture.rgb);
  const wanted = render.meanBrightness(reference);
  const similarity = render.ssim(picture.rgb, reference, job.width, job.height);
  console.log(`picture: mean brightness ${mean.toFixed(2)} of 255 (reference ${wanted.toFixed(2)}), SSIM with the reference ${similarity.toFixed(4)}`);
  assert.ok(mean > 25 && mean < 200, 'neither black nor blown out');
  assert.ok(Math.abs(mean - wanted) <= 2, 'as bright as the reference');
  assert.ok(similarity >= 0.95, 'the same picture, structurally');
  return { picture: picture.rgb, reference };
}

describe('the example render job through the devnet', () => {
  const dir = tempDir('render-devnet');
  let net: Devnet;

  before(async () => {
    // Tiles of 128 pixels a side: the 256×96 picture is two, each leased and thumbnailed.
    net = await startDevnet({ db: await testDatabaseUrl(), dataDir: join(dir.path, 'devnet'), chain: false, feeder: false, sizes: { renderTilePixels: TEST_RENDER_TILE_PIXELS } });
  });
  after(async () => {
    await net?.close();
    dir.remove();
  });

  it('is the project’s box scene', () => {
    assert.deepEqual(EXAMPLE.scene, RenderJobRequestSchema.shape.scene.parse(render.boxScene()));
  });

  it('is rendered by a real worker into a picture like the CPU reference’s', async () => {
    const job = { ...EXAMPLE, width: 256, height: 96, samples: 4 };
    const customer = customerOf(net);
    const created = JobCreatedSchema.parse(await (await customer('/v1/jobs', { method: 'POST', body: JSON.stringify(job) })).json());
    assert.equal(created.tasks, 2, 'two tiles of 128×96, one pass each');

    const worker = startCli(['worker', '--hub', net.hubUrl, '--data', join(dir.path, 'worker'), '--once', String(created.tasks), '--json']);
    assert.equal(await worker.exit, 0, worker.stderr.join('\n'));
    const credited = worker.events.filter(isCredited);
    assert.deepEqual(
      credited.map((e) => e.kind),
      ['render', 'render'],
    );
    assert.equal(credited.reduce((s, e) => s + BigInt(e.amount), 0n), BigInt(created.price));
    assert.equal(JobStatusSchema.parse(await (await customer(`/v1/jobs/${created.id}`)).json()).status, 'done');
    // The worker kept a thumbnail of each tile for its dashboard.
    const store = WorkerStore.open(join(dir.path, 'worker'));
    try {
      const previews = store.previews.latest(10);
      assert.equal(previews.length, 2);
      for (const p of previews) {
        assert.deepEqual([p.kind, p.width, p.height], ['render', 48, 36], 'a 128×96 tile shrunk to 48 pixels wide');
        assert.ok(render.meanBrightness(p.rgb) > 10, 'not blank');
      }
    } finally {
      store.close();
    }

    const { reference } = await assertLikeReference(net, created, job);
    // A measure that can fail: the picture against itself shifted by a few pixels is not similar.
    const shifted = reference.slice();
    shifted.copyWithin(0, 3 * 6);
    assert.ok(render.ssim(shifted, reference, 256, 96) < 0.95);
  });
});

describe('two real workers of different speeds on one render job through the devnet', () => {
  const dir = tempDir('render-devnet-sizes');
  let net: Devnet;
  // Two tiles of 128×96, long enough a job for both workers' sizes to settle (about 10 s of both
  // at SwiftShader's 0.3–0.5 GFLOP/s here, when the machine is not busy).
  const job = { ...EXAMPLE, width: 256, height: 96, samples: 160 };
  // A sample of a tile: its pixels × the scene's operations a sample.
  const tileSample = 128 * 96 * render.measureFlopsPerSample(job.scene, job.width, job.height);

  before(async () => {
    // A new key's task: one sample of a tile (the hub's 2³⁰ operations would be 55).
    net = await startDevnet({ db: await testDatabaseUrl(), dataDir: join(dir.path, 'devnet'), chain: false, feeder: false, sizes: { renderTaskFlops: tileSample, renderTilePixels: TEST_RENDER_TILE_PIXELS } });
  });
  after(async () => {
    await net?.close();
    dir.remove();
  });

  it('gives the worker at full intensity runs of more samples than the one at 25%, each tile’s samples once, the reference’s pixels', async () => {
    const customer = customerOf(net);
    const fast = startCli(['worker', '--hub', net.hubUrl, '--data', join(dir.path, 'fast'), '--json']);
    // The slow one rests three times as long as it works: its results come at a quarter of the rate.
    const slow = startCli(['worker', '--hub', net.hubUrl, '--data', join(dir.path, 'slow'), '--intensity', '25', '--json']);
    let created: JobCreated | null = null;
    try {
      // Both measured (their benchmarks in the hub) before the job comes: both lease from its start.
      await until(
        'both workers’ benchmarks',
        async () => (await net.hub.db.query<{ n: number }>("SELECT count(*)::int AS n FROM worker_rates WHERE kind = 'render' AND benchmark_rate IS NOT NULL")).rows[0]!.n === 2,
        120_000,
        250,
      );
      const made = JobCreatedSchema.parse(await (await customer('/v1/jobs', { method: 'POST', body: JSON.stringify(job) })).json());
      created = made;
      assert.equal(made.tasks, 2, 'one task per tile at submit');
      await until('the job done', async () => JobStatusSchema.parse(await (await customer(`/v1/jobs/${made.id}`)).json()).status === 'done', 300_000, 250);
    } finally {
      fast.child.kill('SIGTERM');
      slow.child.kill('SIGTERM');
      await Promise.all([fast.exit, slow.exit]);
    }
    assert.ok(created);
    const tasks = (
      await net.hub.db.query<{ id: string; part: number; start: string; count: number; status: string }>('SELECT id, part, start, count, status FROM tasks WHERE job_id = ? ORDER BY part, start::int', [created.id])
    ).rows;
    // Each tile's runs cover its samples once.
    for (const part of [0, 1]) {
      let next = 0;
      for (const t of tasks.filter((x) => x.part === part)) {
        assert.equal(Number(t.start), next, `tile ${part}: no gap, no overlap`);
        assert.equal(t.status, 'done');
        next += t.count;
      }
      assert.equal(next, job.samples, `tile ${part}: every sample`);
    }
    // Each worker's runs, in the order it was credited for them.
    const count = new Map(tasks.map((t) => [t.id, t.count]));
    const sizes = (run: typeof fast): number[] => run.events.filter(isCredited).map((e) => count.get(e.taskId)!);
    const [fastSizes, slowSizes] = [sizes(fast), sizes(slow)];
    console.log(`samples a run: fast ${fastSizes.join(', ')}; slow (intensity 25) ${slowSizes.join(', ')}`);
    assert.equal(fastSizes.length + slowSizes.length, tasks.length, 'every run credited to one of them, once');
    assert.ok(fastSizes.length > 3 && slowSizes.length > 3, 'both worked past their first tasks');
    // Medians: each one's first runs are a new key's (one sample), then its rate settles; a run
    // now and then is off (results arriving together make a short time; a tile's last run is
    // what is left of it).
    const median = (xs: number[]): number => {
      const s = [...xs].sort((x, y) => x - y);
      return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
    };
    assert.ok(median(fastSizes) > median(slowSizes), 'the fast one got larger runs');

    // The picture's pixels across the two tiles' edge: the reference's, to the rounding of each
    // run's mean to f16 (as the worker sends it: 2⁻¹¹ of a value) and of a mean of means in f32.
    const res = await customerOf(net)(`/v1/jobs/${created.id}/result`, { headers: { accept: 'application/octet-stream' } });
    const picture = new Float32Array(await res.arrayBuffer());
    const edge = { width: job.width, height: job.height, x: 120, y: 40, w: 16, h: 16, sampleStart: 0, sampleCount: job.samples, seed: job.seed ?? 0 };
    const want = render.renderReference(job.scene, edge);
    for (let y = 0; y < edge.h; y++) {
      for (let x = 0; x < edge.w; x++) {
        for (let c = 0; c < 3; c++) {
          const got = picture[3 * ((edge.y + y) * job.width + edge.x + x) + c]!;
          const ref = want[3 * (y * edge.w + x) + c]!;
          assert.ok(Math.abs(got - ref) <= (2 ** -11 + 1e-5) * Math.abs(ref) + 1e-6, `pixel (${edge.x + x}, ${edge.y + y}): ${got}, the reference ${ref}`);
        }
      }
    }
  });
});
