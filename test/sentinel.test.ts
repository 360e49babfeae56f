/**
 * The sentinel with a real worker: the engine against a real hub on 127.0.0.1, a real SQLite
 * store and real WebGPU (Dawn on SwiftShader), whose compute host is made to return wrong
 * results (its outputs corrupted after the GPU computed them). The hub's rejections of hashsearch
 * are certain, so each is a strike: at the first the worker lowers its duty cycle a step; at the
 * second (one short of the hub's limit of 3) it pauses and says why, and the hub never suspends it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { Wallet } from 'ethers';
import { DEFAULT_SETTINGS, type Settings, type Task } from '../protocol/index.js';
import { KernelError } from '../kernels/types.js';
import { createDawnHost } from '../worker/compute/dawn.js';
import type { ComputeHost } from '../worker/compute/compute-host.js';
import { connectSentinel, Sentinel, type SentinelState } from '../worker/costs/sentinel.js';
import { WorkerEngine } from '../worker/engine.js';
import { HubClient } from '../worker/hub-client.js';
import { Governor } from '../worker/schedule/governor.js';
import { WorkerStore } from '../worker/store/index.js';
import { call, startTestHub, type TestHub } from '../hub/testkit.js';
import { tempDir, until } from './helpers.js';

const HEADER = '49646c65666f726765206861736873656172636820746573742068656164657221';
const TARGET = `007${'f'.repeat(61)}`;
const TASK = 4096;
const REASON = 'Your GPU returned wrong results twice in 20 tasks: it may be overclocked too far or running too hot';

/** A compute host whose every hashsearch answer names a wrong best hash: the GPU ran, the answer is wrong. */
function corrupting(inner: ComputeHost): ComputeHost & { runs: number } {
  const host = {
    runs: 0,
    get adapter() {
      return inner.adapter;
    },
    async run(task: Task, signal?: AbortSignal) {
      const output = await inner.run(task, signal);
      host.runs += 1;
      const best = output.best as { nonce: string; hash: string } | undefined;
      if (!best) return output;
      const flipped = (best.hash[0] === '0' ? '1' : '0') + best.hash.slice(1);
      return { ...output, best: { ...best, hash: flipped } };
    },
    close: () => inner.close(),
  };
  return host;
}

