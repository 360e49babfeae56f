/**
 * Results are saved before they are submitted, so a crash between computing and submitting
 * loses nothing: on start, saved results whose lease is still valid are submitted again.
 * An output is kept in its wire form: a matmul's `{ c }` as its raw bytes (a BLOB, as it is sent),
 * any other output as its JSON text.
 *
 * These writes skip the fsync per commit (lib/sqlite.ts `withoutFsync`; a megabyte saved and
 * cleared per matmul task cost 7.7 ms of CPU with it, 1.8 ms without, here): still durable when
 * the process crashes or is killed. A power cut can lose the last results saved, which costs
 * only their compute: their leases lapse and the hub leases the tasks again. Nothing is credited
 * or paid from this table.
 */
import { withoutFsync, type Db } from '../../lib/sqlite.js';

/** An output in wire form (see protocol/codec.ts `encodeOutput`). */
export type WireOutput = Record<string, unknown>;

export interface SavedResult {
  hub: string;
  taskId: string;
  kind: string;
  leaseExpiresAt: string;
  output: WireOutput;
}

/** A saved result as read back: `output` is null when what was saved cannot be read. */
export interface UnsentResult extends Omit<SavedResult, 'output'> {
  output: WireOutput | null;
}

interface Row {
  hub: string;
  task_id: string;
  kind: string;
  lease_expires_at: string;
  output: string | Uint8Array;
}

/** The one binary output: exactly `{ c: bytes }`. */
function binaryOf(output: WireOutput): Uint8Array | null {
  const keys = Object.keys(output);
  return keys.length === 1 && output.c instanceof Uint8Array ? output.c : null;
}

function readOutput(stored: string | Uint8Array): WireOutput | null {
  if (typeof stored !== 'string') return { c: new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength) };
  try {
    const output: unknown = JSON.parse(stored);
    return typeof output === 'object' && output !== null && !Array.isArray(output) ? (output as WireOutput) : null;
  } catch {
    return null;
  }
}

export class ResultStore {
  private readonly saveStmt;
  private readonly doneStmt;
  private readonly unsentStmt;

  constructor(private readonly db: Db) {
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
    const bytes = binaryOf(r.output);
    const output = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : JSON.stringify(r.output);
    withoutFsync(this.db, () => this.saveStmt.run({ ...r, output, now: new Date().toISOString() }));
  }

  /** Marks a result as handed over (or given up); its output is dropped to save space. */
  finish(hub: string, taskId: string, outcome: string): void {
    withoutFsync(this.db, () => this.doneStmt.run({ hub, taskId, outcome, now: new Date().toISOString() }));
  }

  unsent(hub: string): UnsentResult[] {
    return this.unsentStmt.all(hub).map((r) => ({
      hub: r.hub,
      taskId: r.task_id,
      kind: r.kind,
      leaseExpiresAt: r.lease_expires_at,
      output: readOutput(r.output),
    }));
  }
}
