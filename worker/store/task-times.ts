/**
 * The GPU time this machine spent on each task: the history's "GPU time" and the progress
 * estimate; and each task's size and, when the hub has no entry of it, what became of it (the
 * history's receipts: nothing the worker ran disappears from it).
 */
import { withoutFsync, type Db } from '../../lib/sqlite.js';

/** What became of a task the hub has no ledger entry of (see protocol HISTORY_STATUSES). */
export type LocalOutcome = 'lapsed' | 'given-back' | 'failed' | 'refused';

export class TaskTimes {
  private readonly putStmt;
  private readonly typicalStmt;
  private readonly describeStmt;
  private readonly outcomeStmt;

  constructor(private readonly db: Db) {
    // A task is described when it starts; the timer records its GPU time when it ends.
    this.describeStmt = db.prepare(`
      INSERT INTO task_times (hub, task_id, kind, started_at, gpu_ms, units, unit) VALUES (@hub, @taskId, @kind, @now, 0, @units, @unit)
      ON CONFLICT (hub, task_id) DO UPDATE SET units = excluded.units, unit = excluded.unit`);
    // The run's size is the task's (described when it started here).
    this.outcomeStmt = db.prepare(`
      INSERT INTO task_attempts (hub, task_id, kind, at, at_ms, gpu_ms, units, unit, outcome, reason)
      SELECT @hub, @taskId, @kind, @now, @nowMs, @gpuMs, t.units, t.unit, @outcome, @reason
      FROM (SELECT 1) LEFT JOIN task_times t ON t.hub = @hub AND t.task_id = @taskId`);
    this.putStmt = db.prepare(`
      INSERT INTO task_times (hub, task_id, kind, started_at, gpu_ms) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (hub, task_id) DO UPDATE SET kind = excluded.kind, started_at = excluded.started_at, gpu_ms = excluded.gpu_ms`);
    // Only tasks the hub has an entry for: an abandoned task's time says nothing of a whole one.
    this.typicalStmt = db.prepare<[string, number], { gpu_ms: number }>(`
      SELECT t.gpu_ms FROM task_times t JOIN earnings e ON e.hub = t.hub AND e.task_id = t.task_id
      WHERE t.kind = ? ORDER BY t.started_at DESC LIMIT ?`);
  }

  record(hub: string, t: { taskId: string; kind: string; startedAt: string; gpuMs: number }): void {
    this.putStmt.run(hub, t.taskId, t.kind, t.startedAt, Math.max(0, Math.round(t.gpuMs)));
  }

  /** A task starts here: its size in its kind's unit of work (FLOP, hashes). */
  describe(hub: string, t: { taskId: string; kind: string; units: bigint; unit: string }): void {
    // While the task runs: no fsync on the loop that feeds the GPU (a size lost to a power cut
    // only leaves a receipt without it).
    withoutFsync(this.db, () => this.describeStmt.run({ hub, taskId: t.taskId, kind: t.kind, units: t.units.toString(), unit: t.unit, now: new Date().toISOString() }));
  }

  /**
   * A run of a task here that earned no ledger entry: what became of it and why, in plain words,
   * and the GPU time it took (when known). Each such run is a row of the history of its own.
   */
  outcome(hub: string, t: { taskId: string; kind: string; outcome: LocalOutcome; reason: string; gpuMs?: number }): void {
    const gpuMs = t.gpuMs === undefined ? null : Math.max(0, Math.round(t.gpuMs));
    const now = new Date();
    this.outcomeStmt.run({ hub, taskId: t.taskId, kind: t.kind, outcome: t.outcome, reason: t.reason, gpuMs, now: now.toISOString(), nowMs: now.getTime() });
  }

  /** The median GPU time of the last `sample` tasks of a kind, or null before the first. */
  typicalMs(kind: string, sample = 9): number | null {
    const times = this.typicalStmt.all(kind, sample).map((r) => r.gpu_ms).sort((a, b) => a - b);
    if (times.length === 0) return null;
    return times[Math.floor(times.length / 2)]!;
  }
}
