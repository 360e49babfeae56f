/**
 * The worker's copy of its hub's books: every entry of the hub's ledger for this worker and the
 * hub's payouts to it (GET /v1/payouts), so the dashboard shows earnings and payouts, with their
 * transaction hashes, while the hub is away too.
 *
 * The two copies move together, one read leading to the other and never back: a payout marks the
 * entries it pays as paid, so changed payouts are followed by a read of the ledger; a changed
 * ledger may mean a payout landed, so it is followed by a read of the payouts. Either copy
 * changing is one event, `onChanged`.
 *
 * The ledger is read by the engine (at sign-in, periodically, on the way out); the payouts every
 * minute, a few seconds after a credit, and when the dashboard asks after a while.
 */
import type { z } from 'zod';
import type { EarningEntry, PayoutsResponseSchema } from '../../protocol/index.js';
import type { WorkerStore } from './index.js';

export interface HubBooksSource {
  readonly hubUrl: string;
  allEarnings(): Promise<{ entries: EarningEntry[] }>;
  /**
   * One page of what changed after a change number (`changeCursor` null: the hub does not number
   * its changes, and the whole ledger is read instead). Without it, the whole ledger is read.
   */
  earningsChanges?(changedAfter: string): Promise<{ entries: EarningEntry[]; changeCursor: string | null; more: boolean }>;
  payouts(): Promise<z.infer<typeof PayoutsResponseSchema>>;
  /**
   * A page of the payouts, newest first, after the payout `before` (GET /v1/payouts?limit=);
   * `nextCursor` undefined: the hub answered with every payout (it does not page them).
   */
  payoutsPage?(before: string | null): Promise<z.infer<typeof PayoutsResponseSchema>>;
}

export interface HubMirrorOptions {
  source: HubBooksSource;
  store: WorkerStore;
  /** False while the payouts are not to be read (there is no wallet to sign in with yet). */
  ready: () => boolean;
  /** How often the payouts are read; default every minute. */
  intervalMs?: number;
  log?: (line: string) => void;
}

/** A payout list older than this is read again when the dashboard asks. */
const STALE_MS = 15_000;

export class HubMirror {
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private payoutsRead: Promise<void> | null = null;
  private lastSync: Date | null = null;
  private lastError = '';
  private ledgerRead = 0;

  constructor(private readonly o: HubMirrorOptions) {}

  /** When the payouts were last read; null before the first read. */
  get syncedAt(): string | null {
    return this.lastSync?.toISOString() ?? null;
  }

  /** When the hub's ledger was last read, in ms since the epoch; 0 before the first read. */
  get ledgerReadAt(): number {
    return this.ledgerRead;
  }

  /** Called when the local ledger or payouts changed. */
  onChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the payouts every interval. */
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

  /**
   * Brings the copy of the hub's ledger up to date; returns how many entries changed. Reads only
   * what changed since the last read (the hub's change numbers: an entry whose status changed
   * comes back too), a page at a time, each page written with the number it reaches, so a read
   * cut short resumes where it stopped; a hub that does not number its changes is read whole.
   * Throws when the hub cannot be read (the engine's loop handles that).
   */
  async reconcile(): Promise<number> {
    const hub = this.o.source.hubUrl;
    const ledger = this.o.store.ledger;
    let changed = 0;
    let whole = this.o.source.earningsChanges === undefined;
    let cursor = ledger.changeCursor(hub) ?? '0';
    while (!whole) {
      const page = await this.o.source.earningsChanges!(cursor);
      if (page.changeCursor === null) {
        whole = true;
        break;
      }
      if (BigInt(page.changeCursor) < BigInt(cursor)) {
        // The hub's ledger never reached our number: not the ledger it came from. Read it all again.
        this.o.log?.(`the hub's ledger is behind this copy's cursor (${page.changeCursor} < ${cursor}): reading it again from the start`);
        cursor = '0';
        continue;
      }
      changed += ledger.upsertMany(hub, page.entries, page.changeCursor);
      cursor = page.changeCursor;
      if (!page.more) break;
    }
    if (whole) changed += ledger.upsertMany(hub, (await this.o.source.allEarnings()).entries);
    this.ledgerRead = Date.now();
    if (changed > 0) {
      this.emit();
      void this.readPayouts(false);
    }
    return changed;
  }

  /** Reads the payouts again in a few seconds (once, however often it is asked meanwhile): after a credit. */
  syncSoon(delayMs = 3000): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.sync();
    }, delayMs);
    this.soon.unref();
  }

  /** Reads the payouts again in the background when the copy is old. */
  refreshIfStale(now = Date.now()): void {
    if (!this.lastSync || now - this.lastSync.getTime() > STALE_MS) void this.sync();
  }

  /** One read of the hub's payouts (and of its ledger when they changed); an unreachable hub keeps the last copy. */
  sync(): Promise<void> {
    return this.readPayouts(true);
  }

  /** One read at a time: a second call while one runs waits for it. */
  private readPayouts(thenLedger: boolean): Promise<void> {
    if (!this.o.ready()) return Promise.resolve();
    this.payoutsRead ??= this.read(thenLedger).finally(() => {
      this.payoutsRead = null;
    });
    return this.payoutsRead;
  }

  private async read(thenLedger: boolean): Promise<void> {
    let changed: boolean;
    try {
      changed = (await this.readPayoutPages()) > 0;
      this.lastSync = new Date();
      this.lastError = '';
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== this.lastError) this.o.log?.(`could not read the payouts from the hub: ${message}`);
      this.lastError = message;
      return;
    }
    if (!changed) return;
    this.emit();
    if (!thenLedger) return;
    await this.reconcile().catch((error: unknown) =>
      this.o.log?.(`could not bring the ledger up to date after a payout: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  /**
   * The hub's payouts, newest first, a page at a time, until a page changes nothing here and no
   * payout this copy holds open (pending or sent) is older than it: a year of payouts is read once,
   * then about one page a minute. A hub that does not page them is read whole.
   */
  private async readPayoutPages(): Promise<number> {
    const hub = this.o.source.hubUrl;
    const store = this.o.store.payouts;
    if (this.o.source.payoutsPage === undefined) return store.upsertMany(hub, (await this.o.source.payouts()).payouts);
    let changed = 0;
    let before: string | null = null;
    for (;;) {
      const page = await this.o.source.payoutsPage(before);
      const n = store.upsertMany(hub, page.payouts);
      changed += n;
      if (page.nextCursor === undefined || page.nextCursor === null || page.payouts.length === 0) return changed;
      const oldestOpen = store.oldestOpenAt(hub);
      if (n === 0 && (oldestOpen === null || oldestOpen >= page.payouts[page.payouts.length - 1]!.createdAt)) return changed;
      before = page.nextCursor;
    }
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}
