/**
 * Runs in the compute page, after renderer/compute/main.ts has installed `idleforgeCompute`:
 * connects it to the preload's bridge. Every task goes to the page's own run(), which parses it
 * with TaskSchema; main hears when the GPU is done with it (`computed`), then its answer as plain
 * data.
 */
import { COMPUTE_BRIDGE_GLOBAL } from '../channels.js';

interface PageApi {
  ready: Promise<unknown>;
  run(task: unknown, onComputed?: () => void): Promise<unknown>;
  stop(): void;
  benchmark(): Promise<unknown>;
}

interface HostBridge {
  ready(info: unknown): void;
  answer(id: unknown, answer: unknown): void;
  computed(id: unknown): void;
  onRun(listener: (message: unknown) => void): void;
  onBenchmark(listener: (message: unknown) => void): void;
  onStop(listener: () => void): void;
}

const scope = globalThis as unknown as Record<string, unknown>;
const page = scope.idleforgeCompute as PageApi | undefined;
const host = scope[COMPUTE_BRIDGE_GLOBAL] as HostBridge | undefined;

const idOf = (message: unknown): unknown => (typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined);

if (page && host) {
  host.onRun((message) => {
    const task = typeof message === 'object' && message !== null ? (message as { task?: unknown }).task : undefined;
    // The GPU done, main may send the next task while this one's output is encoded.
    void page.run(task, () => host.computed(idOf(message))).then((answer) => host.answer(idOf(message), answer));
  });
  host.onBenchmark((message) => void page.benchmark().then((answer) => host.answer(idOf(message), answer)));
  host.onStop(() => page.stop());
  page.ready.then(
    (adapter) => host.ready({ ok: true, adapter }),
    (error: unknown) => host.ready({ ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
} else if (host) {
  host.ready({ ok: false, message: 'the compute page did not load' });
}
