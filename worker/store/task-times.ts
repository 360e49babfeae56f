/** The GPU time this machine spent on each task: the history's "GPU time" and the progress estimate. */
import type { Db } from '../../lib/sqlite.js';

export class TaskTimes {
  private readonly putStmt;
  private readonly typicalStmt;

  constructor(db: Db) {
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

  /** The median GPU time of the last `sample` tasks of a kind, or null before the first. */
  typicalMs(kind: string, sample = 9): number | null {
    const times = this.typicalStmt.all(kind, sample).map((r) => r.gpu_ms).sort((a, b) => a - b);
    if (times.length === 0) return null;
    return times[Math.floor(times.length / 2)]!;
  }
}
