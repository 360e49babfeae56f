/**
 * Keeps the wallet's balances fresh: on an interval, and when asked (after a payout). The last
 * answer is kept, so the dashboard shows "offline" with the time of the last good reading.
 */
import { readBalances, type Balances } from './balance.js';

export type BalanceView =
  | ({ status: 'ok'; updatedAt: string } & Balances)
  | { status: 'offline'; message: string; updatedAt: string | null }
  | { status: 'no-chain'; message: string };

export class BalanceWatcher {
  private view: BalanceView;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly o: { rpc: () => string | null; address: string; token: () => string | null; intervalMs?: number },
  ) {
    this.view = { status: 'no-chain', message: 'no chain is configured: set the RPC address in the settings' };
  }

  get current(): BalanceView {
    return this.view;
  }

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  refresh(): Promise<void> {
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async read(): Promise<void> {
    const rpc = this.o.rpc();
    if (!rpc) {
      this.view = { status: 'no-chain', message: 'no chain is configured: set the RPC address in the settings' };
      return;
    }
    try {
      const b = await readBalances(rpc, this.o.address, this.o.token());
      this.view = { status: 'ok', updatedAt: new Date().toISOString(), ...b };
    } catch (error) {
      const last = this.view.status === 'ok' ? this.view.updatedAt : this.view.status === 'offline' ? this.view.updatedAt : null;
      this.view = { status: 'offline', message: error instanceof Error ? error.message : String(error), updatedAt: last };
    }
  }
}
