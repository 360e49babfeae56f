/**
 * The compute page's script: opens the shared WebGPU host (jobs/gpu-host.ts) on navigator.gpu
 * and offers it to the embedder (the
 * Electron preload of the hidden renderer, or a test driving the page) as `idleforgeCompute`.
 * Every task that comes in is parsed by TaskSchema first; every answer is plain data that can
 * cross a process boundary: `{ ok: true, output }` or `{ ok: false, error: { code, message } }`.
 */
import { createGpuComputeHost, type GpuComputeHost } from '../../jobs/gpu-host.js';
import { KernelError } from '../../kernels/types.js';
import type { AdapterInfo } from '../../protocol/desktop.js';
import { TaskSchema } from '../../protocol/http.js';

export interface ComputePageOptions {
  /** Fixed multiply-adds per matmul submission (tests); unset: sized from the device's speed. */
  sliceBudget?: number;
  /** Fixed nonces per hashsearch submission (tests); unset: sized from the device's speed. */
  hashsearchSliceBudget?: number;
  /** Target duration of one submission, ms (default 50). */
  sliceMs?: number;
  /** Only for tests: `device` and `onSlice` on the page's API. */
  testHooks?: boolean;
}

export type RunAnswer = { ok: true; output: Record<string, unknown> } | { ok: false; error: { code: string; message: string } };

export interface ComputePageApi {
  /** Resolves with the adapter once the host is up; rejects when the page has no WebGPU. */
  ready: Promise<AdapterInfo>;
  /**
   * Runs one task (unparsed JSON from outside); one at a time on the GPU, later calls wait.
   * `onComputed` is called once the GPU is done with it, before its output is encoded: a next
   * run may start then (jobs/gpu-host.ts). A stop aborts the run on the GPU, not one encoding.
   */
  run(task: unknown, onComputed?: () => void): Promise<RunAnswer>;
  /** Stops the task in progress and any waiting behind it (they answer ABORTED). */
  stop(): void;
  benchmark(): Promise<{ ok: true; score: { gflops: number; mhs: number; renderGflops: number } } | { ok: false; error: { code: string; message: string } }>;
  /** Only with `testHooks`: the device in use, to destroy it. */
  device?: () => GPUDevice | null;
  /** Only with `testHooks`: called after each slice of a task with the slices done in that task. */
  onSlice?: ((slice: number) => void) | null;
}

const failure = (error: unknown): { ok: false; error: { code: string; message: string } } => ({
  ok: false,
  error: error instanceof KernelError ? { code: error.code, message: error.message } : { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) },
});

export function installComputePage(gpu: GPU | undefined, options: ComputePageOptions = {}): ComputePageApi {
  let slices = 0;
  const starting = createGpuComputeHost(gpu, {
    sliceBudgets: {
      ...(options.sliceBudget !== undefined ? { matmul: options.sliceBudget } : {}),
      ...(options.hashsearchSliceBudget !== undefined ? { hashsearch: options.hashsearchSliceBudget } : {}),
    },
    ...(options.sliceMs !== undefined ? { sliceMs: options.sliceMs } : {}),
    ...(options.testHooks ? { onProgress: () => api.onSlice?.(++slices) } : {}),
  });
  let controller = new AbortController();
  let host: GpuComputeHost | null = null;
  const api: ComputePageApi = {
    ready: starting.then((h) => {
      host = h;
      return h.adapter;
    }),
    async run(raw, onComputed) {
      const parsed = TaskSchema.safeParse(raw);
      if (!parsed.success) return { ok: false, error: { code: 'VALIDATION', message: `not a task: ${parsed.error.issues[0]?.message ?? 'invalid'}` } };
      try {
        const h = await starting;
        if (controller.signal.aborted) controller = new AbortController();
        slices = 0;
        return { ok: true, output: await h.run(parsed.data, controller.signal, onComputed) };
      } catch (error) {
        return failure(error);
      }
    },
    stop() {
      controller.abort();
    },
    async benchmark() {
      try {
        const score = await (await starting).benchmark();
        return { ok: true, score: { gflops: score.gflops, mhs: score.mhs, renderGflops: score.renderGflops } };
      } catch (error) {
        return failure(error);
      }
    },
  };
  if (options.testHooks) api.device = () => host?.device() ?? null;
  (globalThis as { idleforgeCompute?: ComputePageApi }).idleforgeCompute = api;
  return api;
}
