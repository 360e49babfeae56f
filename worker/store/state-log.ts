/** Every change of the engine's state, with its reason: the answer to "why did I not earn?". */
import type { WorkerState } from '../../protocol/index.js';
import type { Db } from '../../lib/sqlite.js';

export interface StateChange {
  at: string;
  state: WorkerState;
  reason: string;
  /** For a hand-back of the GPU: ms from noticing the user to the device's memory freed. */
  handoffMs?: number;
}

export class StateLog {
  private readonly addStmt;
  private readonly recentStmt;

  constructor(db: Db) {
    this.addStmt = db.prepare('INSERT INTO state_log (at, state, reason, handoff_ms) VALUES (?, ?, ?, ?)');
    this.recentStmt = db.prepare<[number], StateChange & { handoffMs: number | null }>(
      'SELECT at, state, reason, handoff_ms AS handoffMs FROM state_log ORDER BY id DESC LIMIT ?',
    );
  }

  add(change: StateChange): void {
    this.addStmt.run(change.at, change.state, change.reason, change.handoffMs ?? null);
  }

  recent(limit = 100): StateChange[] {
    return this.recentStmt.all(limit).map(({ handoffMs, ...c }) => (handoffMs === null ? c : { ...c, handoffMs }));
  }
}
