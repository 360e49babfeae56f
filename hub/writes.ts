/**
 * Group commit: the write transactions of many requests share one SQLite transaction.
 *
 * A commit costs far more than the statements of a typical request (on this kind of machine
 * ~0.5 ms of syscalls against ~0.03 ms), so `run(fn)` does not commit at once: it queues `fn`,
 * and at the end of the current turn of the event loop every queued function runs inside one
 * IMMEDIATE transaction, each in its own savepoint (better-sqlite3 nests `db.transaction` that
 * way), then it all commits and each caller gets its function's result or error. A function
 * that throws rolls back only its own savepoint. Callers reply only after the commit (and the
 * WAL's fsync, see durability.ts), so nobody sees an effect that could still be rolled back.
 *
 * Functions must be synchronous, and should read what they depend on again inside themselves:
 * other requests' functions may run between the caller's reads and its function.
 */
import type { Db } from '../lib/sqlite.js';

interface Item {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class WriteBatcher {
  private queue: Item[] = [];
  private scheduled = false;
  /** Largest batch committed so far (for tests and benchmarks). */
  largest = 0;

  constructor(private readonly db: Db) {}

  /** Runs `fn` in a write transaction shared with other callers; resolves once it is committed. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.largest = Math.max(this.largest, batch.length);
    if (!this.db.open) {
      for (const item of batch) item.reject(new Error('the database is closed'));
      return;
    }
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      this.db
        .transaction(() => {
          for (const item of batch) {
            try {
              // A nested transaction function: a savepoint, rolled back alone if it throws.
              outcomes.push({ ok: true, value: this.db.transaction(item.fn)() });
            } catch (error) {
              outcomes.push({ ok: false, error });
            }
          }
        })
        .immediate();
    } catch (error) {
      // The commit itself failed: nothing of the batch was written.
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (o.ok) item.resolve(o.value);
      else item.reject(o.error);
    });
  }
}
