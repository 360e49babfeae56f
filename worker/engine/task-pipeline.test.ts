/**
 * Nothing the worker ran disappears from its history: a task credited, one that failed on the
 * GPU, one given back when the worker stopped, and one whose lease lapsed before its result
 * reached the hub each keep a row with its receipt (what was done, how the hub checked it, the
 * verdict and why). A real hub (PostgreSQL) and a real worker.db; the compute host computes the
 * CPU reference, or fails or stalls on cue (a GPU cannot be made to fail on demand).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { toF32, type CliEvent, type ResultResponse, type Task } from '../../protocol/index.js';
import { matmul } from '../../kernels/index.js';
import { KernelError } from '../../kernels/types.js';
import { call, matmulJobBody, startTestHub, type TestHub } from '../../hub/testkit.js';
import type { ComputeHost, TaskOutput } from '../compute/compute-host.js';
import { HubClient } from '../hub-client.js';
import { WorkerStore } from '../store/index.js';
import { runCli } from '../../test/helpers.js';
import { SUBMITS_IN_FLIGHT, TaskPipeline, type TaskPipelineOptions } from './task-pipeline.js';

/** The CPU reference's output for a matmul task: what an honest GPU returns. */
const reference = async (task: Task): Promise<TaskOutput> => {
  if (task.kind !== 'matmul') throw new Error('matmul only');
  const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
  return { c: new Uint8Array(c.buffer, c.byteOffset, c.byteLength) };
};
/** A compute host on the CPU that does `run`. */
const cpuHost = (run: ComputeHost['run']): ComputeHost => ({
  adapter: { vendor: 'test', architecture: '', device: 'cpu reference', description: 'the CPU reference', software: true },
  run,
  close: async () => {},
});
/** A pipeline of matmul tasks whose every error fails the test; `extra` adds or overrides. */
const pipelineOf = (client: HubClient, host: ComputeHost, store: WorkerStore, extra: Partial<TaskPipelineOptions> = {}): TaskPipeline =>
  new TaskPipeline({
    client,
    host,
    store,
    kinds: ['matmul'],
    showTask: () => undefined,
    setState: () => undefined,
    token: () => ({ symbol: 'IDLE', decimals: 18 }),
    onError: (error) => assert.fail(String(error)),
    onEvent: () => undefined,
    log: () => undefined,
    ...extra,
  });

