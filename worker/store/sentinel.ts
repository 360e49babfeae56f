/**
 * The sentinel's memory (worker/costs/sentinel.ts), kept in the `kv` table so a restart neither
 * forgets the faults of the last tasks nor lifts a pause it called: the outcome of each of the
 * last tasks and whether it paused work. Parsed on every read; a damaged value reads as none.
 */
import { z } from 'zod';
import type { Db } from '../../lib/sqlite.js';

export const TASK_OUTCOMES = ['ok', 'rejected', 'device-lost'] as const;
export type TaskOutcome = (typeof TASK_OUTCOMES)[number];

const StoredSchema = z.object({
  outcomes: z.array(z.object({ task: z.string().max(200).nullable(), outcome: z.enum(TASK_OUTCOMES) })).max(1000),
  paused: z.boolean(),
});
export type SentinelRecord = z.infer<typeof StoredSchema>;

const KEY = 'sentinel';

export class SentinelStore {
  private readonly getStmt;
  private readonly putStmt;
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?');
    this.putStmt = db.prepare(
      'INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
  }

  get(): SentinelRecord {
    const row = this.getStmt.get(KEY);
    if (!row) return { outcomes: [], paused: false };
    let raw: unknown;
    try {
      raw = JSON.parse(row.value);
    } catch {
      return { outcomes: [], paused: false };
    }
    const parsed = StoredSchema.safeParse(raw);
    return parsed.success ? parsed.data : { outcomes: [], paused: false };
  }

  /** Of these tasks, those the mirrored ledger now says were rejected (a replica proved them wrong after they were pending). */
  rejectedAmong(taskIds: readonly string[]): Set<string> {
    if (taskIds.length === 0) return new Set();
    const rows = this.db
      .prepare<string[], { task_id: string }>(`SELECT task_id FROM earnings WHERE status = 'rejected' AND task_id IN (${taskIds.map(() => '?').join(', ')})`)
      .all(...taskIds);
    return new Set(rows.map((r) => r.task_id));
  }

  set(record: SentinelRecord): void {
    this.putStmt.run(KEY, JSON.stringify(StoredSchema.parse(record)), new Date().toISOString());
  }
}
