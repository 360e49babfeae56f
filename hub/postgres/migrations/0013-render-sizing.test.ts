/**
 * Migration 13 (render sizing) on a database of version 12: render tasks cut the old way (one a
 * tile and a pass, `row0` the tile-major index of both) get their tile (`part`) and weight (the
 * tile's pixels × operations per sample), keep the params they had, and are carved by the lease
 * like the new ones; other tasks weigh 1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from '../../../kernels/index.js';
import { renderParamsOf, type RenderJobSpec } from '../../kinds/render.js';
import { DEFAULT_STANDING } from '../../standing.js';
import { openHubDb } from '../../store/db.js';
import type { JobRow } from '../../store/jobs.js';
import { getTask } from '../../store/tasks.js';
import { claimTask } from '../../worker-requests.js';
import { freshDatabase } from '../testing.js';
import { migratePg } from './index.js';

const now = '2030-01-01T00:00:00.000Z';

describe('PostgreSQL migration 13: render sizing', () => {
  it('gives render tasks of version 12 their tile and weight, with the params they had, and carves them', async (t) => {
    const fresh = await freshDatabase(t, { empty: true });
    await migratePg(fresh.url, { target: 12 });
    const db = await openHubDb(fresh.url, { targetVersion: false });
    t.after(() => db.close());
    // 301×200 in two tiles (150 and 151 pixels wide), 10 samples in passes of 4: 3 passes a tile.
    const spec: RenderJobSpec = { width: 301, height: 200, samples: 10, seed: 3, flopsPerSample: 1000, tilesX: 2, tilesY: 1, samplesPerPass: 4, scene: render.boxScene() as RenderJobSpec['scene'] };
    await db.query("INSERT INTO customers (id, name, api_key_hash, created_at) VALUES ('cus_1', 'c', ?, ?)", ['a'.repeat(64), now]);
    await db.query("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at, spec) VALUES ('job_r', 'cus_1', 'render', 200, 301, 10, ''::bytea, ''::bytea, 'queued', '60', 6, ?, ?)", [now, JSON.stringify(spec)]);
    const old = (index: number): { x: number; w: number; sampleStart: number; sampleCount: number } => {
      const [tile, pass] = [Math.floor(index / 3), index % 3];
      return { x: tile === 0 ? 0 : 150, w: tile === 0 ? 150 : 151, sampleStart: 4 * pass, sampleCount: Math.min(4, 10 - 4 * pass) };
    };
    for (let i = 0; i < 6; i++) {
      await db.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at, start, count) VALUES (?, 'job_r', 'render', ?, 1, 'queued', '10', ?, ?, ?)", [`task_${i}`, i, now, String(old(i).sampleStart), old(i).sampleCount]);
    }
    await db.query("INSERT INTO jobs (id, customer_id, kind, m, n, k, a, b, status, price, tasks_total, created_at) VALUES ('job_h', 'cus_1', 'hashsearch', 1, 1, 1, ''::bytea, ''::bytea, 'queued', '1', 1, ?)", [now]);
    await db.query("INSERT INTO tasks (id, job_id, kind, row0, rows, status, reward, created_at, start, count) VALUES ('task_h', 'job_h', 'hashsearch', 0, 1, 'queued', '1', ?, '0', 4096)", [now]);

    await migratePg(fresh.url, { target: 13 });
    // The row as version 13 has it (today's getJob also reads migration 15's counts).
    const job = (await db.query<JobRow>("SELECT * FROM jobs WHERE id = 'job_r'")).rows[0]!;
    for (let i = 0; i < 6; i++) {
      const task = (await getTask(db, `task_${i}`))!;
      const tile = Math.floor(i / 3);
      assert.equal(task.part, tile, `task ${i}: its tile`);
      assert.equal(task.weight, old(i).w * 200 * 1000, `task ${i}: its tile's operations a sample`);
      const p = renderParamsOf(task, job);
      assert.deepEqual([p.x, p.y, p.w, p.h, p.sampleStart, p.sampleCount], [old(i).x, 0, old(i).w, 200, old(i).sampleStart, old(i).sampleCount], `task ${i}: the params it had`);
    }
    const h = (await getTask(db, 'task_h'))!;
    assert.deepEqual([h.part, h.weight], [null, 1]);

    // A new key whose size is one sample of the first tile gets the first sample of the oldest pass,
    // carved, by today's lease (the versions after 13 are the lease's own).
    await migratePg(fresh.url);
    const worker = '0x1111111111111111111111111111111111111111';
    const ctx = { standing: DEFAULT_STANDING, renderTaskFlops: 150 * 200 * 1000 };
    const { task: leased } = await claimTask(db, ctx, worker, ['render'], now, '2030-01-01T00:10:00.000Z');
    assert.ok(leased);
    assert.notEqual(leased.id, 'task_0');
    assert.deepEqual([leased.part, leased.weight, leased.start, leased.count], [0, 150 * 200 * 1000, '0', 1]);
    const rest = (await getTask(db, 'task_0'))!;
    assert.deepEqual([rest.status, rest.part, rest.start, rest.count], ['queued', 0, '1', 3]);
    assert.equal(Number(rest.reward) + Number((await getTask(db, leased.id))!.reward), 10, 'the reward split, none lost');
  });
});
