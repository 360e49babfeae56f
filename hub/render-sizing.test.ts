/**
 * Render tasks sized to the card (hub/sizing.ts, migration 13), against a real hub on 127.0.0.1
 * and a real PostgreSQL: a render job is stored as one task per tile with all its samples, and
 * each lease carves from the head tile a run of samples worth about a second of the leasing
 * worker's render rate (the hub's clock advanced by each task's operations over the worker's
 * simulated rate). A key with no observed rate gets at most the new-key size whatever its
 * benchmark claims, and its benchmark's size when smaller; a tile rejected for a fast worker goes
 * only to a worker fast enough for it; every sample of every tile is rendered once; and the
 * picture is the CPU reference's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { bytesToF32, JobCreatedSchema, JobStatusSchema, LeaseResponseSchema, ResultResponseSchema, f32ToBase64, type Task } from '../protocol/index.js';
import { render } from '../kernels/index.js';
import { REPLICA_SLACK, rateOf, sizeFor } from './sizing.js';
import { renderSizing } from './kinds/render.js';
import { call, signIn, startTestHub, TEST_CUSTOMER_BALANCE, TEST_RENDER_TILE_PIXELS } from './testkit.js';

type RenderTask = Extract<Task, { kind: 'render' }>;

const SCENE = render.boxScene();
const WIDTH = 256;
const HEIGHT = 64;
const SAMPLES = 32;
/** Two tiles of 128×64: each sample of a tile is this many operations (the tasks' weight). */
const FLOPS_PER_SAMPLE = render.measureFlopsPerSample(SCENE, WIDTH, HEIGHT);
const TILE_SAMPLE = 128 * 64 * FLOPS_PER_SAMPLE;
/** A new key's most operations a task: 3½ samples of a tile, so 3 samples. */
const NEW_KEY_FLOPS = Math.round(3.5 * TILE_SAMPLE);
const SIZING = renderSizing({ renderTaskFlops: NEW_KEY_FLOPS });

interface Sim {
  name: string;
  wallet: ReturnType<typeof Wallet.createRandom>;
  token: string;
  /** Operations a second it "renders": the hub's clock moves by a task's operations over this. */
  rate: number;
}

