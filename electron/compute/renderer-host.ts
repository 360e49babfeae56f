/**
 * The desktop app's compute host: tasks run in a hidden, sandboxed renderer (the compute page of
 * renderer/compute on Chromium's WebGPU), behind the same ComputeHost contract as Dawn's.
 *
 * - The renderer exists only while there is work: it is created for a task, kept a little while
 *   for the next one (`lingerMs`), and destroyed after, or at once on release() (a game starts),
 *   suspend() (the computer goes to sleep) or close(). An idle tray runs no renderer at all.
 * - When the renderer's process dies or hangs, or its GPU device is lost, the task in hand fails
 *   (KernelError DEVICE_LOST: the engine reports it and does not submit) and the next renderer is
 *   created only after a backoff that doubles with each failure in a row (`backoffMs`), so a
 *   driver that keeps crashing is not hammered; a task that succeeds resets it.
 *
 * The Electron side (one window, its IPC) is `ComputeRenderer`, made by `create` (window.ts);
 * tests pass fakes.
 */
import { sleep } from '../../worker/engine/waits.js';
import type { Task } from '../../protocol/index.js';
import { KernelError, type AdapterInfo, type ComputeHost, type TaskOutput } from '../../worker/compute/compute-host.js';
import { KERNEL_ERROR_CODES, type BenchmarkAnswer, type RunAnswer } from '../../protocol/desktop.js';

/** One hidden renderer running the compute page. */
export interface ComputeRenderer {
  /** Resolves with the adapter once the page's WebGPU is up; rejects when it has none, or when the renderer goes first. */
  readonly ready: Promise<AdapterInfo>;
  /**
   * One task; rejects with RendererGoneError when the renderer goes before answering.
   * `onComputed` is called once, when the page says the GPU is done with it (before its answer).
   */
  run(task: Task, onComputed?: () => void): Promise<RunAnswer>;
  benchmark(): Promise<BenchmarkAnswer>;
  /** Asks the page to stop the task in progress (it answers ABORTED). */
  stop(): void;
  /** Closes the window; pending calls reject with RendererGoneError. */
  destroy(): void;
  /** Called once when the renderer's process dies, hangs, or its GPU process goes. */
  onGone(listener: (reason: string) => void): void;
}

export class RendererGoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RendererGoneError';
  }
}

