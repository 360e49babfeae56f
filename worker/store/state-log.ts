/** Every change of the engine's state, with its reason: the answer to "why did I not earn?". */
import type { WorkerState } from '../../protocol/index.js';
import type { Db } from '../../lib/sqlite.js';

export interface StateChange {
  at: string;
  state: WorkerState;
  reason: string;
}

export class StateLog {
  private readonly addStmt;
  private readonly recentStmt;

  constructor(db: Db) {
    this.addStmt = db.prepare('INSERT INTO state_log (at, state, reason) VALUES (?, ?, ?)');
    this.recentStmt = db.prepare<[number], StateChange>(
      'SELECT at, state, reason FROM state_log ORDER BY id DESC LIMIT ?',
    );
  }

  add(change: StateChange): void {
    this.addStmt.run(change.at, change.state, change.reason);
  }

  recent(limit = 100): StateChange[] {
    return this.recentStmt.all(limit);
  }
}
