/**
 * The engine under its governor, with a real hub, a real SQLite store and real WebGPU: a game
 * starting mid-task stops the GPU at once and nothing is submitted; work resumes when the game
 * quits; every change is in the state log; an unreachable hub means "offline" and a calm backoff.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { DEFAULT_SETTINGS, f32ToBase64, type Settings } from '../protocol/index.js';
import { startHub, type Hub } from '../hub/server.js';
import { createDawnHost, hostForTests } from '../worker/compute/dawn.js';
import type { ComputeHost } from '../worker/compute/compute-host.js';
import { KernelError } from '../kernels/types.js';
import { WorkerEngine } from '../worker/engine.js';
import { SUBMITS_IN_FLIGHT } from '../worker/engine/task-pipeline.js';
import { HubClient } from '../worker/hub-client.js';
import { Governor } from '../worker/schedule/governor.js';
import { WorkerStore } from '../worker/store/index.js';
import { randomMatrix, tempDir } from './helpers.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';

describe('engine and governor', () => {
  const dir = tempDir('engine');
  let hub: Hub;
  let host: ComputeHost;
  let key: string;

  before(async () => {
    // Large tasks allowed: the first test needs one that runs long enough to be interrupted.
    hub = await startHub({ db: await testDatabaseUrl(), port: 0, matmulTaskMacs: 2 ** 31, customerStartingBalance: 10n ** 30n });
    key = await hub.createCustomer('schedule test');
    host = await createDawnHost();
  });
  after(async () => {
    await host.close();
    await hub.close();
    dir.remove();
  });

  const submitJob = async (m: number, n: number, k: number): Promise<void> => {
    const res = await fetch(`${hub.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'matmul', m, n, k, a: f32ToBase64(randomMatrix(m, k, m)), b: f32ToBase64(randomMatrix(k, n, n)) }),
    });
    assert.equal(res.status, 201);
  };

  it('a game starting mid-task stops the GPU at once, submits nothing, and work resumes when it quits', async (t) => {
    const store = WorkerStore.open(join(dir.path, 'w1'));
    let programs: string[] = [];
    const settings = (): Settings => ({ ...DEFAULT_SETTINGS, idleMinutes: 0 });
    const governor = new Governor({
      settings,
      pause: () => ({ kind: 'none' }),
      sources: {
        idleSeconds: async () => Infinity,
        onBattery: async () => false,
        runningPrograms: async () => programs,
        gpuSensors: async () => ({ temperatureC: null, utilizationPercent: null }),
      },
      intervals: { programs: 50 },
    });
    await governor.start();
    // A failed assertion must not leave the engine and the governor running (the file would never end).
    const stop = new AbortController();
    t.after(() => {
      stop.abort();
      governor.stop();
    });
    const client = new HubClient({ hubUrl: hub.url, wallet: Wallet.createRandom() });
    const events: string[] = [];
    const engine = new WorkerEngine({ client, host, store, gpus: [], governor, settings, appVersion: 'test', idleBackoffMs: { min: 50, max: 200 } });
    engine.onStatus((s) => events.push(`${s.state}:${s.reason}`));

    // Every submission to the GPU is counted, and those made after the stop signal fired. The
    // kernels check the signal just before each submission (synchronously), so there must be none.
    const device = hostForTests.device(host);
    assert.ok(device, 'the host opened its device at start');
    const queue = device.queue;
    const submitToQueue = queue.submit.bind(queue);
    let submits = 0;
    let submitsAfterStop = 0;
    let stopSeen = false;
    queue.submit = (buffers) => {
      submits += 1;
      if (stopSeen) submitsAfterStop += 1;
      submitToQueue(buffers);
    };

    // One large task (seconds on a CPU adapter, slices of about 50 ms), so the game starts while it runs.
    await submitJob(1024, 1024, 1024);
    const running = engine.run({ once: 2, signal: stop.signal });
    while (engine.status.task === null) await new Promise((r) => setTimeout(r, 5));
    // The signal the engine's task runs under: the same one for as long as work is allowed.
    governor.workSignal().addEventListener('abort', () => (stopSeen = true));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    programs = ['explorer.exe', 'Cyberpunk2077.exe'];
    while (engine.status.task !== null) await new Promise((r) => setTimeout(r, 5));
    // How soon is `bench pause`'s to measure; here, what happened: the GPU was given no work after
    // the stop, so all it still did was the slices already queued (two at most, see runSlices).
    t.diagnostic(`stopped ${(performance.now() - t0).toFixed(0)} ms after the game started (program list polled every 50 ms)`);
    assert.ok(stopSeen, 'the stop signal fired');
    assert.ok(submits > 0, 'the task was running on the GPU when the game started');
    assert.equal(submitsAfterStop, 0, 'nothing was submitted to the GPU after the stop');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(engine.status.state, 'waiting');
    assert.equal(engine.status.reason, 'Paused: Cyberpunk2077.exe is running');
    assert.equal(engine.status.blockedBy, 'blocked-program');
    assert.equal((await client.allEarnings()).entries.length, 0, 'the abandoned task was not submitted');
    // Given back to the hub at once: another worker gets it now, not when the lease lapses.
    const given = await new HubClient({ hubUrl: hub.url, wallet: Wallet.createRandom() }).lease(['matmul']);
    assert.ok(given?.kind === 'matmul', 'the stopped task is back in the queue');
    assert.deepEqual(given.params, { m: 1024, n: 1024, k: 1024 });
    for (let i = 0; i < 100 && hostForTests.device(host) !== null; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(hostForTests.device(host), null, 'the GPU device (and its memory) was released for the game');
    // How long that took, from noticing the game to the device destroyed and lost, is kept.
    for (let i = 0; i < 100 && engine.lastHandoffMs === null; i++) await new Promise((r) => setTimeout(r, 20));
    const handoff = store.stateLog.recent(50).find((c) => c.handoffMs !== undefined);
    assert.ok(handoff, 'the hand-back is in the state history');
    assert.match(handoff.reason, /^Gave the GPU back \(Cyberpunk2077\.exe is running\): its memory was freed [\d.]+ ms after Idleforge noticed$/);
    assert.equal(handoff.handoffMs, engine.lastHandoffMs);
    t.diagnostic(`GPU memory freed ${handoff.handoffMs} ms after the game was noticed`);

    // The game quits; small tasks come and are credited.
    await submitJob(8, 8, 8);
    await submitJob(8, 8, 8);
    programs = [];
    const result = await running;
    assert.ok(result.credited >= 2);
    const log = store.stateLog.recent(50).map((c) => c.reason);
    assert.ok(log.includes('Paused: Cyberpunk2077.exe is running'));
    assert.ok(events.some((e) => e.startsWith('working:')));
    governor.stop();
    store.close();
  });

  it('a task that fails on the GPU is not submitted and goes back to the hub at once', async (t) => {
    const store = WorkerStore.open(join(dir.path, 'w3'));
    const client = new HubClient({ hubUrl: hub.url, wallet: Wallet.createRandom() });
    let failed: string | null = null;
    // The first run loses its device; the engine says so and stops (once: 1 is never reached).
    const failing: ComputeHost = {
      adapter: host.adapter,
      run: async (task) => {
        failed ??= task.id;
        throw new KernelError('the GPU device was lost', 'DEVICE_LOST');
      },
      close: async () => undefined,
    };
    const engine = new WorkerEngine({ client, host: failing, store, gpus: [], appVersion: 'test', idleBackoffMs: { min: 50, max: 200 } });
    await submitJob(8, 8, 8);
    const stop = new AbortController();
    t.after(() => stop.abort());
    const running = engine.run({ once: 1, signal: stop.signal });
    while (engine.status.state !== 'error') await new Promise((r) => setTimeout(r, 5));
    assert.equal(engine.status.reason, 'The last task failed on the GPU: the GPU device was lost');
    stop.abort();
    await running;
    assert.equal((await client.allEarnings()).entries.length, 0, 'nothing was submitted');
    const again = await new HubClient({ hubUrl: hub.url, wallet: Wallet.createRandom() }).lease(['matmul']);
    assert.equal(again?.id, failed, 'the failed task is back in the queue');
    store.close();
  });

  it('a slow hub answering results does not hold up the GPU: results wait, in order, two at most', async (t) => {
    const store = WorkerStore.open(join(dir.path, 'w4'));
    // Submissions are held until the test lets them go; the GPU's runs are counted.
    const gates: (() => void)[] = [];
    const submitted: string[] = [];
    class SlowClient extends HubClient {
      override async submit(taskId: string, kind: string, output: Record<string, unknown>): ReturnType<HubClient['submit']> {
        await new Promise<void>((resolve) => gates.push(resolve));
        submitted.push(taskId);
        return super.submit(taskId, kind, output);
      }
    }
    const ran: string[] = [];
    const counting: ComputeHost = {
      adapter: host.adapter,
      run: async (task, signal) => {
        ran.push(task.id);
        return host.run(task, signal);
      },
      close: async () => undefined,
    };
    const client = new SlowClient({ hubUrl: hub.url, wallet: Wallet.createRandom() });
    const engine = new WorkerEngine({ client, host: counting, store, gpus: [], appVersion: 'test', idleBackoffMs: { min: 50, max: 200 } });
    for (let i = 0; i < 5; i++) await submitJob(8, 8, 8);
    const stop = new AbortController();
    t.after(() => {
      stop.abort();
      for (const open of gates.splice(0)) open();
    });
    const running = engine.run({ once: 5, signal: stop.signal });
    const until = async (what: () => boolean): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!what()) {
        if (Date.now() > deadline) throw new Error(`stuck: ${ran.length} tasks ran, ${submitted.length} submitted, ${gates.length} waiting`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    // No submission has been answered, yet three tasks ran: two results are being submitted at
    // once (SUBMITS_IN_FLIGHT), the third waits behind them, and the fourth task waits for one.
    await until(() => ran.length === 3 && gates.length === SUBMITS_IN_FLIGHT);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ran.length, 3, 'the fourth task waits while three results are unsettled');
    assert.equal(gates.length, SUBMITS_IN_FLIGHT, 'two submissions at once, no more');
    while (submitted.length < 5) {
      await until(() => gates.length > 0);
      gates.shift()!();
      await until(() => submitted.length > 0 && (gates.length > 0 || submitted.length === 5));
    }
    assert.deepEqual(await running, { credited: 5 });
    assert.deepEqual(submitted, ran, 'results went in the order they were computed');
    store.close();
  });

  it('an unreachable hub is "offline", retried with a growing wait, never a busy loop, logged once', async (t) => {
    const store = WorkerStore.open(join(dir.path, 'w2'));
    const tries: number[] = [];
    const client = new HubClient({ hubUrl: 'http://127.0.0.1:9', wallet: Wallet.createRandom() });
    const original = client.health.bind(client);
    client.health = () => {
      tries.push(performance.now());
      return original();
    };
    const engine = new WorkerEngine({ client, host, store, gpus: [], appVersion: 'test', offlineBackoffMs: { min: 100, max: 400 } });
    const stop = new AbortController();
    t.after(() => stop.abort());
    const running = engine.run({ signal: stop.signal });
    const deadline = Date.now() + 30_000;
    while (tries.length < 5) {
      if (Date.now() > deadline) throw new Error(`only ${tries.length} tries in 30 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(engine.status.state, 'offline');
    assert.match(engine.status.reason, /^Offline: cannot reach the hub at http:\/\/127\.0\.0\.1:9/);
    // One outage, one entry: the retries do not flip the state (and the log) back and forth.
    assert.deepEqual(store.stateLog.recent(50).map((c) => c.state).sort(), ['offline', 'starting']);
    // Waits of 100, 200, 400, 400 ms, each between half and all of it (jitter): at least the
    // lower half, so the wait grows and the engine never spins (a timer is at most 1 ms early).
    const gaps = tries.slice(1, 5).map((at, i) => at - tries[i]!);
    [50, 100, 200, 200].forEach((least, i) => assert.ok(gaps[i]! >= least - 1, `waited ${gaps.map((g) => g.toFixed(0)).join(', ')} ms between tries`));
    stop.abort();
    await running;
    store.close();
  });
});
