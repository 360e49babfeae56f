/**
 * Group commit for the hub's SQLite file, off the event loop.
 *
 * With `synchronous = FULL`, SQLite fsyncs the write-ahead log inside every commit; on this kind
 * of disk that is ~3 ms with the event loop blocked, which caps the hub at a few hundred writes
 * a second. The hub instead runs `synchronous = NORMAL` (SQLite still syncs at checkpoints and
 * when the WAL is reused, so the file is always consistent) and adds back exactly what FULL adds,
 * an fsync of the WAL after commits, asynchronously: every reply and every payout broadcast waits
 * for `flush()`, which resolves once an fsync that began after the last commit has finished. Many
 * commits share one fsync, and no client or chain ever sees an effect that a power cut could undo.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Db } from '../lib/sqlite.js';

export class WalSync {
  private readonly totalChanges: () => number;
  /** total_changes() covered by the last finished fsync. */
  private synced: number;
  private inflight: Promise<void> | null = null;
  private handle: Promise<FileHandle> | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly dbPath: string,
  ) {
    const q = db.prepare<[], { n: number }>('SELECT total_changes() AS n');
    this.totalChanges = () => q.get()!.n;
    this.synced = this.totalChanges();
    db.pragma('synchronous = NORMAL');
  }

  /** True when commits made on this connection may not be on disk yet. */
  get dirty(): boolean {
    return !this.closed && this.totalChanges() !== this.synced;
  }

  /** Resolves once every commit made so far on this connection is on disk. */
  async flush(): Promise<void> {
    if (this.dbPath === ':memory:') return;
    for (;;) {
      if (this.closed) return;
      const target = this.totalChanges();
      if (target === this.synced) return;
      if (this.inflight) {
        // It may have started before our commit: wait for it, then look again.
        await this.inflight;
        continue;
      }
      this.inflight = this.fsyncWal(target).finally(() => {
        this.inflight = null;
      });
      await this.inflight;
    }
  }

  private async fsyncWal(covers: number): Promise<void> {
    this.handle ??= open(`${this.dbPath}-wal`, 'r+');
    const h = await this.handle;
    await h.sync();
    if (covers > this.synced) this.synced = covers;
  }

  /** Waits for an fsync in flight; call before closing the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    const h = this.handle;
    this.handle = null;
    if (h) await (await h).close().catch(() => undefined);
  }
}
