/**
 * The hidden compute renderer without Electron: the host's lifecycle (a renderer only while there
 * is work), recreation with backoff after a crash or a lost device (the task in hand fails),
 * stop, release and sleep; and the window side's message checks, with fake windows and IPC.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { BrowserWindow, IpcMain } from 'electron';
import type { Task } from '../protocol/index.js';
import { KernelError, type AdapterInfo } from '../worker/compute/compute-host.js';
import { COMPUTE_CHANNELS } from './channels.js';
import { createRendererComputeHost, RendererGoneError, type ComputeRenderer, type HostClock } from './compute/renderer-host.js';
import type { BenchmarkAnswer, RunAnswer } from '../protocol/desktop.js';
import { createComputeRenderer } from './compute/window.js';

const ADAPTER: AdapterInfo = { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader', software: true };
const task = (id: string): Task =>
  ({ id, kind: 'matmul', reward: '1', leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(), params: { m: 1, n: 1, k: 1 }, inputs: { a: 'AACAPw==', b: 'AACAPw==' } }) as Task;

class FakeRenderer implements ComputeRenderer {
  readonly ready: Promise<AdapterInfo>;
  readonly tasks: string[] = [];
  stops = 0;
  destroyed = false;
  /** Tasks in hand, by id: a second may start while the first is encoded (after its onComputed). */
  private readonly pending = new Map<string, { resolve(a: RunAnswer): void; reject(e: Error): void; onComputed: (() => void) | undefined }>();
  private gone: ((reason: string) => void)[] = [];

  constructor(adapter: AdapterInfo | Error = ADAPTER) {
    this.ready = adapter instanceof Error ? Promise.reject(adapter) : Promise.resolve(adapter);
    this.ready.catch(() => {});
  }
  run(t: Task, onComputed?: () => void): Promise<RunAnswer> {
    this.tasks.push(t.id);
    return new Promise((resolve, reject) => this.pending.set(t.id, { resolve, reject, onComputed }));
  }
  benchmark(): Promise<BenchmarkAnswer> {
    return Promise.resolve({ ok: true, score: { gflops: 2, mhs: 1 } });
  }
  stop(): void {
    this.stops++;
  }
  private dying: string | null = null;
  private rejectAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
  destroy(): void {
    this.destroyed = true;
    // As window.ts: a renderer that is going rejects its calls with the reason it goes.
    this.rejectAll(new RendererGoneError(`the compute renderer stopped (${this.dying ?? 'closed by the app'})`));
  }
  onGone(listener: (reason: string) => void): void {
    this.gone.push(listener);
  }
  /** The page says the GPU is done with task `id`. */
  computed(id: string): void {
    this.pending.get(id)?.onComputed?.();
  }
  /** The page answers task `id`, or the newest task in hand. */
  answer(a: RunAnswer, id: string | undefined = [...this.pending.keys()].at(-1)): void {
    if (id === undefined) return;
    this.pending.get(id)?.resolve(a);
    this.pending.delete(id);
  }
  /** The renderer's process dies. */
  crash(reason: string): void {
    this.dying = reason;
    for (const l of this.gone) l(reason);
    this.rejectAll(new RendererGoneError(`the compute renderer stopped (${reason})`));
  }
  get busy(): boolean {
    return this.pending.size > 0;
  }
  inHand(id: string): boolean {
    return this.pending.has(id);
  }
}

/** A clock that never waits: sleeps are recorded (and move time on), timers fire when told. */
function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  const timers: { fn: () => void; at: number; cancelled: boolean }[] = [];
  const clock: HostClock = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    later: (fn, ms) => {
      const t = { fn, at: now + ms, cancelled: false };
      timers.push(t);
      return () => void (t.cancelled = true);
    },
  };
  const fireTimers = (): void => {
    for (const t of timers.splice(0)) if (!t.cancelled) t.fn();
  };
  return { clock, sleeps, fireTimers };
}