export interface HostClock {
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` after `ms` unless cancelled; must not keep the process alive. */
  later(fn: () => void, ms: number): () => void;
}

export const realClock: HostClock = {
  now: () => Date.now(),
  sleep,
  later(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

export interface RendererHostOptions {
  create: () => ComputeRenderer;
  /** Wait before a new renderer after a crash: doubles from min to max (default 1 s to 60 s). */
  backoffMs?: { min: number; max: number };
  /** How long an unused renderer is kept for the next task (default 15 s). */
  lingerMs?: number;
  clock?: HostClock;
  log?: (line: string) => void;
}

export interface RendererComputeHost extends ComputeHost {
  /** The computer is going to sleep: the task in hand stops (ABORTED) and no new one starts until resume(). */
  suspend(): void;
  resume(): void;
  /** Renderers created so far, crashes in a row, and whether one is running now. */
  stats(): { created: number; failuresInARow: number; alive: boolean };
}

const aborted = (why = 'stopped'): KernelError => new KernelError(why, 'ABORTED');

function kernelCode(code: string): KernelError['code'] {
  return (KERNEL_ERROR_CODES as readonly string[]).includes(code) ? (code as KernelError['code']) : 'INTERNAL';
}

export async function createRendererComputeHost(o: RendererHostOptions): Promise<RendererComputeHost> {
  const clock = o.clock ?? realClock;
  const backoff = o.backoffMs ?? { min: 1000, max: 60_000 };
  const lingerMs = o.lingerMs ?? 15_000;
  const log = o.log ?? (() => {});
  let current: ComputeRenderer | null = null;
  /** Renderers main closed on purpose (release, suspend, linger, close): their pending task was stopped, not failed. */
  const deliberate = new WeakSet<ComputeRenderer>();
  const retired = new WeakSet<ComputeRenderer>();
  let created = 0;
  let failures = 0;
  let notBefore = 0;
  let running = 0;
  let cancelLinger: (() => void) | null = null;
  let closed = false;
  let sleeping: { done: Promise<void>; wake: () => void } | null = null;

  /** Closes `r`; a failure (crash, device loss) also sets the wait before the next one. */
  const retire = (r: ComputeRenderer, why: string, failed: boolean): void => {
    if (retired.has(r)) return;
    retired.add(r);
    if (!failed) deliberate.add(r);
    if (current === r) current = null;
    r.destroy();
    if (failed) {
      failures += 1;
      const wait = Math.min(backoff.max, backoff.min * 2 ** (failures - 1));
      notBefore = clock.now() + wait;
      log(`${why}; a new compute renderer starts in ${Math.round(wait / 100) / 10} s`);
    }
  };

  const spawn = (): ComputeRenderer => {
    const r = o.create();
    created += 1;
    current = r;
    r.onGone((reason) => retire(r, `the compute renderer stopped (${reason})`, true));
    return r;
  };

  const open = async (signal?: AbortSignal): Promise<ComputeRenderer> => {
    while (sleeping) {
      await Promise.race([sleeping.done, new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }))]);
      if (signal?.aborted) throw aborted();
    }
    if (closed) throw new KernelError('the compute host is closed', 'ABORTED');
    if (current) return current;
    const wait = notBefore - clock.now();
    if (wait > 0) await clock.sleep(wait, signal);
    if (signal?.aborted) throw aborted();
    const r = spawn();
    try {
      await r.ready;
    } catch (error) {
      if (deliberate.has(r)) throw aborted();
      const message = error instanceof Error ? error.message : String(error);
      retire(r, `the compute renderer could not start WebGPU: ${message}`, true);
      throw new KernelError(`the compute renderer could not start WebGPU: ${message}`, 'DEVICE_LOST');
    }
    return r;
  };

  const linger = (): void => {
    cancelLinger?.();
    cancelLinger = clock.later(() => {
      cancelLinger = null;
      if (current && running === 0) retire(current, 'idle', false);
    }, lingerMs);
  };

  /** Runs one call on the renderer, turning a renderer that goes into a failed (or stopped) task. */
  async function use<T>(signal: AbortSignal | undefined, call: (r: ComputeRenderer) => Promise<T>): Promise<T> {
    if (signal?.aborted) throw aborted();
    cancelLinger?.();
    running += 1;
    let r: ComputeRenderer | null = null;
    const onAbort = (): void => r?.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      r = await open(signal);
      if (signal?.aborted) r.stop();
      return await call(r);
    } catch (error) {
      if (!(error instanceof RendererGoneError) || !r) throw error;
      if (deliberate.has(r)) throw aborted(`stopped: ${error.message}`);
      retire(r, error.message, true);
      throw new KernelError(`${error.message}; the task was not finished`, 'DEVICE_LOST');
    } finally {
      signal?.removeEventListener('abort', onAbort);
      running -= 1;
      if (!closed) linger();
    }
  }

  // The first renderer tells which adapter tasks will run on; it goes once it has lingered.
  const first = spawn();
  let adapter: AdapterInfo;
  try {
    adapter = await first.ready;
  } catch (error) {
    retire(first, 'no WebGPU', false);
    throw new Error(`the app's compute renderer has no WebGPU: ${error instanceof Error ? error.message : String(error)}`);
  }
  linger();

  const wake = (): void => {
    const s = sleeping;
    sleeping = null;
    s?.wake();
  };

  return {
    get adapter() {
      return adapter;
    },
    run: (task: Task, signal?: AbortSignal, onComputed?: () => void): Promise<TaskOutput> =>
      use(signal, async (r) => {
        const answer = await r.run(task, onComputed);
        if (answer.ok) {
          failures = 0;
          return answer.output;
        }
        if (answer.error.code === 'DEVICE_LOST') retire(r, `the GPU device was lost (${answer.error.message})`, true);
        throw new KernelError(answer.error.message, kernelCode(answer.error.code));
      }),
    benchmark: () =>
      use(undefined, async (r) => {
        const answer = await r.benchmark();
        if (answer.ok) return answer.score;
        if (answer.error.code === 'DEVICE_LOST') retire(r, `the GPU device was lost (${answer.error.message})`, true);
        throw new KernelError(answer.error.message, kernelCode(answer.error.code));
      }),
    async release() {
      if (current) retire(current, 'released', false);
    },
    suspend() {
      if (!sleeping) {
        let wake = (): void => {};
        const done = new Promise<void>((resolve) => (wake = resolve));
        sleeping = { done, wake };
      }
      if (current) retire(current, 'the computer is going to sleep', false);
    },
    resume: wake,
    async close() {
      closed = true;
      cancelLinger?.();
      if (current) retire(current, 'closing', false);
      wake();
    },
    stats: () => ({ created, failuresInARow: failures, alive: current !== null }),
  };
}
