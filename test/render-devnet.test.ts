/**
 * The example render job (examples/render-job.json, at a smaller size and sample count so that a
 * software GPU renders it in seconds) through the devnet with the real `idleforge worker` on
 * Dawn/SwiftShader: the picture the hub assembles is checked by its properties (mean brightness,
 * and its structural similarity to the CPU reference's picture), not by exact pixels; the worker
 * keeps a thumbnail of each tile it rendered for its dashboard.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobCreatedSchema, JobStatusSchema, RenderJobRequestSchema, type CliEvent } from '../protocol/index.js';
import { render } from '../kernels/index.js';
import { startDevnet, type Devnet } from '../hub/devnet.js';
import { decodeRgbPng } from '../lib/png.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';
import { WorkerStore } from '../worker/store/index.js';
import { startCli, tempDir } from './helpers.js';

const EXAMPLE = RenderJobRequestSchema.parse(JSON.parse(readFileSync(new URL('../examples/render-job.json', import.meta.url), 'utf8')));

describe('the example render job through the devnet', () => {
  const dir = tempDir('render-devnet');
  let net: Devnet;

  before(async () => {
    net = await startDevnet({ db: await testDatabaseUrl(), dataDir: join(dir.path, 'devnet'), chain: false, feeder: false });
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
    const customer = (path: string, init: RequestInit = {}): Promise<Response> =>
      fetch(`${net.hubUrl}${path}`, { ...init, headers: { authorization: `Bearer ${net.customerKey}`, 'content-type': 'application/json', ...init.headers } });
    const created = JobCreatedSchema.parse(await (await customer('/v1/jobs', { method: 'POST', body: JSON.stringify(job) })).json());
    assert.equal(created.tasks, 2, 'two tiles of 128×96, one pass each');

    const worker = startCli(['worker', '--hub', net.hubUrl, '--data', join(dir.path, 'worker'), '--once', String(created.tasks), '--json']);
    assert.equal(await worker.exit, 0, worker.stderr.join('\n'));
    const credited = worker.events.filter((e): e is Extract<CliEvent, { event: 'credited' }> => e.event === 'credited');
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

    const res = await customer(`/v1/jobs/${created.id}/result`);
    assert.equal(res.headers.get('content-type'), 'image/png');
    const picture = decodeRgbPng(new Uint8Array(await res.arrayBuffer()));
    assert.deepEqual([picture.width, picture.height], [256, 96]);

    const reference = render.toneMap(render.renderReference(job.scene, { width: 256, height: 96, x: 0, y: 0, w: 256, h: 96, sampleStart: 0, sampleCount: 4, seed: job.seed ?? 0 }));
    const mean = render.meanBrightness(picture.rgb);
    const wanted = render.meanBrightness(reference);
    const similarity = render.ssim(picture.rgb, reference, 256, 96);
    console.log(`picture: mean brightness ${mean.toFixed(2)} of 255 (reference ${wanted.toFixed(2)}), SSIM with the reference ${similarity.toFixed(4)}`);
    assert.ok(mean > 25 && mean < 200, 'neither black nor blown out');
    assert.ok(Math.abs(mean - wanted) <= 2, 'as bright as the reference');
    assert.ok(similarity >= 0.95, 'the same picture, structurally');
    // A measure that can fail: the picture against itself shifted by a few pixels is not similar.
    const shifted = reference.slice();
    shifted.copyWithin(0, 3 * 6);
    assert.ok(render.ssim(shifted, reference, 256, 96) < 0.95);
  });
});
