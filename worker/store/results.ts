/**
 * Results are saved before they are submitted, so a crash between computing and submitting
 * loses nothing: on start, saved results whose lease is still valid are submitted again.
 */
import type { Db } from '../../lib/sqlite.js';

export interface SavedResult {
  hub: string;
  taskId: string;
  kind: string;
  leaseExpiresAt: string;
  output: string;
}

interface Row {
  hub: string;
  task_id: string;
  kind: string;
  lease_expires_at: string;
  output: string;
}

export class ResultStore {
  private readonly saveStmt;
  private readonly doneStmt;
  private readonly unsentStmt;

  constructor(db: Db) {
    this.saveStmt = db.prepare(`
      INSERT INTO results (hub, task_id, kind, lease_expires_at, output, saved_at)
      VALUES (@hub, @taskId, @kind, @leaseExpiresAt, @output, @now)
      ON CONFLICT (hub, task_id) DO UPDATE SET
        kind = excluded.kind, lease_expires_at = excluded.lease_expires_at, output = excluded.output,
        saved_at = excluded.saved_at, submitted_at = NULL, outcome = NULL`);
    this.doneStmt = db.prepare(
      'UPDATE results SET submitted_at = @now, outcome = @outcome, output = \'\' WHERE hub = @hub AND task_id = @taskId',
    );
    this.unsentStmt = db.prepare<[string], Row>(
      'SELECT hub, task_id, kind, lease_expires_at, output FROM results WHERE hub = ? AND submitted_at IS NULL ORDER BY saved_at',
    );
  }

  save(r: SavedResult): void {
    this.saveStmt.run({ ...r, now: new Date().toISOString() });
  }

  /** Marks a result as handed over (or given up); its output is dropped to save space. */
  finish(hub: string, taskId: string, outcome: string): void {
    this.doneStmt.run({ hub, taskId, outcome, now: new Date().toISOString() });
  }

  unsent(hub: string): SavedResult[] {
    return this.unsentStmt.all(hub).map((r) => ({
      hub: r.hub,
      taskId: r.task_id,
      kind: r.kind,
      leaseExpiresAt: r.lease_expires_at,
      output: r.output,
    }));
  }
}
