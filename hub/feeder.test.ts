import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Wallet } from 'ethers';
import { HealthSchema, LeaseResponseSchema, ResultResponseSchema, f32ToBase64, toF32, type Task } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { startDevnet } from './devnet.js';
import { FEEDER_MAX_NONCES, FEEDER_MIN_NONCES } from '../jobs/hashsearch.js';
import { JOB_SPECS } from '../jobs/index.js';
import { FEEDER_MAX_SIDE, FEEDER_MIN_SIDE } from '../jobs/matmul.js';
import { FEEDER_MAX_SIDE as RENDER_FEEDER_MAX_SIDE, FEEDER_MIN_SIDE as RENDER_FEEDER_MIN_SIDE } from '../jobs/render.js';
import { DEFAULT_REWARD_PER_GFLOP, DEFAULT_REWARD_PER_MHASH } from './jobs.js';
import { startFeeder, type FeederEvent } from './feeder.js';
import { expectedMatches } from './kinds/hashsearch.js';
import { call, matmulJobBody, signIn, startTestHub, tempDir, type TestHub } from './testkit.js';

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

describe('demo job feeder', () => {
  let t: TestHub;
  let token: string;
  before(async () => {
    t = await startTestHub();
    token = await signIn(t.hub.url, Wallet.createRandom());
  });
  after(() => t.close());

  async function lease(): Promise<Task> {
    const r = await call(`${t.hub.url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } });
    assert.equal(r.status, 200);
    return LeaseResponseSchema.parse(r.body).task;
  }
  async function finish(task: Task): Promise<void> {
    assert.equal(task.kind, 'matmul');
    if (task.kind !== 'matmul') return;
    const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
    const r = await call(`${t.hub.url}/v1/tasks/${task.id}/result`, { token, body: { output: { c: f32ToBase64(c) } } });
    assert.equal(ResultResponseSchema.parse(r.body).status, 'accepted');
  }
  const jobOfTask = async (taskId: string): Promise<string> =>
    (await t.hub.db.query<{ job_id: string }>('SELECT job_id FROM tasks WHERE id = ?', [taskId])).rows[0]!.job_id;

  it('keeps its backlog full of small one-task jobs, and real customer jobs are not starved', async () => {
    const feederKey = await t.hub.createCustomer('feeder');
    const customerKey = await t.hub.createCustomer('customer');
    const events: FeederEvent[] = [];
    const feeder = startFeeder({ hubUrl: t.hub.url, customerKey: feederKey, backlogs: { matmul: 2, hashsearch: 0, render: 0 }, intervalMs: 20, random: seeded(42), onEvent: (e) => events.push(e) });
    const submitted = () => events.filter((e) => e.type === 'submitted');
    try {
      await waitFor('two feeder jobs', () => submitted().length >= 2);
      await sleep(100);
      assert.equal(submitted().length, 2, 'no more than the backlog while nothing finishes');
      assert.deepEqual(events.filter((e) => e.type === 'error'), []);
      for (const e of submitted()) {
        if (e.type !== 'submitted' || e.kind !== 'matmul') continue;
        for (const side of [e.m, e.n, e.k]) assert.ok(side >= FEEDER_MIN_SIDE && side <= FEEDER_MAX_SIDE);
        const tasks = (await t.hub.db.query<{ c: number }>('SELECT count(*) AS c FROM tasks WHERE job_id = ?', [e.id])).rows[0]!;
        assert.equal(tasks.c, 1);
      }

      const created = await call(`${t.hub.url}/v1/jobs`, { token: customerKey, body: matmulJobBody(30, 20, 10).body });
      assert.equal(created.status, 201);
      const customerJob = (created.body as { id: string }).id;

      // The two feeder tasks queued before the customer job go first...
      const feederJobs = submitted().map((e) => (e.type === 'submitted' ? e.id : ''));
      for (let i = 0; i < 2; i++) {
        const task = await lease();
        assert.ok(feederJobs.includes(await jobOfTask(task.id)));
        await finish(task);
      }
      // ...the feeder tops up its backlog, but those new jobs queue behind the customer's.
      await waitFor('the feeder to top up', () => submitted().length >= 4);
      assert.equal(await jobOfTask((await lease()).id), customerJob);
      assert.ok(feeder.pending.length <= 2);
    } finally {
      await feeder.stop();
    }
    const count = submitted().length;
    await sleep(80);
    assert.equal(submitted().length, count, 'nothing is submitted after stop()');
  });
});

describe('demo hashsearch jobs', () => {
  it('are one small task each, with a target about four nonces of the range meet', async () => {
    const t = await startTestHub();
    const events: FeederEvent[] = [];
    const feeder = startFeeder({ hubUrl: t.hub.url, customerKey: await t.hub.createCustomer('feeder'), backlogs: { matmul: 0, hashsearch: 2, render: 0 }, intervalMs: 20, random: seeded(7), onEvent: (e) => events.push(e) });
    try {
      await waitFor('two hashsearch jobs', () => events.filter((e) => e.type === 'submitted').length >= 2);
      for (const e of events) {
        if (e.type !== 'submitted') continue;
        assert.equal(e.kind, 'hashsearch');
        if (e.kind !== 'hashsearch') continue;
        assert.ok(e.count >= FEEDER_MIN_NONCES && e.count <= FEEDER_MAX_NONCES);
        const spec = JSON.parse((await t.hub.db.query<{ spec: string }>('SELECT spec FROM jobs WHERE id = ?', [e.id])).rows[0]!.spec) as { target: string; count: number };
        assert.ok(Math.abs(expectedMatches(spec.target, spec.count) - 4) < 1e-6);
        assert.equal((await t.hub.db.query<{ c: number }>('SELECT count(*) AS c FROM tasks WHERE job_id = ?', [e.id])).rows[0]!.c, 1);
      }
      const one = JOB_SPECS.hashsearch.demo.make(seeded(3));
      assert.equal(one.kind, 'hashsearch');
    } finally {
      await feeder.stop();
      await t.close();
    }
  });
});

describe('demo render jobs', () => {
  it('are one task each: one of the project scenes, one tile, one pass', async () => {
    const t = await startTestHub();
    const events: FeederEvent[] = [];
    const feeder = startFeeder({ hubUrl: t.hub.url, customerKey: await t.hub.createCustomer('feeder'), backlogs: { matmul: 0, hashsearch: 0, render: 3 }, intervalMs: 20, random: seeded(11), onEvent: (e) => events.push(e) });
    try {
      await waitFor('three render jobs', () => events.filter((e) => e.type === 'submitted').length >= 3);
      for (const e of events) {
        if (e.type !== 'submitted') continue;
        assert.equal(e.kind, 'render');
        if (e.kind !== 'render') continue;
        assert.ok(e.width >= RENDER_FEEDER_MIN_SIDE && e.width <= RENDER_FEEDER_MAX_SIDE && e.height >= RENDER_FEEDER_MIN_SIDE && e.height <= RENDER_FEEDER_MAX_SIDE);
        assert.equal((await t.hub.db.query<{ c: number }>('SELECT count(*) AS c FROM tasks WHERE job_id = ?', [e.id])).rows[0]!.c, 1);
        assert.ok(BigInt(e.price) <= JOB_SPECS.render.demo.maxPrice({ rewardPerGflop: DEFAULT_REWARD_PER_GFLOP, rewardPerMhash: DEFAULT_REWARD_PER_MHASH }));
      }
    } finally {
      await feeder.stop();
      await t.close();
    }
  });
});

describe('devnet', () => {
  it('starts a hub with a customer key and a feeder, and cleans its temp folder on close', async () => {
    const events: FeederEvent[] = [];
    const net = await startDevnet({ chain: false, feeder: { backlogs: { matmul: 1 }, intervalMs: 20 }, onFeederEvent: (e) => events.push(e) });
    try {
      assert.equal(net.chainId, 31337);
      assert.equal(net.rpc, null, 'chain: false runs no chain');
      assert.equal(net.token, null);
      assert.match(net.hubUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      HealthSchema.parse((await call(`${net.hubUrl}/v1/health`)).body);
      const r = await call(`${net.hubUrl}/v1/jobs/job_0000000000000000`, { token: net.customerKey });
      assert.equal(r.status, 404, 'the customer key is accepted');
      await waitFor('a feeder job', () => events.some((e) => e.type === 'submitted'));
    } finally {
      await net.close();
    }
    assert.equal(existsSync(net.dataDir), false);
  });

  it("keeps the hub's PostgreSQL in a given data folder", async () => {
    const dir = await tempDir();
    try {
      const net = await startDevnet({ dataDir: join(dir.path, 'nested'), feeder: false, chain: false });
      await net.close();
      assert.ok(existsSync(join(dir.path, 'nested', 'postgres', 'pgdata', 'PG_VERSION')));
    } finally {
      await dir.remove();
    }
  });
});
