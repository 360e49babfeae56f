/** What the rigs part of the worker keeps: commands handed to it (once each), and its day's figures for its heartbeat. */
import type { Db } from '../../lib/sqlite.js';

export interface RigCommandRecord {
  sender: string;
  nonce: string;
  hub: string;
  action: string;
  senderName: string | null;
  outcome: 'applied' | 'refused';
  reason: string | null;
  at: string;
}

export interface RigFigures {
  tasks: number;
  rejected: number;
  /** Base units, not rejected. */
  earned: bigint;
}

const CURSOR_KEY = 'rigs.commandCursor';

export class RigStore {
  private readonly addStmt;
  private readonly seenStmt;
  private readonly recentStmt;
  private readonly sinceStmt;
  private readonly getKv;
  private readonly putKv;

  constructor(db: Db) {
    // OR IGNORE: the primary key keeps the first record of a (sender, nonce); `record` says whether it was new.
    this.addStmt = db.prepare(
      'INSERT OR IGNORE INTO rig_commands (sender, nonce, hub, action, sender_name, outcome, reason, at) VALUES (@sender, @nonce, @hub, @action, @senderName, @outcome, @reason, @at)',
    );
    this.seenStmt = db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM rig_commands WHERE sender = ? AND nonce = ?');
    this.recentStmt = db.prepare<[number], RigCommandRecord>(
      'SELECT sender, nonce, hub, action, sender_name AS senderName, outcome, reason, at FROM rig_commands ORDER BY at DESC, rowid DESC LIMIT ?',
    );
    this.sinceStmt = db.prepare<[string], { status: string; amount: string }>('SELECT status, amount FROM earnings WHERE created_at >= ?');
    this.getKv = db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?');
    this.putKv = db.prepare('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at');
  }

  /** Whether a command of `sender` with `nonce` was handed to this rig before. */
  seen(sender: string, nonce: string): boolean {
    return (this.seenStmt.get(sender, nonce)?.n ?? 0) > 0;
  }

  /** Records a command's outcome; false when one with its sender and nonce was recorded before. */
  record(r: RigCommandRecord): boolean {
    return this.addStmt.run(r).changes === 1;
  }

  recent(limit = 50): RigCommandRecord[] {
    return this.recentStmt.all(limit);
  }

  /** The hub's id of the last command read from `hub` ('0' before the first). */
  cursor(hub: string): string {
    const row = this.getKv.get(`${CURSOR_KEY}:${hub}`);
    return row && /^[0-9]{1,18}$/.test(row.value) ? row.value : '0';
  }

  setCursor(hub: string, id: string): void {
    this.putKv.run(`${CURSOR_KEY}:${hub}`, id, new Date().toISOString());
  }

  /** Tasks credited or pending, rejected results, and what they earned, since `sinceIso` (the hub's times). */
  figuresSince(sinceIso: string): RigFigures {
    const f: RigFigures = { tasks: 0, rejected: 0, earned: 0n };
    for (const r of this.sinceStmt.all(sinceIso)) {
      if (r.status === 'rejected') f.rejected++;
      else {
        f.tasks++;
        f.earned += BigInt(r.amount);
      }
    }
    return f;
  }
}
