/**
 * A hub paying on a real chain (anvil) against a crowd of cheating workers: random output, one
 * wrong element, a partial hashsearch, replayed results, a replayed sign-in, another worker's
 * lease, two keys "agreeing" on a made-up hashsearch result, a hoarder of leases (more attacks,
 * without a chain, in hub/trust.test.ts), render tiles with fewer samples, blurred or copied from
 * another tile. The cheaters earn exactly nothing, on the ledger or on
 * chain, and the ones whose results are rejected are cut off; the honest workers are paid exactly
 * what they earned.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import {
  EarningsResponseSchema,
  LeaseResponseSchema,
  LoginResponseSchema,
  PayoutsResponseSchema,
  ResultResponseSchema,
  base64ToF32,
  f32ToBase64, toF32,
  type Task,
} from '../protocol/index.js';
import { hashsearch, matmul, render } from '../kernels/index.js';
import { startHub, type Hub } from '../hub/server.js';
import { call, challenge, errorOf, matmulJobBody, signIn, startTestChain, tempDir, TEST_RENDER_TILE_PIXELS, type TestChain } from '../hub/testkit.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';

const HEADER = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const TARGET = `007${'f'.repeat(61)}`;

const rightAnswer = (task: Task): Record<string, unknown> => {
  if (task.kind === 'matmul') return { c: f32ToBase64(matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b))) };
  if (task.kind === 'render') return { rgb: f32ToBase64(render.renderReference(task.inputs.scene, task.params)) };
  const r = hashsearch.hashsearchReference({ ...task.params, start: BigInt(task.params.start) });
  return { nonces: r.nonces.map(String), best: { nonce: String(r.best.nonce), hash: r.best.hash } };
};

describe('cheating workers on a hub that pays on chain', () => {
  let chain: TestChain;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let hub: Hub;
  let customerKey: string;
  const honest = [Wallet.createRandom(), Wallet.createRandom()];
  const cheaters = {
    random: Wallet.createRandom(),
    oneWrong: Wallet.createRandom(),
    partial: Wallet.createRandom(),
    replayer: Wallet.createRandom(),
    thief: Wallet.createRandom(),
    // One person with two keys, "agreeing" on a made-up hashsearch result (one hash, not a search).
    twinA: Wallet.createRandom(),
    twinB: Wallet.createRandom(),
    hoarder: Wallet.createRandom(),
    // Render: a tile with half its samples, a blurred tile, a tile copied from elsewhere in the picture.
    fewerSamples: Wallet.createRandom(),
    blurrer: Wallet.createRandom(),
    copier: Wallet.createRandom(),
  };
  const tokens = new Map<string, string>();
  const tok = (w: { address: string }): string => tokens.get(w.address)!;

  before(async () => {
    chain = await startTestChain();
    dir = await tempDir();
    hub = await startHub({
      db: await testDatabaseUrl(),
      chain: { rpcUrl: chain.rpcUrl, token: chain.token, treasuryKey: chain.treasuryKey, payoutThreshold: 1n, pollMs: 200 },
      hashsearchTaskCount: 4096,
      // Two tiles of the 256×64 picture: a copier copies one to the other.
      renderTilePixels: TEST_RENDER_TILE_PIXELS,
      // Every worker here is on 127.0.0.1; a replica whose picked worker does not come goes to
      // another within 0.2 s; the hub's own stretch check is tested in hub/trust.test.ts.
      replicaPolicy: { loopbackDistinct: true, assignMs: 200 },
      replication: { submitCheckNonces: 0 },
      maintenanceMs: 100,
      customerStartingBalance: 10n ** 30n,
    });
    customerKey = await hub.createCustomer('acme');
    for (const w of [...honest, ...Object.values(cheaters)]) tokens.set(w.address, await signIn(hub.url, w));
  });
  after(async () => {
    await hub?.close();
    await chain?.stop();
    await dir?.remove();
  });

  const newJob = async (body: unknown): Promise<void> => {
    const r = await call(`${hub.url}/v1/jobs`, { token: customerKey, body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  const lease = async (w: { address: string }, kinds: string[]): Promise<Task> => {
    const r = await call(`${hub.url}/v1/tasks/lease`, { token: tok(w), body: { kinds } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return LeaseResponseSchema.parse(r.body).task;
  };
  const submit = (w: { address: string }, id: string, output: unknown) => call(`${hub.url}/v1/tasks/${id}/result`, { token: tok(w), body: { output } });
  const judged = async (w: { address: string }, id: string, output: unknown) => {
    const r = await submit(w, id, output);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return ResultResponseSchema.parse(r.body);
  };
  /**
   * Honest workers do whatever is queued (replicas the hub gives them included) until no task is
   * left: a replica the hub gave a cheater, who never comes for it, goes to another worker soon.
   */
  const drain = async (): Promise<void> => {
    const open = async (): Promise<number> => (await hub.db.query<{ n: number }>("SELECT count(*) AS n FROM tasks WHERE status != 'done'")).rows[0]!.n;
    for (const deadline = Date.now() + 30_000; (await open()) > 0; ) {
      assert.ok(Date.now() < deadline, `${await open()} tasks still open after 30 s`);
      let worked = false;
      for (const w of honest) {
        const r = await call(`${hub.url}/v1/tasks/lease`, { token: tok(w), body: { kinds: ['matmul', 'hashsearch', 'render'] } });
        if (r.status === 204) continue;
        worked = true;
        const task = LeaseResponseSchema.parse(r.body).task;
        assert.notEqual((await judged(w, task.id, rightAnswer(task))).status, 'rejected');
      }
      if (!worked) await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('random output, one wrong element and a partial hashsearch are rejected, three times over, then cut off', async () => {
    for (let round = 0; round < 3; round++) {
      await newJob(matmulJobBody(12, 10, 14, 100 + round).body);
      const t1 = await lease(cheaters.random, ['matmul']);
      const junk = new Float32Array(12 * 10).map(() => Math.random());
      assert.equal((await judged(cheaters.random, t1.id, { c: f32ToBase64(junk) })).status, 'rejected');

      const t2 = await lease(cheaters.oneWrong, ['matmul']);
      assert.equal(t2.id, t1.id, 'the rejected task is back at the front');
      const c = base64ToF32(String(rightAnswer(t2).c));
      c[7] = c[7]! + 0.5;
      assert.equal((await judged(cheaters.oneWrong, t2.id, { c: f32ToBase64(c) })).status, 'rejected');
      await drain();

      await newJob({ kind: 'hashsearch', header: HEADER, target: TARGET, start: String(round * 4096), count: 4096 });
      const t3 = await lease(cheaters.partial, ['hashsearch']);
      const truth = rightAnswer(t3) as { nonces: string[]; best: { nonce: string } };
      const dropped = truth.nonces.find((n) => n !== truth.best.nonce);
      assert.ok(dropped !== undefined);
      // It passes the rehash, so it waits for a second worker, who proves it wrong.
      assert.equal((await judged(cheaters.partial, t3.id, { ...truth, nonces: truth.nonces.filter((n) => n !== dropped) })).status, 'pending');
      await drain();
    }
    for (const w of [cheaters.random, cheaters.oneWrong, cheaters.partial]) {
      const r = await call(`${hub.url}/v1/tasks/lease`, { token: tok(w), body: { kinds: ['matmul', 'hashsearch'] } });
      assert.equal(r.status, 403);
      assert.equal(errorOf(r).code, 'WORKER_SUSPENDED');
    }
  });

  it('a replayed result, a replayed sign-in and another worker’s lease get nothing', async () => {
    // Replayed result: the honest answer for a task already credited, and the same bytes for another task.
    await newJob(matmulJobBody(9, 9, 9, 7).body);
    await newJob(matmulJobBody(9, 9, 9, 8).body);
    const done = await lease(honest[0]!, ['matmul']);
    const answer = rightAnswer(done);
    assert.equal((await judged(honest[0]!, done.id, answer)).status, 'accepted');
    const replay = await submit(cheaters.replayer, done.id, answer);
    assert.equal(replay.status, 409);
    assert.equal(errorOf(replay).code, 'ALREADY_DONE');
    const other = await lease(cheaters.replayer, ['matmul']);
    assert.equal((await judged(cheaters.replayer, other.id, answer)).status, 'rejected');

    // Another worker's lease: a correct answer, but not the thief's task.
    const theirs = await lease(honest[1]!, ['matmul']);
    const stolen = await submit(cheaters.thief, theirs.id, rightAnswer(theirs));
    assert.equal(stolen.status, 403);
    assert.equal(errorOf(stolen).code, 'NOT_YOUR_LEASE');
    assert.equal((await judged(honest[1]!, theirs.id, rightAnswer(theirs))).status, 'accepted');

    // Replayed sign-in: an honest worker's signed message, used again by someone who saw it.
    const message = await challenge(hub.url, honest[0]!.address);
    const signature = await honest[0]!.signMessage(message);
    const first = await call(`${hub.url}/v1/auth/login`, { body: { message, signature } });
    LoginResponseSchema.parse(first.body);
    const replayed = await call(`${hub.url}/v1/auth/login`, { body: { message, signature } });
    assert.equal(replayed.status, 401);
    assert.equal(errorOf(replayed).code, 'NONCE_USED');
    await drain();
  });

  it('two keys of one person agreeing on a made-up hashsearch result get nothing; a hoarder holds no more than its cap', async () => {
    await newJob({ kind: 'hashsearch', header: HEADER, target: TARGET, start: String(1 << 20), count: 4 * 4096 });
    const madeUp = (task: Task): Record<string, unknown> => {
      if (task.kind !== 'hashsearch') throw new Error('expected hashsearch');
      const first = { ...task.params, start: BigInt(task.params.start), count: 1 };
      const one = hashsearch.hashsearchReference(first);
      return { nonces: [], best: { nonce: task.params.start, hash: one.best.hash } };
    };
    for (const twin of [cheaters.twinA, cheaters.twinB]) {
      const task = await lease(twin, ['hashsearch']);
      const r = await judged(twin, task.id, madeUp(task));
      assert.equal(r.status, 'rejected', 'one hash is not a search of 4096 nonces');
      assert.match(r.reason ?? '', /too high for a search/);
    }
    // Hoarding: a fresh key holds three leases, whatever is queued.
    let held = 0;
    for (;;) {
      const r = await call(`${hub.url}/v1/tasks/lease`, { token: tok(cheaters.hoarder), body: { kinds: ['hashsearch'] } });
      if (r.status === 204) break;
      held++;
    }
    assert.equal(held, 3);
    // Its leases go back once they lapse; the honest workers finish the job meanwhile.
    await hub.db.query("UPDATE tasks SET lease_expires_at = '2000-01-01T00:00:00.000Z' WHERE lease_worker = ?", [cheaters.hoarder.address]);
    await drain();
  });

  it('render tiles with fewer samples, blurred or copied from another tile are rejected and earn nothing', async () => {
    // Two tiles side by side (128×64 each), 2 samples a pixel, in one pass.
    await newJob({ kind: 'render', width: 256, height: 64, samples: 2, seed: 4242, scene: render.boxScene() });
    const renderTask = (task: Task): Extract<Task, { kind: 'render' }> => {
      if (task.kind !== 'render') throw new Error('expected render');
      return task;
    };
    const cheats: Array<[{ address: string }, (task: Extract<Task, { kind: 'render' }>) => Float32Array]> = [
      [cheaters.fewerSamples, (task) => render.renderReference(task.inputs.scene, { ...task.params, sampleCount: 1 })],
      [
        cheaters.blurrer,
        (task) => {
          const truth = render.renderReference(task.inputs.scene, task.params);
          return truth.map((v, i) => (i + 3 < truth.length ? (v + truth[i + 3]!) / 2 : v));
        },
      ],
      [cheaters.copier, (task) => render.renderReference(task.inputs.scene, { ...task.params, x: task.params.x === 0 ? 128 : 0 })],
    ];
    for (const [cheater, fake] of cheats) {
      const task = renderTask(await lease(cheater, ['render']));
      const r = await judged(cheater, task.id, { rgb: f32ToBase64(fake(task)) });
      assert.equal(r.status, 'rejected');
      assert.equal(r.credited, '0');
    }
    // Honest workers render the picture; the cheaters' rejections are then confirmed (strikes).
    await drain();
  });

  it('cheaters earn exactly nothing; honest workers are paid exactly what they earned, once', async () => {
    // Replicas settle in the hub's maintenance loop (every 0.1 s), so a credit may turn verified
    // just after a payout run: pay until nothing honest is left pending or unpaid (10 s at most).
    const unsettled = async (): Promise<boolean> => {
      for (const w of honest) {
        const b = EarningsResponseSchema.parse((await call(`${hub.url}/v1/earnings`, { token: tok(w) })).body).balance;
        if (b.pending !== '0' || b.verified !== '0') return true;
      }
      return false;
    };
    const deadline = Date.now() + 10_000;
    for (;;) {
      await hub.payNow();
      if (!(await unsettled()) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const w of Object.values(cheaters)) {
      const ledger = EarningsResponseSchema.parse((await call(`${hub.url}/v1/earnings`, { token: tok(w) })).body);
      assert.deepEqual(ledger.balance, { pending: '0', verified: '0', paid: '0' }, `${w.address} earned nothing`);
      assert.ok(ledger.entries.every((e) => e.status === 'rejected' && e.amount === '0'));
      assert.deepEqual(await chain.transfersTo(w.address), [], 'and was sent nothing');
      assert.equal(await chain.balanceOf(w.address), 0n);
    }
    for (const w of honest) {
      const ledger = EarningsResponseSchema.parse((await call(`${hub.url}/v1/earnings?limit=1000`, { token: tok(w) })).body);
      const earned = ledger.entries.reduce((s, e) => s + BigInt(e.amount), 0n);
      assert.ok(earned > 0n);
      assert.deepEqual(ledger.balance, { pending: '0', verified: '0', paid: earned.toString() });
      const payouts = PayoutsResponseSchema.parse((await call(`${hub.url}/v1/payouts`, { token: tok(w) })).body).payouts;
      assert.ok(payouts.every((p) => p.status === 'confirmed'));
      const transfers = await chain.transfersTo(w.address);
      assert.deepEqual(transfers.map((t) => t.txHash).sort(), payouts.map((p) => p.txHash).sort(), 'one transfer per payout');
      assert.equal(await chain.balanceOf(w.address), earned);
    }
  });
});
