/**
 * Results are saved before they are submitted, so a crash between computing and submitting
 * loses nothing: on start, saved results whose lease is still valid are submitted again.
 * An output is kept in its wire form: one its kind sends as raw bytes (jobs/ `rawResultField`: a
 * matmul's `{ c }`, a render tile's `{ rgbHalfChunks }`) as those bytes, in a file of its own under
 * `results/` beside worker.db (the row names it and its length; the row's kind says which field
 * they are), any other output as its JSON text in the row. A store with no folder of its own
 * (`:memory:`) keeps bytes in the row.
 *
 * Durable when the process crashes or is killed, without an fsync: the file is written before
 * its row and deleted after its row is marked finished (files no row names are swept on open),
 * and the rows are written with synchronous=NORMAL (lib/sqlite.ts `withoutFsync`). A power cut
 * can lose the last results saved, which costs only their compute: a row whose file is gone or
 * short reads back as unreadable, its lease lapses and the hub leases the task again. Nothing
 * is credited or paid from this table.
 *
 * Why files: saving a feeder task's C (up to 1 MB) as a BLOB cost about 5 ms of CPU (its WAL
 * frames and their checksums, then the checkpoint's second copy); writing and later deleting a
 * file costs about 0.3 ms, and a file deleted seconds after it was written usually never leaves
 * the page cache.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { outputOfRaw, rawResultOf } from '../../jobs/index.js';
import { withoutFsync, type Db } from '../../lib/sqlite.js';

/** An output in wire form (see jobs/index.ts `encodeOutput`). */
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
  output_file: string | null;
  output_bytes: number | null;
}

function readOutput(kind: string, stored: string | Uint8Array): WireOutput | null {
  if (typeof stored !== 'string') return rawOutput(kind, new Uint8Array(stored.buffer, stored.byteOffset, stored.byteLength));
  try {
    const output: unknown = JSON.parse(stored);
    return typeof output === 'object' && output !== null && !Array.isArray(output) ? (output as WireOutput) : null;
  } catch {
    return null;
  }
}

/** Saved bytes as the output of a task of `kind`, or null when that kind has no raw form (not this program's kind). */
function rawOutput(kind: string, bytes: Uint8Array): WireOutput | null {
  try {
    return outputOfRaw(kind, bytes);
  } catch {
    return null;
  }
}

/** The file of one task's output: named by a hash of hub and task id (both may hold any character). */
function fileNameOf(hub: string, taskId: string): string {
  return `${createHash('sha256').update(`${hub}\n${taskId}`).digest('hex').slice(0, 40)}.f32`;
}

export class ResultStore {
  private readonly saveStmt;
  private readonly doneStmt;
  private readonly unsentStmt;

  /** `dir`: where binary outputs are kept (created when missing); null keeps them in the rows. */
  constructor(
    private readonly db: Db,
    private readonly dir: string | null = null,
  ) {
    this.saveStmt = db.prepare(`
      INSERT INTO results (hub, task_id, kind, lease_expires_at, output, output_file, output_bytes, saved_at)
      VALUES (@hub, @taskId, @kind, @leaseExpiresAt, @output, @file, @bytes, @now)
      ON CONFLICT (hub, task_id) DO UPDATE SET
        kind = excluded.kind, lease_expires_at = excluded.lease_expires_at, output = excluded.output,
        output_file = excluded.output_file, output_bytes = excluded.output_bytes,
        saved_at = excluded.saved_at, submitted_at = NULL, outcome = NULL`);
    this.doneStmt = db.prepare(
      "UPDATE results SET submitted_at = @now, outcome = @outcome, output = '', output_file = NULL, output_bytes = NULL WHERE hub = @hub AND task_id = @taskId",
    );
    this.unsentStmt = db.prepare<[string], Row>(
      'SELECT hub, task_id, kind, lease_expires_at, output, output_file, output_bytes FROM results WHERE hub = ? AND submitted_at IS NULL ORDER BY saved_at',
    );
    if (dir !== null) {
      mkdirSync(dir, { recursive: true });
      this.sweep(dir);
    }
  }

  save(r: SavedResult): void {
    const bytes = rawResultOf(r.kind, r.output);
    const now = new Date().toISOString();
    if (bytes && this.dir !== null) {
      const file = fileNameOf(r.hub, r.taskId);
      // The file first: no row ever names a file that was not written whole.
      writeFileSync(join(this.dir, file), bytes);
      withoutFsync(this.db, () => this.saveStmt.run({ ...r, output: '', file, bytes: bytes.byteLength, now }));
      return;
    }
    const output = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : JSON.stringify(r.output);
    withoutFsync(this.db, () => this.saveStmt.run({ ...r, output, file: null, bytes: null, now }));
  }

  /** Marks a result as handed over (or given up); its output is dropped to save space. */
  finish(hub: string, taskId: string, outcome: string): void {
    withoutFsync(this.db, () => this.doneStmt.run({ hub, taskId, outcome, now: new Date().toISOString() }));
    // After the row: a file left by a crash here is swept on the next open. The name follows
    // from hub and task id, so there is nothing to look up (and no file for a JSON output).
    if (this.dir !== null) rmSync(join(this.dir, fileNameOf(hub, taskId)), { force: true });
  }

  unsent(hub: string): UnsentResult[] {
    return this.unsentStmt.all(hub).map((r) => ({
      hub: r.hub,
      taskId: r.task_id,
      kind: r.kind,
      leaseExpiresAt: r.lease_expires_at,
      output: r.output_file === null ? readOutput(r.kind, r.output) : this.readFile(r.kind, r.output_file, r.output_bytes),
    }));
  }

  /** A saved output file, or null when it is missing or not the length its row says. */
  private readFile(kind: string, file: string, bytes: number | null): WireOutput | null {
    if (this.dir === null) return null;
    try {
      const data = readFileSync(join(this.dir, file));
      return data.byteLength === bytes ? rawOutput(kind, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) : null;
    } catch {
      return null;
    }
  }

  /** Deletes files no unsent result names (left by a crash between writing a file and its row). */
  private sweep(dir: string): void {
    const named = new Set(
      this.db
        .prepare<[], { output_file: string }>('SELECT output_file FROM results WHERE output_file IS NOT NULL AND submitted_at IS NULL')
        .all()
        .map((r) => r.output_file),
    );
    for (const entry of readdirSync(dir)) {
      if (!named.has(entry)) rmSync(join(dir, entry), { force: true, recursive: true });
    }
  }
}
