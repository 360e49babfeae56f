/**
 * The engine's session with its hub: sign-in (the hub's health and token, EIP-4361, a watch-only
 * wallet's payout address registered), then heartbeats and ledger reconciles, each run beside the
 * work when it is due so that neither holds up the next task.
 */
import type { CliEvent, GpuReport, RigHeartbeat, WorkerState } from '../../protocol/index.js';
import type { HubClient } from '../hub-client.js';
import type { HubMirror } from '../store/hub-mirror.js';
import { DEFAULT_TOKEN, type TokenInfo, type WorkerStore } from '../store/index.js';
import type { GpuScore } from './gpu-score.js';
import { LINE } from './words.js';

export interface HubSessionOptions {
  client: HubClient;
  store: WorkerStore;
  /** The local copy of the hub's ledger, brought up to date at sign-in and when it is `reconcileMs` old. */
  mirror: HubMirror;
  gpus: GpuReport[];
  appVersion: string;
  /** A watch-only wallet's payout address, read and registered at every sign-in. */
  payoutAddress: () => string | null | undefined;
  heartbeatMs: number;
  reconcileMs: number;
  /** What this rig's fleet sees of it, sent with every heartbeat (worker/rigs/). */
  rig?: () => RigHeartbeat | undefined;
  onEvent: (event: CliEvent) => void;
  log: (line: string) => void;
}

export class HubSession {
  private hubToken: TokenInfo = DEFAULT_TOKEN;
  private lastHeartbeat = 0;
  private choresRunning = false;

  constructor(private readonly o: HubSessionOptions) {}

  /** The hub's token, as its health answer names it. */
  get token(): TokenInfo {
    return this.hubToken;
  }

  /** Signs in: reads the hub's health (its token), signs the challenge, registers a payout address. */
  async signIn(): Promise<void> {
    const { client } = this.o;
    const health = await client.health();
    this.o.store.hubs.remember(client.hubUrl, health);
    this.hubToken = health.token;
    await client.signIn();
    this.o.onEvent({ event: 'signed-in', address: client.address, hub: client.hubUrl });
    const payoutAddress = this.o.payoutAddress();
    if (payoutAddress) {
      const to = await client.registerPayoutAddress(payoutAddress);
      this.o.log(LINE.payoutsGoTo(to));
    }
    this.o.log(LINE.signedIn(client.hubUrl, client.address));
  }

  /** After sign-in: the ledger brought up to date, and a heartbeat sent at the next chance. */
  async catchUp(): Promise<void> {
    const changed = await this.reconcile();
    if (changed > 0) this.o.log(LINE.ledgerCaughtUp(changed));
    this.beatSoon();
  }

  /** Mirrors every entry of the hub's ledger for this worker into the local store. */
  reconcile(): Promise<number> {
    return this.o.mirror.reconcile();
  }

  /** The next chance sends a heartbeat (the score or the sign-in changed). */
  beatSoon(): void {
    this.lastHeartbeat = 0;
  }

  /**
   * Starts a heartbeat (with `state` and `score`) and a ledger reconcile when either is due, and
   * returns at once; a failure goes to `onError`. One such run at a time.
   */
  choresIfDue(state: WorkerState, score: GpuScore | null, onError: (error: unknown) => void): void {
    const now = Date.now();
    const beat = now - this.lastHeartbeat >= this.o.heartbeatMs;
    const reconcile = now - this.o.mirror.ledgerReadAt >= this.o.reconcileMs;
    if ((!beat && !reconcile) || this.choresRunning) return;
    this.choresRunning = true;
    if (beat) this.lastHeartbeat = now;
    const chores = async (): Promise<void> => {
      if (beat) {
        await this.o.client.heartbeat({
          appVersion: this.o.appVersion,
          state,
          gpus: this.o.gpus,
          ...(score ? { benchmark: score } : {}),
          ...rigOf(this.o.rig),
        });
      }
      if (reconcile) await this.reconcile();
    };
    void chores()
      .catch(onError)
      .finally(() => {
        this.choresRunning = false;
      });
  }
}

function rigOf(rig: (() => RigHeartbeat | undefined) | undefined): { rig?: RigHeartbeat } {
  const r = rig?.();
  return r ? { rig: r } : {};
}