async function setup(make: () => FakeRenderer = () => new FakeRenderer()) {
  const renderers: FakeRenderer[] = [];
  const c = fakeClock();
  const host = await createRendererComputeHost({
    clock: c.clock,
    backoffMs: { min: 1000, max: 8000 },
    create: () => {
      const r = make();
      renderers.push(r);
      return r;
    },
  });
  /** Waits until the newest renderer has a task in hand. */
  const busy = async (): Promise<FakeRenderer> => {
    for (let i = 0; i < 100; i++) {
      const r = renderers.at(-1);
      if (r?.busy) return r;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error('no renderer took the task');
  };
  return { host, renderers, busy, ...c };
}

const ok = (output: Record<string, unknown>): RunAnswer => ({ ok: true, output });

describe('compute host (supervisor)', () => {
  test('the first renderer tells the adapter, then goes once unused: an idle tray runs none', async () => {
    const { host, renderers, fireTimers, busy } = await setup();
    assert.deepEqual(host.adapter, ADAPTER);
    assert.equal(host.stats().alive, true);
    fireTimers();
    assert.equal(renderers[0]!.destroyed, true);
    assert.equal(host.stats().alive, false);
    const run = host.run(task('t1'));
    (await busy()).answer(ok({ c: 'AAAAAA==' }));
    assert.deepEqual(await run, { c: 'AAAAAA==' });
    assert.equal(renderers.length, 2, 'work made a new renderer');
    fireTimers();
    assert.equal(renderers[1]!.destroyed, true);
  });

  test('consecutive tasks share one renderer while it lingers', async () => {
    const { host, renderers, busy } = await setup();
    for (const id of ['a', 'b', 'c']) {
      const run = host.run(task(id));
      (await busy()).answer(ok({ id }));
      assert.deepEqual(await run, { id });
    }
    assert.equal(renderers.length, 1);
    assert.deepEqual(renderers[0]!.tasks, ['a', 'b', 'c']);
  });

  test('a crash fails the task in hand (DEVICE_LOST, not submitted) and the next renderer waits 1, 2, 4, 8, 8 s; a success resets it', async () => {
    const { host, renderers, busy, sleeps } = await setup();
    for (let i = 0; i < 5; i++) {
      const run = host.run(task(`crash-${i}`));
      (await busy()).crash('crashed');
      await assert.rejects(run, (e: unknown) => e instanceof KernelError && e.code === 'DEVICE_LOST' && /crashed.*not finished/.test(e.message));
    }
    assert.deepEqual(sleeps, [1000, 2000, 4000, 8000], 'the first crash is on the first renderer; each later one waited');
    assert.equal(host.stats().failuresInARow, 5);
    const good = host.run(task('good'));
    (await busy()).answer(ok({}));
    await good;
    assert.equal(sleeps.at(-1), 8000);
    assert.equal(host.stats().failuresInARow, 0);
    const again = host.run(task('crash-after'));
    (await busy()).crash('killed');
    await assert.rejects(again);
    const next = host.run(task('next'));
    (await busy()).answer(ok({}));
    await next;
    assert.equal(sleeps.at(-1), 1000, 'back to the shortest wait');
    assert.equal(renderers.filter((r) => r.destroyed).length, 6);
  });

  test('a lost GPU device: the task fails and the renderer is replaced after a backoff', async () => {
    const { host, renderers, busy, sleeps } = await setup();
    const run = host.run(task('t'));
    (await busy()).answer({ ok: false, error: { code: 'DEVICE_LOST', message: 'the GPU device was lost' } });
    await assert.rejects(run, (e: unknown) => e instanceof KernelError && e.code === 'DEVICE_LOST');
    assert.equal(renderers[0]!.destroyed, true);
    const next = host.run(task('t2'));
    (await busy()).answer(ok({}));
    await next;
    assert.deepEqual(sleeps, [1000]);
  });

  test('other failures pass through with their code; unknown codes become INTERNAL', async () => {
    const { host, busy } = await setup();
    const bad = host.run(task('v'));
    (await busy()).answer({ ok: false, error: { code: 'VALIDATION', message: 'not a task' } });
    await assert.rejects(bad, (e: unknown) => e instanceof KernelError && e.code === 'VALIDATION');
    const odd = host.run(task('w'));
    (await busy()).answer({ ok: false, error: { code: 'SOMETHING', message: 'odd' } });
    await assert.rejects(odd, (e: unknown) => e instanceof KernelError && e.code === 'INTERNAL');
  });

  test('a stop signal reaches the page; an aborted signal never starts a task', async () => {
    const { host, busy, renderers } = await setup();
    const stop = new AbortController();
    const run = host.run(task('s'), stop.signal);
    const r = await busy();
    stop.abort();
    assert.equal(r.stops, 1);
    r.answer({ ok: false, error: { code: 'ABORTED', message: 'stopped' } });
    await assert.rejects(run, (e: unknown) => e instanceof KernelError && e.code === 'ABORTED');
    await assert.rejects(host.run(task('never'), AbortSignal.abort()), (e: unknown) => e instanceof KernelError && e.code === 'ABORTED');
    assert.deepEqual(renderers[0]!.tasks, ['s']);
  });

  test('two runs in flight (the next starts once the first is computed): a stop, the linger and a crash each treat them right', async () => {
    const { host, busy, renderers, fireTimers, sleeps } = await setup();
    const computed: string[] = [];
    const first = host.run(task('a'), undefined, () => computed.push('a'));
    const r = await busy();
    r.computed('a');
    assert.deepEqual(computed, ['a']);
    const stop = new AbortController();
    const second = host.run(task('b'), stop.signal, () => computed.push('b'));
    for (let i = 0; i < 100 && !r.inHand('b'); i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(renderers.length, 1, 'the second task goes to the same renderer');
    assert.ok(r.inHand('a') && r.inHand('b'));
    stop.abort();
    assert.equal(r.stops, 1);
    r.answer({ ok: false, error: { code: 'ABORTED', message: 'stopped' } }, 'b');
    await assert.rejects(second, (e: unknown) => e instanceof KernelError && e.code === 'ABORTED');
    fireTimers();
    assert.equal(r.destroyed, false, 'the first is still being encoded: the renderer stays');
    r.answer(ok({ n: 1 }), 'a');
    assert.deepEqual(await first, { n: 1 }, 'the stop for the second left the first to answer');
    fireTimers();
    assert.equal(r.destroyed, true, 'idle once both are done');

    // A crash with two in flight fails both, and counts as one failure.
    const third = host.run(task('c'));
    const r2 = await busy();
    r2.computed('c');
    const fourth = host.run(task('d'));
    for (let i = 0; i < 100 && !r2.inHand('d'); i++) await new Promise((resolve) => setImmediate(resolve));
    r2.crash('crashed');
    await assert.rejects(third, (e: unknown) => e instanceof KernelError && e.code === 'DEVICE_LOST');
    await assert.rejects(fourth, (e: unknown) => e instanceof KernelError && e.code === 'DEVICE_LOST');
    assert.equal(host.stats().failuresInARow, 1);
    const fifth = host.run(task('e'));
    (await busy()).answer(ok({}));
    await fifth;
    assert.deepEqual(sleeps, [1000]);
  });

  test('release() (a game starts) stops the task (ABORTED, no backoff) and frees the renderer', async () => {
    const { host, busy, sleeps, renderers } = await setup();
    const run = host.run(task('r'));
    await busy();
    await host.release?.();
    await assert.rejects(run, (e: unknown) => e instanceof KernelError && e.code === 'ABORTED');
    assert.equal(renderers[0]!.destroyed, true);
    const next = host.run(task('r2'));
    (await busy()).answer(ok({}));
    await next;
    assert.deepEqual(sleeps, []);
  });

  test('suspend: the task stops, nothing starts until resume', async () => {
    const { host, busy, renderers } = await setup();
    const run = host.run(task('before-sleep'));
    await busy();
    host.suspend();
    await assert.rejects(run, (e: unknown) => e instanceof KernelError && e.code === 'ABORTED');
    const later = host.run(task('after-wake'));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(renderers.length, 1, 'no renderer while asleep');
    host.resume();
    (await busy()).answer(ok({ woke: true }));
    assert.deepEqual(await later, { woke: true });
  });

  test('no WebGPU in the renderer: the host does not start, and says why', async () => {
    await assert.rejects(
      setup(() => new FakeRenderer(new Error('navigator.gpu is missing'))),
      /compute renderer has no WebGPU: navigator.gpu is missing/,
    );
  });

  test('benchmark runs in the renderer; close() ends everything', async () => {
    const { host, renderers } = await setup();
    assert.deepEqual(await host.benchmark?.(), { gflops: 2, mhs: 1 });
    await host.close();
    assert.ok(renderers.every((r) => r.destroyed));
    await assert.rejects(host.run(task('late')), (e: unknown) => e instanceof KernelError && e.code === 'ABORTED');
  });
});

// ── The Electron side, with fake windows and IPC ────────────────────────────────────────────

const ORIGIN = 'idleforge://compute';

class FakeContents extends EventEmitter {
  readonly sent: { channel: string; payload: unknown }[] = [];
  constructor(readonly id: number) {
    super();
  }
  send(channel: string, payload?: unknown): void {
    this.sent.push({ channel, payload });
  }
}

class FakeWindow extends EventEmitter {
  destroyed = false;
  loaded: string | null = null;
  constructor(readonly webContents: FakeContents) {
    super();
  }
  async loadURL(url: string): Promise<void> {
    this.loaded = url;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('closed');
  }
}

class FakeIpc {
  readonly listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  on(channel: string, l: (...args: unknown[]) => void): this {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
    this.listeners.get(channel)!.add(l);
    return this;
  }
  removeListener(channel: string, l: (...args: unknown[]) => void): this {
    this.listeners.get(channel)?.delete(l);
    return this;
  }
  emit(channel: string, from: { id: number; url?: string; subframe?: boolean }, payload: unknown): void {
    const event = { sender: { id: from.id }, senderFrame: { url: from.url ?? `${ORIGIN}/index.html`, parent: from.subframe ? {} : null } };
    for (const l of this.listeners.get(channel) ?? []) l(event, payload);
  }
  count(): number {
    return [...this.listeners.values()].reduce((n, s) => n + s.size, 0);
  }
}

function fakeWindowRenderer() {
  const contents = new FakeContents(7);
  const win = new FakeWindow(contents);
  const ipc = new FakeIpc();
  let gpuGone: ((reason: string) => void) | null = null;
  const refused: string[] = [];
  const renderer = createComputeRenderer({
    createWindow: () => win as unknown as BrowserWindow,
    ipc: ipc as unknown as Pick<IpcMain, 'on' | 'removeListener'>,
    url: `${ORIGIN}/index.html`,
    origin: ORIGIN,
    onGpuGone: (l) => {
      gpuGone = l;
      return () => (gpuGone = null);
    },
    log: (line) => refused.push(line),
  });
  return { contents, win, ipc, renderer, refused, gpuGone: (reason: string) => gpuGone?.(reason) };
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('compute window (Electron side)', () => {
  test('loads the compute page; believes `ready` only from its own window’s main frame at its origin', async () => {
    const { win, ipc, renderer, refused } = fakeWindowRenderer();
    assert.equal(win.loaded, `${ORIGIN}/index.html`);
    ipc.emit(COMPUTE_CHANNELS.ready, { id: 8 }, { ok: true, adapter: { ...ADAPTER, description: 'forged' } });
    ipc.emit(COMPUTE_CHANNELS.ready, { id: 7, subframe: true }, { ok: true, adapter: ADAPTER });
    ipc.emit(COMPUTE_CHANNELS.ready, { id: 7, url: 'https://evil.example/' }, { ok: true, adapter: ADAPTER });
    ipc.emit(COMPUTE_CHANNELS.ready, { id: 7 }, { ok: true, adapter: { vendor: 42 } });
    assert.equal(await settled(renderer.ready), false, 'nothing believed yet');
    assert.equal(refused.length, 4);
    ipc.emit(COMPUTE_CHANNELS.ready, { id: 7 }, { ok: true, adapter: ADAPTER });
    assert.deepEqual(await renderer.ready, ADAPTER);
    renderer.destroy();
  });

  test('a task in, its answer out; an answer that is not a result becomes an INTERNAL failure', async () => {
    const { contents, ipc, renderer } = fakeWindowRenderer();
    const first = renderer.run(task('x'));
    const second = renderer.run(task('y'));
    const sent = contents.sent.filter((s) => s.channel === COMPUTE_CHANNELS.run).map((s) => s.payload as { id: number; task: Task });
    assert.deepEqual(
      sent.map((s) => s.task.id),
      ['x', 'y'],
    );
    ipc.emit(COMPUTE_CHANNELS.answer, { id: 7 }, { id: sent[1]!.id, answer: { ok: true, output: { c: 'AAAAAA==' } } });
    ipc.emit(COMPUTE_CHANNELS.answer, { id: 7 }, { id: sent[0]!.id, answer: { ok: 'yes' } });
    assert.deepEqual(await second, { ok: true, output: { c: 'AAAAAA==' } });
    assert.deepEqual(await first, { ok: false, error: { code: 'INTERNAL', message: 'the compute page answered with something that is not a result' } });
    renderer.stop();
    assert.equal(contents.sent.at(-1)?.channel, COMPUTE_CHANNELS.stop);
    renderer.destroy();
  });

  test('the page’s word that the GPU is done reaches the task’s onComputed once, before its answer, and only from its own window', async () => {
    const { contents, ipc, renderer, refused } = fakeWindowRenderer();
    const computed: string[] = [];
    const first = renderer.run(task('x'), () => computed.push('x'));
    const second = renderer.run(task('y'), () => computed.push('y'));
    const sent = contents.sent.filter((s) => s.channel === COMPUTE_CHANNELS.run).map((s) => s.payload as { id: number; task: Task });
    ipc.emit(COMPUTE_CHANNELS.computed, { id: 8 }, { id: sent[0]!.id });
    ipc.emit(COMPUTE_CHANNELS.computed, { id: 7, subframe: true }, { id: sent[0]!.id });
    ipc.emit(COMPUTE_CHANNELS.computed, { id: 7 }, { id: 'one' });
    assert.deepEqual(computed, [], 'refused: another window, a subframe, not an id');
    assert.equal(refused.length, 3);
    ipc.emit(COMPUTE_CHANNELS.computed, { id: 7 }, { id: sent[0]!.id });
    ipc.emit(COMPUTE_CHANNELS.computed, { id: 7 }, { id: sent[0]!.id });
    ipc.emit(COMPUTE_CHANNELS.computed, { id: 7 }, { id: 999 });
    assert.deepEqual(computed, ['x'], 'once, and a word for no pending request changes nothing');
    assert.equal(await settled(first), false, 'the answer is still to come (its output is being encoded)');
    // The second task runs while the first is encoded: two requests in flight, each answered.
    ipc.emit(COMPUTE_CHANNELS.computed, { id: 7 }, { id: sent[1]!.id });
    ipc.emit(COMPUTE_CHANNELS.answer, { id: 7 }, { id: sent[0]!.id, answer: { ok: true, output: { c: 'AAAAAA==' } } });
    ipc.emit(COMPUTE_CHANNELS.answer, { id: 7 }, { id: sent[1]!.id, answer: { ok: true, output: { c: 'AAAAAA==' } } });
    assert.deepEqual([await first, await second], [{ ok: true, output: { c: 'AAAAAA==' } }, { ok: true, output: { c: 'AAAAAA==' } }]);
    assert.deepEqual(computed, ['x', 'y']);
    renderer.destroy();
  });

  test('render-process-gone: the host is told, the task in hand rejects, the window and listeners go', async () => {
    const { contents, win, ipc, renderer } = fakeWindowRenderer();
    const reasons: string[] = [];
    renderer.onGone((r) => reasons.push(r));
    const run = renderer.run(task('z'));
    contents.emit('render-process-gone', {}, { reason: 'crashed', exitCode: 139 });
    await assert.rejects(run, (e: unknown) => e instanceof RendererGoneError && /its process crashed/.test(e.message));
    await assert.rejects(renderer.ready, RendererGoneError);
    assert.deepEqual(reasons, ['its process crashed']);
    assert.equal(win.destroyed, true);
    assert.equal(ipc.count(), 0);
  });

  test('a hang, a failed load and a dead GPU process end it too; our own destroy() is not a crash', async () => {
    for (const kill of ['unresponsive', 'did-fail-load', 'gpu'] as const) {
      const f = fakeWindowRenderer();
      const reasons: string[] = [];
      f.renderer.onGone((r) => reasons.push(r));
      if (kill === 'unresponsive') f.contents.emit('unresponsive');
      else if (kill === 'did-fail-load') f.contents.emit('did-fail-load', {}, -6, 'ERR_FILE_NOT_FOUND', `${ORIGIN}/index.html`, true);
      else f.gpuGone('crashed');
      assert.equal(reasons.length, 1, kill);
      assert.equal(f.win.destroyed, true, kill);
    }
    const f = fakeWindowRenderer();
    const reasons: string[] = [];
    f.renderer.onGone((r) => reasons.push(r));
    const run = f.renderer.run(task('q'));
    f.renderer.destroy();
    await assert.rejects(run, RendererGoneError);
    assert.deepEqual(reasons, []);
  });
});