describe('render tasks sized to the card', () => {
  it('carves each tile’s samples to each worker’s rate, caps new keys, keeps a rejected run from a slow worker, and assembles the reference’s picture', async () => {
    const t = await startTestHub({ renderTaskFlops: NEW_KEY_FLOPS, renderTilePixels: TEST_RENDER_TILE_PIXELS });
    try {
      const url = t.hub.url;
      const db = t.hub.db;
      const customer = await t.hub.createCustomer('studio');
      const sim = async (name: string, rate: number, renderGflops?: number): Promise<Sim> => {
        const wallet = Wallet.createRandom();
        const token = await signIn(url, wallet);
        const body = { appVersion: '0.1.0', state: 'working', gpus: [], ...(renderGflops === undefined ? {} : { benchmark: { gflops: 1e5, renderGflops } }) };
        assert.equal((await call(`${url}/v1/workers/heartbeat`, { token, body })).status, 200);
        return { name, wallet, token, rate };
      };
      // Slow: 1.5 samples of a tile a second, claiming 1,000 GFLOP/s. Mid: 2.5 a second, claiming
      // 2.2 (its benchmark). Fast: 8.5 a second, no benchmark; fast2 the same, never observed.
      const slow = await sim('slow', 1.5 * TILE_SAMPLE, 1000);
      const mid = await sim('mid', 2.5 * TILE_SAMPLE, (2.2 * TILE_SAMPLE) / 1e9);
      const fast = await sim('fast', 8.5 * TILE_SAMPLE);
      const fast2 = await sim('fast2', 8.5 * TILE_SAMPLE);

      // Before any result: the benchmark's size (render's own score, not the matmul gflops), at most the new key's.
      assert.equal(await sizeFor(db, slow.wallet.address, 'render', SIZING, TILE_SAMPLE), 3, 'a claimed 1,000 GFLOP/s buys nothing yet');
      assert.equal(await sizeFor(db, mid.wallet.address, 'render', SIZING, TILE_SAMPLE), 2, 'its benchmark: 2.2 samples a second');
      assert.equal(await sizeFor(db, fast.wallet.address, 'render', SIZING, TILE_SAMPLE), 3, 'no benchmark: the new-key size');

      const created = await call(`${url}/v1/jobs`, { token: customer, body: { kind: 'render', width: WIDTH, height: HEIGHT, samples: SAMPLES, seed: 5, scene: SCENE } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const job = JobCreatedSchema.parse(created.body);
      assert.equal(job.tasks, 2, 'one task per tile at submit');
      const stored = (await db.query<{ part: number; start: string; count: number; weight: number }>('SELECT part, start, count, weight FROM tasks WHERE job_id = ? ORDER BY part', [job.id])).rows;
      assert.deepEqual(stored, [
        { part: 0, start: '0', count: SAMPLES, weight: TILE_SAMPLE },
        { part: 1, start: '0', count: SAMPLES, weight: TILE_SAMPLE },
      ]);

      const lease = async (w: Sim): Promise<RenderTask | null> => {
        const r = await call(`${url}/v1/tasks/lease`, { token: w.token, body: { kinds: ['render'] } });
        if (r.status === 204) return null;
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return LeaseResponseSchema.parse(r.body).task as RenderTask;
      };
      /** Every honest run rendered, by task id, for the assembly below. */
      const rendered = new Map<string, { params: RenderTask['params']; rgb: Float32Array }>();
      const sizes = new Map<string, number[]>([slow, mid, fast, fast2].map((w) => [w.name, []]));
      const leasedBy = new Map<string, string[]>();
      const work = (w: Sim, task: RenderTask): void => {
        sizes.get(w.name)!.push(task.params.sampleCount);
        leasedBy.set(task.id, [...(leasedBy.get(task.id) ?? []), w.name]);
        t.clock.advance(Math.ceil((task.params.sampleCount * task.params.w * task.params.h * task.params.flopsPerSample * 1000) / w.rate));
      };
      const submit = async (w: Sim, task: RenderTask, rgb: Float32Array): Promise<string> => {
        const r = await call(`${url}/v1/tasks/${task.id}/result`, { token: w.token, body: { output: { rgb: f32ToBase64(rgb) } } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return ResultResponseSchema.parse(r.body).status;
      };
      /** Leases, "renders" for its operations over the worker's rate, submits the reference's tile. */
      const step = async (w: Sim): Promise<RenderTask | null> => {
        const task = await lease(w);
        if (!task) return null;
        work(w, task);
        const rgb = render.renderReference(task.inputs.scene, task.params);
        assert.equal(await submit(w, task, rgb), 'accepted');
        rendered.set(task.id, { params: task.params, rgb });
        return task;
      };

      // First tasks: the new-key cap, or the benchmark's size below it.
      assert.equal((await step(slow))!.params.sampleCount, 3);
      assert.equal((await step(mid))!.params.sampleCount, 2);
      assert.equal((await step(fast))!.params.sampleCount, 3);
      assert.ok(Math.abs((await rateOf(db, slow.wallet.address, 'render'))!.rate! / TILE_SAMPLE - 1.5) < 0.01, 'observed in operations a second');
      // Then about a second of each one's observed rate: 1 sample for the slow worker, 8 for the fast one.
      assert.equal((await step(slow))!.params.sampleCount, 1);
      assert.equal((await step(fast))!.params.sampleCount, 8);

      // The fast worker's next run, answered wrong (blurred): rejected; it keeps its range and is
      // answered, so it goes only to a worker that renders 8 samples in REPLICA_SLACK seconds.
      const bad = (await lease(fast))!;
      assert.equal(bad.params.sampleCount, 8);
      work(fast, bad);
      const truth = render.renderReference(bad.inputs.scene, bad.params);
      assert.equal(await submit(fast, bad, truth.map((v, i) => (i + 3 < truth.length ? (v + truth[i + 3]!) / 2 : v))), 'rejected');

      // Drain the tiles with the mid and fast workers (the slow one stays out) until only the rejected run is queued.
      for (let i = 0; i < 100; i++) {
        const open = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM tasks WHERE job_id = ? AND status = 'queued' AND id <> ?", [job.id, bad.id])).rows[0]!.n;
        if (open === 0) break;
        if (!(await step(i % 2 === 0 ? fast : mid))) break;
      }
      const queued = (await db.query<{ id: string }>("SELECT id FROM tasks WHERE job_id = ? AND status = 'queued'", [job.id])).rows;
      assert.deepEqual(queued, [{ id: bad.id }]);
      // The slow worker (1.5 samples a second: 6 in four seconds) is not given the 8-sample run.
      const slowRate = (await rateOf(db, slow.wallet.address, 'render'))!.rate!;
      assert.ok(slowRate * REPLICA_SLACK < 8 * TILE_SAMPLE);
      assert.equal(await lease(slow), null, 'nothing for the slow worker');
      // A new key is counted as doing its new-key size a second (14 samples in four): it may.
      const again = (await step(fast2))!;
      assert.equal(again.id, bad.id);
      assert.deepEqual([again.params.x, again.params.sampleStart, again.params.sampleCount], [bad.params.x, bad.params.sampleStart, 8], 'the same run, not carved');
      for (const [taskId, names] of leasedBy) assert.ok(taskId !== bad.id || !names.includes('slow'));

      const status = JobStatusSchema.parse((await call(`${url}/v1/jobs/${job.id}`, { token: customer })).body);
      assert.equal(status.status, 'done');
      assert.equal(status.progress.done, status.progress.total, 'progress counts the tasks carved');
      console.log(`render samples a task: ${[...sizes].map(([name, s]) => `${name} ${s.join(', ')}`).join('; ')}`);

      // Each tile's runs cover its samples exactly: no sample rendered twice or missed.
      const tasks = (
        await db.query<{ id: string; part: number; start: string; count: number; status: string; reward: string; weight: number }>(
          'SELECT id, part, start, count, status, reward, weight FROM tasks WHERE job_id = ? ORDER BY part, start::int',
          [job.id],
        )
      ).rows;
      assert.equal(tasks.length, status.progress.total);
      for (const part of [0, 1]) {
        let next = 0;
        for (const task of tasks.filter((x) => x.part === part)) {
          assert.equal(Number(task.start), next, `tile ${part}: no gap, no overlap`);
          assert.equal(task.status, 'done');
          assert.equal(task.weight, TILE_SAMPLE);
          next += task.count;
        }
        assert.equal(next, SAMPLES, `tile ${part}: every sample`);
      }
      // Each task credited once (the rejected answer earned nothing); the customer paid the price, exactly.
      const credits = (
        await db.query<{ task_id: string; n: number }>(
          "SELECT e.task_id, count(*)::int AS n FROM earnings e JOIN tasks t ON t.id = e.task_id WHERE t.job_id = ? AND e.status <> 'rejected' GROUP BY e.task_id",
          [job.id],
        )
      ).rows;
      assert.equal(credits.length, tasks.length);
      assert.ok(credits.every((c) => c.n === 1));
      assert.equal(tasks.reduce((s, x) => s + BigInt(x.reward), 0n), BigInt(job.price));
      const balance = (await call(`${url}/v1/customers/balance`, { token: customer })).body as { available: string; reserved: string };
      assert.equal(balance.reserved, '0');
      assert.equal(BigInt(balance.available), TEST_CUSTOMER_BALANCE - BigInt(job.price));

      // The picture: exactly the runs' reference tiles weighed by their samples, and the whole
      // reference's to f32 rounding (a mean of means is not bit for bit the mean).
      const raw = await call(`${url}/v1/jobs/${job.id}/result`, { token: customer, headers: { accept: 'application/octet-stream' } });
      assert.equal(raw.status, 200);
      const picture = bytesToF32(raw.body as Uint8Array);
      const sums = new Float64Array(3 * WIDTH * HEIGHT);
      for (const task of tasks) {
        const run = rendered.get(task.id)!;
        render.addPass(sums, WIDTH, run.params, run.rgb, run.params.sampleCount);
      }
      assert.deepEqual(picture, render.meanImage(sums, SAMPLES));
      const whole = render.renderReference(SCENE, { width: WIDTH, height: HEIGHT, x: 0, y: 0, w: WIDTH, h: HEIGHT, sampleStart: 0, sampleCount: SAMPLES, seed: 5 });
      let worst = 0;
      for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(picture[i]! - whole[i]!) / (Math.abs(whole[i]!) + 1e-6));
      assert.ok(worst < 1e-5, `off the reference by ${worst} at most`);
    } finally {
      await t.close();
    }
  });
});