describe('the sentinel, with a worker whose GPU returns wrong results', () => {
  const dir = tempDir('sentinel');
  let t: TestHub;
  let inner: ComputeHost;
  let key: string;

  before(async () => {
    t = await startTestHub({ now: () => Date.now(), hashsearchTaskCount: TASK, standing: { maxStrikes: 3 } });
    key = await t.hub.createCustomer('sentinel test');
    inner = await createDawnHost();
  });
  after(async () => {
    await inner.close();
    await t.close();
    dir.remove();
  });

  /** A worker's parts in folder `name`, its sentinel under the hub's strike limit `strikes`, all stopped after the test. */
  async function aWorker(ctx: TestContext, name: string, strikes: number) {
    const store = WorkerStore.open(join(dir.path, name));
    const settings = (): Settings => ({ ...DEFAULT_SETTINGS, idleMinutes: 0 });
    const governor = new Governor({
      settings,
      pause: () => ({ kind: 'none' }),
      sources: {
        idleSeconds: async () => Infinity,
        onBattery: async () => false,
        runningPrograms: async () => [],
        gpuSensors: async () => ({ temperatureC: null, utilizationPercent: null }),
      },
    });
    await governor.start();
    const stop = new AbortController();
    ctx.after(() => {
      stop.abort();
      governor.stop();
    });
    const wallet = Wallet.createRandom();
    const client = new HubClient({ hubUrl: t.hub.url, wallet });
    const sentinel = new Sentinel(store.sentinel, () => strikes);
    const disconnect = connectSentinel(sentinel, governor);
    // Disconnected before the store closes (its re-read runs on a timer).
    ctx.after(() => {
      disconnect();
      store.close();
    });
    return { store, settings, governor, stop, wallet, client, sentinel };
  }

  it('lowers the duty cycle at the first wrong result and pauses, saying why, one short of the hub’s strike limit', async (ctx) => {
    const job = await call(`${t.hub.url}/v1/jobs`, { token: key, body: { kind: 'hashsearch', header: HEADER, target: TARGET, start: '0', count: TASK * 8 } });
    assert.equal(job.status, 201, JSON.stringify(job.body));

    const client0 = new HubClient({ hubUrl: t.hub.url, wallet: Wallet.createRandom() });
    const rates = await client0.rates();
    assert.equal(rates.strikeLimit, 3, 'the hub publishes its strike limit');
    const { store, settings, governor, stop, wallet, client, sentinel } = await aWorker(ctx, 'w', rates.strikeLimit);
    const states: SentinelState[] = [];
    sentinel.onChange((s) => states.push(s));
    const host = corrupting(inner);
    const engine = new WorkerEngine({ client, host, store, gpus: [], governor, settings, sentinel, kinds: ['hashsearch'], appVersion: 'test', idleBackoffMs: { min: 50, max: 200 } });
    const running = engine.run({ signal: stop.signal });

    await until('the sentinel pauses work', async () => engine.status.blockedBy === 'gpu-faults', 120_000);
    assert.equal(engine.status.reason, REASON);
    assert.equal(engine.status.state, 'waiting');
    assert.deepEqual(
      states.map((s) => ({ faults: s.faults, cap: s.capPercent, paused: s.pausedReason !== null })),
      [
        { faults: 1, cap: 75, paused: false },
        { faults: 2, cap: 50, paused: true },
      ],
      'a step down at the first wrong result, a pause at the second',
    );
    assert.ok(store.stateLog.recent(50).some((c) => c.reason === REASON), 'the pause is in the state log ("Why am I not earning?")');

    // The hub struck twice and did not suspend the worker: the sentinel stopped one short.
    const standing = async (): Promise<{ strikes: number; suspended_at: string | null; tasks_rejected: number }> =>
      (await t.hub.db.query<{ strikes: number; suspended_at: string | null; tasks_rejected: number }>('SELECT strikes, suspended_at, tasks_rejected FROM workers WHERE address = ?', [wallet.address])).rows[0]!;
    const before = await standing();
    assert.equal(before.strikes, 2);
    assert.equal(before.suspended_at, null);

    // Paused means paused: no more tasks are run or answered while it lasts.
    const runs = host.runs;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(host.runs, runs, 'nothing more was run on the faulty GPU');
    assert.equal((await standing()).tasks_rejected, before.tasks_rejected);

    // A restart remembers both the pause and the faults.
    const again = new Sentinel(store.sentinel, () => 3);
    assert.equal(again.state.pausedReason, REASON);
    assert.equal(again.state.capPercent, 50);

    stop.abort();
    await running;
  });

  it('counts a lost device like a wrong result: a step down, then a pause, and the tasks go back to the hub unanswered', async (ctx) => {
    const job = await call(`${t.hub.url}/v1/jobs`, { token: key, body: { kind: 'hashsearch', header: HEADER, target: TARGET, start: String(TASK * 100), count: TASK * 4 } });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    // Tasks leased and not answered (the hub cuts a range into tasks as they are leased, so the
    // queue's count of tasks may grow; what is leased must come back to where it was).
    const leasedNow = async (): Promise<number | undefined> =>
      ((await call(`${t.hub.url}/v1/rates`)).body as { kinds: Array<{ kind: string; leased: number }> }).kinds.find((k) => k.kind === 'hashsearch')?.leased;
    const leasedBefore = await leasedNow();
    const { store, settings, governor, stop, wallet, client, sentinel } = await aWorker(ctx, 'w2', 3);
    const caps: Array<number | null> = [];
    sentinel.onChange((st) => caps.push(st.capPercent));
    // The device is lost in the middle of every task (a driver reset after an unstable overclock).
    let runs = 0;
    const host: ComputeHost = {
      get adapter() {
        return inner.adapter;
      },
      async run() {
        runs += 1;
        throw new KernelError('the GPU device was lost (test); the next task gets a new one', 'DEVICE_LOST');
      },
      close: async () => undefined,
    };
    const engine = new WorkerEngine({ client, host, store, gpus: [], governor, settings, sentinel, kinds: ['hashsearch'], appVersion: 'test', idleBackoffMs: { min: 50, max: 200 } });
    const running = engine.run({ signal: stop.signal });
    await until('the sentinel pauses work', async () => engine.status.blockedBy === 'gpu-faults', 60_000);
    assert.equal(engine.status.reason, 'Your GPU crashed (lost its device) twice in 20 tasks: it may be overclocked too far or running too hot');
    assert.equal(runs, 2);
    assert.deepEqual(caps, [75, 50], 'a step down at the first loss');
    const w = (await t.hub.db.query<{ strikes: number; tasks_rejected: number }>('SELECT strikes, tasks_rejected FROM workers WHERE address = ?', [wallet.address])).rows[0]!;
    assert.deepEqual({ strikes: w.strikes, rejected: w.tasks_rejected }, { strikes: 0, rejected: 0 }, 'nothing was answered');
    stop.abort();
    await running;
    // Every task it leased was given back: none is still leased.
    assert.equal(await leasedNow(), leasedBefore);
  });
});
