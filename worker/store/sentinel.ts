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
  outcomes: z.array(z.enum(TASK_OUTCOMES)).max(1000),
  paused: z.boolean(),
});
export type SentinelRecord = z.infer<typeof StoredSchema>;

const KEY = 'sentinel';

export class SentinelStore {
  private readonly getStmt;
  private readonly putStmt;

  constructor(db: Db) {
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

  set(record: SentinelRecord): void {
    this.putStmt.run(KEY, JSON.stringify(StoredSchema.parse(record)), new Date().toISOString());
  }
}
