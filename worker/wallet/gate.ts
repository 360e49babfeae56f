/**
 * The engine's signer, which may come after the engine: on a first run started for the dashboard
 * there is no wallet yet, and the dashboard's one-click create, import or watch sets it up; the
 * engine, waiting in "Set up your wallet to start earning", then signs in and works without a
 * restart. The key stays in the vault's process; this only forwards signatures.
 */
import type { HubSigner } from '../hub-client.js';
import { WalletError, type WalletInfo, type WalletVault } from './vault.js';

export const NO_WALLET_REASON = 'Set up your wallet to start earning';

type Signer = Awaited<ReturnType<WalletVault['unlock']>>;

export class WalletGate implements HubSigner {
  private signer: Signer | null = null;
  private busy = false;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly vault: WalletVault) {}

  get ready(): boolean {
    return this.signer !== null;
  }

  get address(): string {
    if (!this.signer) throw new WalletError(NO_WALLET_REASON);
    return this.signer.address;
  }

  signMessage(message: string): Promise<string> {
    if (!this.signer) return Promise.reject(new WalletError(NO_WALLET_REASON));
    return this.signer.signMessage(message);
  }

  /** Opens the wallet that exists (asks for the passphrase where it must). */
  async open(): Promise<void> {
    this.set(await this.vault.unlock());
  }

  create(): Promise<WalletInfo> {
    return this.setUp(() => this.vault.create());
  }

  importSecret(secret: string): Promise<WalletInfo> {
    return this.setUp(() => this.vault.importSecret(secret));
  }

  watch(address: string): Promise<WalletInfo> {
    return this.setUp(() => this.vault.watch(address));
  }

  /** Called once, when the wallet is there. */
  onReady(listener: () => void): () => void {
    if (this.signer) {
      listener();
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once there is a wallet, or when `signal` aborts. */
  waitUntilReady(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (this.signer || signal?.aborted) return resolve();
      const done = (): void => {
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const off = this.onReady(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private async setUp(make: () => Promise<WalletInfo>): Promise<WalletInfo> {
    if (this.signer || this.vault.exists()) throw new WalletError('this worker has a wallet already');
    if (this.busy) throw new WalletError('a wallet is being set up already; wait a moment');
    this.busy = true;
    try {
      const info = await make();
      this.set(await this.vault.unlock());
      return info;
    } finally {
      this.busy = false;
    }
  }

  private set(signer: Signer): void {
    this.signer = signer;
    for (const l of [...this.listeners]) l();
    this.listeners.clear();
  }
}
