/**
 * The GPU time of each task, taken from the engine's status (a task starts when it appears and
 * ends when it goes): the history's "GPU time" and the Home view's progress estimate.
 */
import type { EngineStatus } from '../engine.js';
import type { WorkerStore } from '../store/index.js';

export function trackTaskTimes(
  onStatus: (listener: (s: EngineStatus) => void) => () => void,
  store: WorkerStore,
  hubUrl: string,
  clock: () => number = () => performance.now(),
): () => void {
  let current: { id: string; kind: string; startedAt: string; t0: number } | null = null;
  return onStatus((s) => {
    if ((s.task?.id ?? null) === (current?.id ?? null)) return;
    if (current) {
      // An abandoned task is recorded too; only tasks in the ledger are ever shown or averaged.
      store.taskTimes.record(hubUrl, { taskId: current.id, kind: current.kind, startedAt: current.startedAt, gpuMs: clock() - current.t0 });
    }
    current = s.task ? { ...s.task, t0: clock() } : null;
  });
}
