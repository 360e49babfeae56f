/** The engine's waits: a wait with a deadline, and a doubling backoff. */

/**
 * Runs `wait` with a signal that aborts after `ms` or when `signal` does. Unlike
 * AbortSignal.timeout, the timer keeps the process alive while it waits.
 */
export async function waitFor(ms: number, signal: AbortSignal | undefined, wait: (wake: AbortSignal) => Promise<void>): Promise<void> {
  const wake = new AbortController();
  const timer = setTimeout(() => wake.abort(), ms);
  const onAbort = (): void => wake.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) wake.abort();
  try {
    await wait(wake.signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * A wait that doubles from `min` to `max` on each try, with equal jitter: each wait is half its
 * step plus a random share of the other half, so that the many workers who lost a hub together
 * do not all come back in the same instant.
 */
export class Backoff {
  private current: number;

  constructor(private readonly range: { min: number; max: number }) {
    this.current = range.min;
  }

  next(): number {
    const step = this.current;
    this.current = Math.min(this.range.max, this.current * 2);
    return step / 2 + Math.random() * (step / 2);
  }

  reset(): void {
    this.current = this.range.min;
  }
}