describe('the task pipeline keeps every task it ran in the history', () => {
  let t: TestHub;
  let customerKey: string;
  let store: WorkerStore;
  let client: HubClient;
  let pipeline: TaskPipeline;
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-pipeline-'));
  const wallet = Wallet.createRandom();
  /** What the host does with the next task. */
  let behave: (task: Task, signal?: AbortSignal) => Promise<TaskOutput>;
  const host = cpuHost((task, signal) => behave(task, signal));

  before(async () => {
    t = await startTestHub();
    customerKey = await t.hub.createCustomer('acme');
    store = WorkerStore.open(dir);
    client = new HubClient({ hubUrl: t.hub.url, wallet: { address: wallet.address, signMessage: (m) => wallet.signMessage(m) } });
    pipeline = pipelineOf(client, host, store);
  });
  after(async () => {
    client.close();
    store.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const leaseOne = async (seed: number): Promise<Task> => {
    assert.equal((await call(`${t.hub.url}/v1/jobs`, { token: customerKey, body: matmulJobBody(8, 8, 8, seed).body })).status, 201);
    const task = await pipeline.next();
    assert.ok(task);
    return task;
  };
  const historyOf = (taskId: string) => store.ledger.history().find((e) => e.taskId === taskId);

  it('a credited task: its size, the hub’s check (Freivalds and its rounds) and the verdict', async () => {
    behave = reference;
    const task = await leaseOne(1);
    await pipeline.work(task, undefined, 1);
    await pipeline.submitting;
    const row = historyOf(task.id);
    assert.deepEqual(
      { status: row?.status, amount: row?.amount, work: row?.work, check: row?.check, reason: row?.reason },
      { status: 'verified', amount: task.reward, work: { units: String(2 * 8 * 8 * 8), unit: 'FLOP' }, check: { method: 'freivalds', rounds: matmul.FREIVALDS_ROUNDS }, reason: null },
    );
    // Mirroring the hub's ledger again keeps the receipt.
    store.ledger.upsertMany(client.hubUrl, (await client.allEarnings()).entries);
    assert.deepEqual(historyOf(task.id)?.check, { method: 'freivalds', rounds: matmul.FREIVALDS_ROUNDS });
  });

  it('a task that failed on the GPU: given back, and in the history with the error in plain words', async () => {
    behave = () => Promise.reject(new KernelError('the device was lost', 'DEVICE_LOST'));
    const task = await leaseOne(2);
    await pipeline.work(task, undefined, 1);
    const row = historyOf(task.id);
    assert.equal(row?.status, 'failed');
    assert.equal(row?.amount, '0');
    assert.match(row?.reason ?? '', /failed on the GPU \(the device was lost\) and was given back/);
    assert.equal(row?.check, null, 'the hub never saw a result');
    const { rows } = await t.hub.db.query<{ status: string }>('SELECT status FROM tasks WHERE id = ?', [task.id]);
    assert.equal(rows[0]?.status, 'queued', 'the hub has it back');
  });

  it('a task stopped mid-way: given back, and in the history', async () => {
    behave = (_task, signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new KernelError('stopped', 'ABORTED'))));
    const task = await leaseOne(3);
    const stop = new AbortController();
    const running = pipeline.work(task, stop.signal, 1);
    stop.abort();
    await assert.rejects(running, /stopped/);
    const row = historyOf(task.id);
    assert.equal(row?.status, 'given-back');
    assert.match(row?.reason ?? '', /Given back to the hub before it finished \(the worker stopped\)/);
  });

  it('a task whose lease lapsed before its result reached the hub: in the history, with why', async () => {
    const task = await leaseOne(4);
    // The GPU takes longer than the lease: the hub's clock passes the lease's end meanwhile.
    behave = async (leased) => {
      t.clock.advance(10 * 60_000);
      return reference(leased);
    };
    await pipeline.work(task, undefined, 1);
    await pipeline.submitting;
    const row = historyOf(task.id);
    assert.equal(row?.status, 'lapsed');
    assert.match(row?.reason ?? '', /Its lease ran out before the result reached the hub/);
    assert.deepEqual(row?.work, { units: String(2 * 8 * 8 * 8), unit: 'FLOP' });
  });

  it('pages the whole history newest first and filters by status; a task run twice here is two rows', () => {
    const all = store.ledger.history();
    assert.deepEqual(
      all.map((e) => e.status),
      ['lapsed', 'given-back', 'failed', 'verified'],
    );
    const first = store.ledger.page({ limit: 2 });
    assert.equal(first.entries.length, 2);
    assert.ok(first.nextCursor);
    const second = store.ledger.page({ limit: 2, cursor: first.nextCursor });
    assert.deepEqual([...first.entries, ...second.entries].map((e) => e.id), all.map((e) => e.id));
    assert.equal(second.nextCursor, null);
    assert.deepEqual(store.ledger.page({ limit: 10, status: 'failed' }).entries.map((e) => e.status), ['failed']);
    assert.throws(() => store.ledger.page({ limit: 2, cursor: 'not-a-cursor' }), RangeError);
    // The task given back went back to the hub's queue and came to this worker again: each run is a row.
    const runs = all.filter((e) => e.taskId === all.find((x) => x.status === 'failed')!.taskId).map((e) => e.status);
    assert.ok(runs.length >= 2, `the failed task was leased here again: ${runs.join(', ')}`);
    for (const e of all.filter((x) => x.status !== 'verified')) assert.ok(e.gpuMs !== null && e.gpuMs >= 0, 'the GPU time of each run');
  });

  it('idleforge earnings prints the same history with its receipts', { timeout: 120_000 }, async () => {
    const text = await runCli(['earnings', '--data', dir]);
    assert.equal(text.code, 0, text.stderr);
    for (const words of ['Verified', 'Failed', 'Given back', 'Lapsed', "Freivalds' check", 'failed on the GPU (the device was lost)', '1,024 FLOP']) {
      assert.ok(text.stdout.includes(words), `${words} in:\n${text.stdout}`);
    }
    const json = await runCli(['earnings', '--data', dir, '--json']);
    const doc = JSON.parse(json.stdout) as { entries: unknown[]; history: Array<{ status: string }> };
    assert.deepEqual(doc.history.map((e) => e.status), store.ledger.history().map((e) => e.status));
  });
});

