/** Thumbnails of the latest picture outputs (render tiles) this machine computed, for the dashboard. */
import type { Db } from '../../lib/sqlite.js';

/** Thumbnails kept; older ones are deleted as new ones come. */
export const PREVIEWS_KEPT = 48;

export interface TilePreviewRow {
  hub: string;
  taskId: string;
  kind: string;
  width: number;
  height: number;
  /** 8-bit RGB, rows top to bottom. */
  rgb: Uint8Array;
  createdAt: string;
}

interface Row {
  hub: string;
  task_id: string;
  kind: string;
  width: number;
  height: number;
  rgb: Uint8Array;
  created_at: string;
}

const fromRow = (r: Row): TilePreviewRow => ({ hub: r.hub, taskId: r.task_id, kind: r.kind, width: r.width, height: r.height, rgb: new Uint8Array(r.rgb), createdAt: r.created_at });

export class PreviewStore {
  private readonly putStmt;
  private readonly pruneStmt;
  private readonly latestStmt;
  private readonly forTaskStmt;

  constructor(private readonly db: Db) {
    this.putStmt = db.prepare(`
      INSERT INTO tile_previews (hub, task_id, kind, width, height, rgb, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (hub, task_id) DO UPDATE SET kind = excluded.kind, width = excluded.width, height = excluded.height, rgb = excluded.rgb, created_at = excluded.created_at`);
    this.pruneStmt = db.prepare<[number]>(`
      DELETE FROM tile_previews WHERE rowid NOT IN (SELECT rowid FROM tile_previews ORDER BY created_at DESC, rowid DESC LIMIT ?)`);
    this.latestStmt = db.prepare<[number], Row>('SELECT * FROM tile_previews ORDER BY created_at DESC, rowid DESC LIMIT ?');
    this.forTaskStmt = db.prepare<[string], Row>('SELECT * FROM tile_previews WHERE task_id = ? ORDER BY created_at DESC LIMIT 1');
  }

  /** Keeps a thumbnail (the same task again replaces it), and only the latest PREVIEWS_KEPT of all. */
  save(p: TilePreviewRow): void {
    this.db.transaction(() => {
      this.putStmt.run(p.hub, p.taskId, p.kind, p.width, p.height, Buffer.from(p.rgb.buffer, p.rgb.byteOffset, p.rgb.byteLength), p.createdAt);
      this.pruneStmt.run(PREVIEWS_KEPT);
    })();
  }

  /** The latest `limit` thumbnails, newest first. */
  latest(limit: number): TilePreviewRow[] {
    return this.latestStmt.all(limit).map(fromRow);
  }

  /** The thumbnails of these tasks, where kept. */
  forTasks(taskIds: readonly string[]): TilePreviewRow[] {
    return taskIds.flatMap((id) => this.forTaskStmt.all(id).map(fromRow));
  }
}
