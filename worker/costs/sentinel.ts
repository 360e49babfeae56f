/**
 * The sentinel: a GPU that returns wrong results (pushed too far by an overclock, or too hot) is
 * stopped by the worker before the hub's strikes suspend it.
 *
 * It watches the outcome of the last WINDOW tasks: a result the hub rejected, or the GPU device
 * lost mid-task, is a fault. At the first fault in the window it lowers the GPU's duty cycle a
 * step of the intensity scale (100 → 75 → 50 → 25 %), a step more for each further one; at one
 * short of the hub's strike limit (`GET /v1/rates`) it pauses work and says why, until the user
 * resumes. Once WINDOW tasks in a row pass, the window is clean and the cap is lifted.
 */
import { INTENSITIES } from '../../protocol/settings.js';
import type { SentinelRecord, SentinelStore, TaskOutcome } from '../store/sentinel.js';

/** The tasks the sentinel looks back over. */
export const SENTINEL_WINDOW = 20;
/** The hub's strike limit until it has said its own. */
export const DEFAULT_STRIKE_LIMIT = 3;

const TIMES = ['', 'once', 'twice'];
const times = (n: number): string => TIMES[n] ?? `${n} times`;

/** Why the sentinel stopped work, in the user's words. */
export function sentinelReason(outcomes: readonly TaskOutcome[]): string {
  const rejected = outcomes.filter((o) => o === 'rejected').length;
  const lost = outcomes.filter((o) => o === 'device-lost').length;
  const faults = rejected + lost;
  const what = lost === 0 ? 'returned wrong results' : rejected === 0 ? 'crashed (lost its device)' : 'returned wrong results or crashed';
  return `Your GPU ${what} ${times(faults)} in ${SENTINEL_WINDOW} tasks: it may be overclocked too far or running too hot`;
}

export interface SentinelState {
  /** Faults among the last WINDOW tasks. */
  faults: number;
  /** The most of the time the GPU may work, percent; null: no cap. */
  capPercent: number | null;
  /** Why work is paused; null while it is not. */
  pausedReason: string | null;
}

export class Sentinel {
  private record: SentinelRecord;
  private readonly listeners = new Set<(s: SentinelState) => void>();

  constructor(
    private readonly store: SentinelStore,
    /** The hub's strike limit, once known (GET /v1/rates); null until then. */
    private readonly strikeLimit: () => number | null = () => null,
  ) {
    this.record = store.get();
  }

  /** Faults that pause work: one short of the hub's strike limit (at least one). */
  get pauseAt(): number {
    return Math.max(1, (this.strikeLimit() ?? DEFAULT_STRIKE_LIMIT) - 1);
  }

  get state(): SentinelState {
    const window = this.record.outcomes.slice(-SENTINEL_WINDOW).map((o) => o.outcome);
    const faults = window.filter((o) => o !== 'ok').length;
    // A step down the intensity scale for each fault, never under its lowest step.
    const steps = [...INTENSITIES].reverse(); // 100, 75, 50, 25
    const capPercent = faults === 0 ? null : steps[Math.min(faults, steps.length - 1)]!;
    return { faults, capPercent, pausedReason: this.record.paused ? sentinelReason(window) : null };
  }

  /**
   * Results the hub may judge at once (worker/engine/task-pipeline.ts): the rejections left before
   * the pause, at least one. Sent beside each other, they could all be rejected before the first
   * verdict comes back; no more than would reach the pause may be, so the pause still comes one
   * short of the hub's strike limit.
   */
  get submitsAtOnce(): number {
    return Math.max(1, this.pauseAt - this.state.faults);
  }

  /** The duty cycle's cap, 0..1 (1: none). */
  get dutyCap(): number {
    return (this.state.capPercent ?? 100) / 100;
  }

  /** Counts a task's outcome; pauses work at one short of the strike limit. */
  recordOutcome(outcome: TaskOutcome, taskId: string | null = null): void {
    this.judge([...this.record.outcomes, { task: taskId, outcome }].slice(-SENTINEL_WINDOW), outcome !== 'ok');
  }

  /**
   * A result that was pending (waiting for a replica) and then proven wrong is a fault too: with
   * the mirrored ledger's word on the window's tasks (`rejectedAmong`), each such 'ok' becomes
   * 'rejected', and the pause is judged again.
   */
  recheck(rejectedAmong: (taskIds: string[]) => Set<string>): void {
    const ids = this.record.outcomes.filter((o) => o.outcome === 'ok' && o.task !== null).map((o) => o.task!);
    const rejected = rejectedAmong(ids);
    if (rejected.size === 0) return;
    this.judge(
      this.record.outcomes.map((o) => (o.outcome === 'ok' && o.task !== null && rejected.has(o.task) ? { ...o, outcome: 'rejected' as const } : o)),
      true,
    );
  }

  private judge(outcomes: SentinelRecord['outcomes'], fault: boolean): void {
    const faults = outcomes.filter((o) => o.outcome !== 'ok').length;
    this.save({ outcomes, paused: this.record.paused || (fault && faults >= this.pauseAt) });
  }

  /** The user resumed: work may run again (the faults stay counted: one more pauses again). */
  resume(): void {
    if (this.record.paused) this.save({ ...this.record, paused: false });
  }

  /** Reads the store again: `idleforge resume` in another process lifts the pause there. */
  reload(): void {
    const stored = this.store.get();
    if (JSON.stringify(stored) !== JSON.stringify(this.record)) this.save(stored);
  }

  onChange(listener: (s: SentinelState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private save(record: SentinelRecord): void {
    const before = JSON.stringify(this.state);
    this.record = record;
    this.store.set(record);
    const after = this.state;
    if (JSON.stringify(after) !== before) for (const l of this.listeners) l(after);
  }
}

/**
 * What the sentinel decides reaches the governor as a reading: its pause stops work like any
 * other condition, with its reason ("Why am I not earning?", the tray, a notification).
 * Returns a function that disconnects it.
 */
export function connectSentinel(sentinel: Sentinel, governor: { update(r: { gpuFault: string | null }): void }, reloadMs = 2000): () => void {
  governor.update({ gpuFault: sentinel.state.pausedReason });
  const off = sentinel.onChange((s) => governor.update({ gpuFault: s.pausedReason }));
  const timer = setInterval(() => sentinel.reload(), reloadMs);
  timer.unref();
  return () => {
    off();
    clearInterval(timer);
  };
}