describe('the task pipeline keeps SUBMITS_IN_FLIGHT results in flight, and fewer where the sentinel says so', () => {
  let t: TestHub;
  let customerKey: string;
  const dirs: string[] = [];
  const wallet = Wallet.createRandom();
  const host = cpuHost(reference);
  /** A real client whose submissions wait at a gate the test opens, one by one. */
  class GatedClient extends HubClient {
    readonly entered: string[] = [];
    private readonly gates: Array<() => void> = [];
    private onEnter: (() => void) | null = null;
    override async submit(taskId: string, kind: string, output: Record<string, unknown>): Promise<ResultResponse> {
      this.entered.push(taskId);
      this.onEnter?.();
      await new Promise<void>((resolve) => this.gates.push(resolve));
      return super.submit(taskId, kind, output);
    }
    /** Resolves once `n` submissions have reached the hub's door. */
    async reached(n: number): Promise<void> {
      while (this.entered.length < n) await new Promise<void>((resolve) => (this.onEnter = resolve));
    }
    /** Lets the oldest waiting submission through. */
    openOne(): void {
      this.gates.shift()?.();
    }
  }

  before(async () => {
    t = await startTestHub();
    customerKey = await t.hub.createCustomer('acme');
  });
  after(async () => {
    await t.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const setUp = (options: Partial<TaskPipelineOptions>) => {
    const dir = mkdtempSync(join(tmpdir(), 'idleforge-inflight-'));
    dirs.push(dir);
    const store = WorkerStore.open(dir);
    const client = new GatedClient({ hubUrl: t.hub.url, wallet: { address: wallet.address, signMessage: (m) => wallet.signMessage(m) } });
    const events: CliEvent[] = [];
    const pipeline = pipelineOf(client, host, store, { onEvent: (e) => events.push(e), ...options });
    const close = (): void => {
      client.close();
      store.close();
    };
    return { store, client, pipeline, events, close };
  };
  const job = async (seed: number): Promise<void> => {
    assert.equal((await call(`${t.hub.url}/v1/jobs`, { token: customerKey, body: matmulJobBody(8, 8, 8, seed).body })).status, 201);
  };

  it(`two results go up at once; each is saved before, credited once, and the GPU never waits on them`, async () => {
    const w = setUp({});
    for (const seed of [11, 12, 13]) await job(seed);
    const tasks = [await w.pipeline.next(), await w.pipeline.next(), await w.pipeline.next()];
    assert.ok(tasks.every((x) => x !== null));
    await w.pipeline.work(tasks[0]!, undefined, 3);
    await w.pipeline.work(tasks[1]!, undefined, 3);
    await w.client.reached(SUBMITS_IN_FLIGHT);
    assert.deepEqual(w.client.entered, [tasks[0]!.id, tasks[1]!.id], 'both in flight, in the order they ran, neither answered');
    assert.equal(w.store.results.unsent(w.client.hubUrl).length, 2, 'both saved before they were submitted');
    // The third runs while two are unanswered: it waits for one of them only once it has run.
    const third = w.pipeline.work(tasks[2]!, undefined, 3);
    w.client.openOne();
    await third;
    await w.client.reached(3);
    assert.equal(w.pipeline.unsentCount, 2, 'never more than SUBMITS_IN_FLIGHT in flight');
    w.client.openOne();
    w.client.openOne();
    await w.pipeline.submitting;
    assert.deepEqual(
      w.events.filter((e) => e.event === 'credited').map((e) => (e.event === 'credited' ? e.taskId : '')).sort(),
      tasks.map((x) => x!.id).sort(),
      'each credited once',
    );
    assert.equal(w.store.results.unsent(w.client.hubUrl).length, 0);
    assert.equal(w.pipeline.credited, 3);
    w.close();
  });

  it('a host that says when the GPU is done: the next task runs while the output is encoded; an encoding that fails is given back, never submitted', async () => {
    let encoded!: () => void;
    let failEncoding!: (error: Error) => void;
    const w = setUp({});
    const pipeline = pipelineOf(w.client, {
      ...cpuHost(reference),
      run: async (task, _signal, onComputed) => {
        const output = await reference(task);
        onComputed?.();
        return new Promise<TaskOutput>((resolve, reject) => {
          encoded = () => resolve(output);
          failEncoding = reject;
        });
      },
    }, w.store, { onEvent: (e) => w.events.push(e) });
    for (const seed of [31, 32]) await job(seed);
    const [first, second] = [await pipeline.next(), await pipeline.next()];
    // work() returns with the GPU free, the output not yet encoded: nothing saved or sent.
    await pipeline.work(first!, undefined, 2);
    assert.equal(w.store.results.unsent(w.client.hubUrl).length, 0);
    assert.deepEqual(w.client.entered, []);
    const firstEncoded = encoded;
    await pipeline.work(second!, undefined, 2);
    firstEncoded();
    await w.client.reached(1);
    assert.deepEqual(w.client.entered, [first!.id], 'encoded, saved, then sent');
    w.client.openOne();
    failEncoding(new Error('the encoding failed'));
    await pipeline.submitting;
    assert.deepEqual(w.client.entered, [first!.id], 'the failed one was never submitted');
    const { rows } = await t.hub.db.query<{ status: string }>('SELECT status FROM tasks WHERE id = ?', [second!.id]);
    assert.equal(rows[0]?.status, 'queued', 'and was given back to the hub');
    assert.equal(w.store.ledger.history().find((e) => e.taskId === second!.id)?.status, 'failed');
    assert.equal(pipeline.credited, 1);
    w.close();
  });

  it('one rejection from the sentinel’s pause: one at a time, the next sent only after the verdict, and held once paused', async () => {
    let held: string | null = null;
    const w = setUp({ submitsAtOnce: () => 1, holdResults: () => held, onOutcome: () => (held = 'paused by the sentinel') });
    for (const seed of [21, 22]) await job(seed);
    const tasks = [await w.pipeline.next(), await w.pipeline.next()];
    await w.pipeline.work(tasks[0]!, undefined, 2);
    await w.pipeline.work(tasks[1]!, undefined, 2);
    await w.client.reached(1);
    // Both results are ready; only the first is with the hub.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(w.client.entered, [tasks[0]!.id]);
    w.client.openOne();
    await w.pipeline.submitting;
    assert.deepEqual(w.client.entered, [tasks[0]!.id], 'the second, judged after the first’s verdict paused work, was held back');
    const { rows } = await t.hub.db.query<{ status: string }>('SELECT status FROM tasks WHERE id = ?', [tasks[1]!.id]);
    assert.equal(rows[0]?.status, 'queued', 'and given back to the hub');
    w.close();
  });
});
