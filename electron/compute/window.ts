/**
 * One hidden compute renderer: a window from the hardened factory loading the compute page
 * (idleforge://compute), spoken to over its preload's messages (a task in; the GPU done with it,
 * then its answer, out).
 * Every message from it is checked (sender frame, schema) before main believes it. The renderer
 * is gone when its process dies, when it hangs (`unresponsive`, or no `ready` in time), when its
 * page fails to load, or when the GPU process dies; pending calls then reject with
 * RendererGoneError and the host (renderer-host.ts) decides what follows.
 */
import type { BrowserWindow, IpcMain } from 'electron';
import type { z } from 'zod';
import type { Task } from '../../protocol/index.js';
import type { AdapterInfo } from '../../worker/compute/compute-host.js';
import { guardedListener, type IpcSenderEvent } from '../ipc-guard.js';
import { RendererGoneError, type ComputeRenderer } from './renderer-host.js';
import { AnswerMessageSchema, BenchmarkAnswerSchema, ComputedMessageSchema, ComputeReadySchema, RunAnswerSchema, type BenchmarkAnswer, type RunAnswer } from '../../protocol/desktop.js';
import { COMPUTE_CHANNELS } from '../channels.js';

export interface ComputeWindowDeps {
  /** A hidden window from the hardened factory (windows.ts), not loaded yet. */
  createWindow(): BrowserWindow;
  ipc: Pick<IpcMain, 'on' | 'removeListener'>;
  /** The compute page's URL and origin (idleforge://compute). */
  url: string;
  origin: string;
  /** Subscribes to the GPU process dying (app's child-process-gone); returns the unsubscribe. */
  onGpuGone?(listener: (reason: string) => void): () => void;
  /** A page that has not said `ready` after this long is hung (default 30 s; WebGPU start-up on a CPU driver is slow). */
  readyTimeoutMs?: number;
  log?(line: string): void;
}

type IpcListener = (event: IpcSenderEvent, raw: unknown) => void;

export function createComputeRenderer(deps: ComputeWindowDeps): ComputeRenderer {
  const win = deps.createWindow();
  const contents = win.webContents;
  const contentsId = contents.id;
  const rule = { webContentsId: () => contentsId, origin: deps.origin };
  const onRefused = (why: string): void => deps.log?.(`compute renderer: a message was refused (${why})`);

  let nextId = 1;
  const pending = new Map<number, { settle(raw: unknown): void; reject(error: Error): void; computed?: (() => void) | undefined }>();
  const goneListeners: ((reason: string) => void)[] = [];
  let over = false;
  let settleReady: { resolve(a: AdapterInfo): void; reject(e: Error): void } | null = null;
  const ready = new Promise<AdapterInfo>((resolve, reject) => (settleReady = { resolve, reject }));
  ready.catch(() => {}); // the host awaits it; a rejection nobody awaits is not an error

  const onReady: IpcListener = guardedListener({
    rule,
    schema: ComputeReadySchema,
    onRefused,
    handle: (m) => {
      clearTimeout(readyTimer);
      if (m.ok) settleReady?.resolve(m.adapter);
      else settleReady?.reject(new Error(m.message));
    },
  });
  const onAnswer: IpcListener = guardedListener({
    rule,
    schema: AnswerMessageSchema,
    onRefused,
    handle: ({ id, answer }) => {
      const p = pending.get(id);
      pending.delete(id);
      p?.settle(answer);
    },
  });
  const onComputed: IpcListener = guardedListener({
    rule,
    schema: ComputedMessageSchema,
    onRefused,
    handle: ({ id }) => {
      // Once per request: a repeat, or a word for a request that is not pending, changes nothing.
      const p = pending.get(id);
      const computed = p?.computed;
      if (p) p.computed = undefined;
      computed?.();
    },
  });
  deps.ipc.on(COMPUTE_CHANNELS.ready, onReady);
  deps.ipc.on(COMPUTE_CHANNELS.answer, onAnswer);
  deps.ipc.on(COMPUTE_CHANNELS.computed, onComputed);
  const offGpu = deps.onGpuGone?.((reason) => end(`the GPU process ${reason}`, true));
  const readyTimeoutMs = deps.readyTimeoutMs ?? 30_000;
  const readyTimer = setTimeout(() => end(`it did not start within ${readyTimeoutMs / 1000} s`, true), readyTimeoutMs);
  readyTimer.unref?.();

  /** Ends this renderer once: `crashed` tells the host (which then backs off); our own destroy() does not. */
  function end(reason: string, crashed: boolean): void {
    if (over) return;
    over = true;
    clearTimeout(readyTimer);
    deps.ipc.removeListener(COMPUTE_CHANNELS.ready, onReady);
    deps.ipc.removeListener(COMPUTE_CHANNELS.answer, onAnswer);
    deps.ipc.removeListener(COMPUTE_CHANNELS.computed, onComputed);
    offGpu?.();
    const error = new RendererGoneError(`the compute renderer stopped (${reason})`);
    settleReady?.reject(error);
    if (crashed) for (const l of goneListeners) l(reason);
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    if (!win.isDestroyed()) win.destroy();
  }

  contents.on('render-process-gone', (_event, details) => end(`its process ${details.reason.replace(/-/g, ' ')}`, true));
  contents.on('unresponsive', () => end('it stopped responding', true));
  contents.on('did-fail-load', (_event, _code, description, _url, isMainFrame) => {
    if (isMainFrame) end(`its page did not load: ${description}`, true);
  });
  win.on('closed', () => end('its window was closed', true));
  win.loadURL(deps.url).catch((error: unknown) => end(`its page did not load: ${error instanceof Error ? error.message : String(error)}`, true));

  type Failure = { ok: false; error: { code: string; message: string } };
  const notAnAnswer: Failure = { ok: false, error: { code: 'INTERNAL', message: 'the compute page answered with something that is not a result' } };
  const parser =
    <T>(schema: z.ZodType<T>) =>
    (raw: unknown): T | Failure => {
      const parsed = schema.safeParse(raw);
      return parsed.success ? parsed.data : notAnAnswer;
    };

  function request<T>(channel: string, payload: Record<string, unknown>, parse: (raw: unknown) => T, computed?: () => void): Promise<T> {
    if (over) return Promise.reject(new RendererGoneError('the compute renderer stopped'));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { settle: (raw) => resolve(parse(raw)), reject, computed });
      contents.send(channel, { id, ...payload });
    });
  }

  return {
    ready,
    run: (task: Task, onComputed?: () => void): Promise<RunAnswer> => request(COMPUTE_CHANNELS.run, { task }, parser(RunAnswerSchema), onComputed),
    benchmark: (): Promise<BenchmarkAnswer> => request(COMPUTE_CHANNELS.benchmark, {}, parser(BenchmarkAnswerSchema)),
    stop() {
      if (!over) contents.send(COMPUTE_CHANNELS.stop);
    },
    destroy: () => end('closed by the app', false),
    onGone(listener) {
      goneListeners.push(listener);
    },
  };
}
