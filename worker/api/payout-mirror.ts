/**
 * Keeps a local copy of the hub's payouts to this worker (GET /v1/payouts), so the dashboard
 * shows them with their transaction hashes while the hub is away too: read after the ledger
 * changes (a payout may have landed), every minute, and when the dashboard asks after a while.
 */
import type { z } from 'zod';
import type { PayoutsResponseSchema } from '../../protocol/index.js';
import type { WorkerStore } from '../store/index.js';

export interface PayoutSource {
  readonly hubUrl: string;
  payouts(): Promise<z.infer<typeof PayoutsResponseSchema>>;
}

export interface PayoutMirrorOptions {
  source: PayoutSource;
  store: WorkerStore;
  /** False while there is no wallet to sign in with. */
  ready: () => boolean;
  /** Called when a sync changed the local copy. */
  onChanged: () => void;
  intervalMs?: number;
  log?: (line: string) => void;
}

/** A payout list older than this is read again when the dashboard asks. */
const STALE_MS = 15_000;

export class PayoutMirror {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private lastSync: Date | null = null;
  private lastError = '';

  constructor(private readonly o: PayoutMirrorOptions) {}

  get syncedAt(): string | null {
    return this.lastSync?.toISOString() ?? null;
  }

  start(): void {
    this.timer = setInterval(() => void this.sync(), this.o.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    this.timer = null;
    this.soon = null;
  }

  /** Reads again in a few seconds (once, however often it is asked meanwhile): after a credit. */
  syncSoon(delayMs = 3000): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.sync();
    }, delayMs);
    this.soon.unref();
  }
  private soon: NodeJS.Timeout | null = null;

  /** Reads again in the background when the copy is old. */
  refreshIfStale(now = Date.now()): void {
    if (!this.lastSync || now - this.lastSync.getTime() > STALE_MS) void this.sync();
  }

  /** One read of the hub's payouts; an unreachable hub keeps the last copy. */
  sync(): Promise<void> {
    if (!this.o.ready()) return Promise.resolve();
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async read(): Promise<void> {
    try {
      const { payouts } = await this.o.source.payouts();
      this.lastSync = new Date();
      this.lastError = '';
      if (this.o.store.payouts.upsertMany(this.o.source.hubUrl, payouts) > 0) this.o.onChanged();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError) this.o.log?.(`could not read the payouts from the hub: ${message}`);
      this.lastError = message;
    }
  }
}
