/**
 * The hub's published rates (`GET /v1/rates`): what each kind pays, how much work waits, the
 * token's reference price and the strike limit. Read at start and every few minutes; the last
 * answer is kept (a hub that cannot be reached leaves it as it was).
 */
import type { Rates } from '../../protocol/index.js';

export interface RatesWatcherOptions {
  read: () => Promise<Rates>;
  /** How often to read them again; default 5 minutes. */
  everyMs?: number;
  log?: (line: string) => void;
}

export class RatesWatcher {
  private last: Rates | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(r: Rates) => void>();
  private warned = false;

  constructor(private readonly o: RatesWatcherOptions) {}

  /** The last rates read; null before the first answer. */
  get current(): Rates | null {
    return this.last;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.everyMs ?? 5 * 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  onChange(listener: (r: Rates) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async refresh(): Promise<Rates | null> {
    try {
      this.last = await this.o.read();
      this.warned = false;
      for (const l of this.listeners) l(this.last);
    } catch (error) {
      // Said once per outage: the rates are a nicety, work goes on without them.
      if (!this.warned) this.o.log?.(`could not read the hub's rates: ${error instanceof Error ? error.message : String(error)}`);
      this.warned = true;
    }
    return this.last;
  }
}
