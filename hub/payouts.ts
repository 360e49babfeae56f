/**
 * Paying workers on chain, exactly once, across crashes.
 *
 * When a worker's verified entries that no payout holds reach the threshold, one serializable
 * transaction writes a `pending` payout holding them, with the next treasury nonce reserved for
 * it (never one another payout has: the nonce is unique per chain and treasury), and commits. The
 * transfer is then signed with that nonce and the signed bytes and hash stored (committed, so
 * durable) *before* they are broadcast; once broadcast the payout is `sent`, and its receipt
 * makes it `confirmed` (entries → `paid`) or `failed` (entries free for a later payout). No chain
 * call is ever made inside a transaction function (it may run again after a serialization
 * failure). A payout is signed once: storing the signed bytes succeeds only while none are stored.
 *
 * On every run (and so after a restart) open payouts are reconciled with the chain:
 * - not signed yet: nothing can have been sent; sign it now.
 * - a receipt: confirmed or failed, by its status.
 * - no receipt, but known to the node by its hash (waiting in the mempool, or mined with its
 *   receipt not served yet): sent; wait.
 * - unknown and its nonce still unused: send the very same bytes again. A nonce is accepted
 *   once, so the same signed transaction can be mined at most once however often it is sent.
 * - unknown and its nonce used: asked again, by receipt and by hash, on every round; failed (its
 *   entries free for another payout) only once it has stayed so for ORPHAN_GRACE_MS. A node
 *   behind a load balancer can count the nonce as used while another one, asked about the
 *   hash, has not seen that block yet: failing then would pay the worker twice.
 * This relies on the treasury key being used by this hub alone.
 */
import { formatUnits } from '../protocol/index.js';
import type { Chain } from './chain.js';
import type { HubContext } from './context.js';
import { Loop } from './loop.js';
import { earningsStore, payoutsStore, workersStore } from './store/index.js';
import { iso, newId } from './util.js';

/** Test-only crash points: the hub SIGKILLs itself there (IDLEFORGE_HUB_CRASH_AT). */
export const PAYOUT_CRASH_POINTS = ['after-record', 'before-send', 'after-send'] as const;
export type PayoutCrashPoint = (typeof PAYOUT_CRASH_POINTS)[number];

export interface PayoutOptions {
  /** Smallest amount (base units) worth a transaction. */
  threshold: bigint;
  /** How often open payouts and balances are looked at without a kick; default 2000 ms. */
  pollMs?: number;
  /** Pause before paying a worker again after its payout failed or could not be made; default 60 s. */
  retryMs?: number;
  crashAt?: PayoutCrashPoint;
}

/** How long a transaction must stay unknown with its nonce used before its payout is failed. */
export const ORPHAN_GRACE_MS = 5 * 60_000;

/** A payout whose transaction is signed and stored (it may have been sent). */
type SignedPayout = payoutsStore.PayoutRow & { raw_tx: string; tx_hash: string };

const sum = (rows: readonly { amount: string }[]): bigint => rows.reduce((s, r) => s + BigInt(r.amount), 0n);

export class Payouts {
  private readonly loop: Loop;
  private readonly retryAt = new Map<string, number>();
  private readonly warned = new Set<string>();
  /** Payout id → when (ctx.now) its transaction was first seen unknown with its nonce used. */
  private readonly orphanedSince = new Map<string, number>();

  constructor(
    private readonly ctx: HubContext,
    private readonly chain: Chain,
    private readonly opts: PayoutOptions,
  ) {
    if (opts.threshold <= 0n) throw new RangeError('the payout threshold must be positive');
    this.loop = new Loop('payouts', opts.pollMs ?? 2000, (signal) => this.runOnce(signal), ctx.log, ctx.leads);
  }

  start(): void {
    this.loop.start();
  }

  /** Looks for payouts to make as soon as possible (after credit). */
  kick(): void {
    this.loop.kick();
  }

  /** A payout round now, after any in progress (tests, and the operator's impatience). */
  runNow(): Promise<void> {
    return this.loop.runNow();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Reconciles every open payout, then pays every worker whose unpaid balance reached the threshold. */
  async runOnce(signal?: AbortSignal): Promise<void> {
    for (const p of await payoutsStore.openPayouts(this.ctx.db)) {
      if (signal?.aborted) return;
      await this.settle(p);
    }
    for (const worker of await earningsStore.workersWithUnpaid(this.ctx.db)) {
      if (signal?.aborted) return;
      if ((this.retryAt.get(worker) ?? 0) > Date.now()) continue;
      if (sum(await earningsStore.unpaidOf(this.ctx.db, worker, iso(this.ctx.now()))) < this.opts.threshold) continue;
      await this.pay(worker);
    }
  }

  private async pay(worker: string): Promise<void> {
    const { ctx, chain } = this;
    const expected = sum(await earningsStore.unpaidOf(ctx.db, worker, iso(ctx.now())));
    let gasLimit: bigint;
    try {
      gasLimit = await chain.gasForTransfer(worker, expected);
    } catch (err) {
      this.later(worker, `the treasury ${chain.treasury} cannot pay ${this.fmt(expected)} now (${short(err)}); trying again later`);
      return;
    }
    const chainNonce = await chain.pendingNonce();
    const id = newId('pay');
    const nowIso = iso(ctx.now());
    // Committed before anything is signed or sent; the function may run more than once (a
    // serialization failure), so it only reads and writes the database.
    const created = await ctx.db.tx(async (q): Promise<payoutsStore.PayoutRow | null> => {
      const entries = await earningsStore.unpaidOf(q, worker, iso(ctx.now()));
      const amount = sum(entries);
      if (amount < this.opts.threshold) return null;
      const nonce = Math.max(chainNonce, (await payoutsStore.highestNonce(q, chain.chainId, chain.treasury)) + 1);
      const to = await workersStore.payoutAddressOf(q, worker);
      await payoutsStore.insertPayout(q, { id, worker, to, amount: amount.toString(), chainId: chain.chainId, token: chain.token.address, treasury: chain.treasury, nonce, createdAt: nowIso });
      if ((await earningsStore.attachToPayout(q, entries.map((e) => e.id), id)) !== entries.length) throw new Error(`payout ${id}: the ledger changed inside its transaction`);
      return (await payoutsStore.getPayout(q, id)) ?? null;
    });
    if (!created) return;
    this.crash('after-record');
    await this.sign(created, gasLimit);
  }

  /** Signs a pending payout with its reserved nonce, stores the bytes durably, then sends them. */
  private async sign(p: payoutsStore.PayoutRow, gasLimit?: bigint): Promise<void> {
    const { ctx, chain } = this;
    if (p.chain_id !== chain.chainId || p.treasury !== chain.treasury || p.token !== chain.token.address) {
      // Never signed, so never sent: safe to give its entries back.
      await this.fail(p, 'the hub was pointed at another chain, token or treasury before this payout was signed');
      return;
    }
    let signed: { raw: string; hash: string };
    try {
      signed = await chain.signTransfer(p.to_address, BigInt(p.amount), p.tx_nonce, gasLimit ?? (await chain.gasForTransfer(p.to_address, BigInt(p.amount))));
    } catch (err) {
      this.later(p.worker, `payout ${p.id} could not be signed yet (${short(err)}); trying again later`);
      return;
    }
    // One statement, committed (durable) when it returns: the bytes are kept before they are sent.
    if (!(await payoutsStore.storeSigned(ctx.db, p.id, signed.raw, signed.hash, iso(ctx.now())))) throw new Error(`payout ${p.id} changed while it was being signed`);
    await this.send({ ...p, raw_tx: signed.raw, tx_hash: signed.hash });
  }

  /** Broadcasts the stored bytes (committed before), then looks for the receipt. */
  private async send(p: SignedPayout): Promise<void> {
    this.crash('before-send');
    const sent = await this.chain.broadcast(p.raw_tx);
    this.crash('after-send');
    if (sent.ok) await payoutsStore.markSent(this.ctx.db, p.id, iso(this.ctx.now()));
    const receipt = await this.chain.receipt(p.tx_hash);
    if (receipt) await this.conclude(p, receipt);
    else if (!sent.ok) this.ctx.log(`payout ${p.id}: sending ${p.tx_hash} failed (${sent.error}); will look again`);
  }

  /** Brings one open payout in line with the chain (see the top of this file). */
  private async settle(p: payoutsStore.PayoutRow): Promise<void> {
    const { chain } = this;
    if (p.raw_tx === null || p.tx_hash === null) {
      await this.sign(p);
      return;
    }
    if (p.chain_id !== chain.chainId) {
      this.warnOnce(`chain-${p.id}`, `payout ${p.id} was made on chain ${p.chain_id}, but the hub is on chain ${chain.chainId}; it stays open`);
      return;
    }
    const signed: SignedPayout = { ...p, raw_tx: p.raw_tx, tx_hash: p.tx_hash };
    const receipt = await chain.receipt(p.tx_hash);
    if (receipt) {
      await this.conclude(p, receipt);
      return;
    }
    if (await this.known(signed)) return;
    if ((await chain.minedNonce(p.treasury)) > p.tx_nonce) {
      await this.orphaned(signed);
      return;
    }
    this.orphanedSince.delete(p.id);
    await this.send(signed);
  }

  /**
   * Asks the node for the transaction by its hash: known (in the mempool, or mined while its
   * receipt is not served yet) means sent and still to wait for, never to fail or send again.
   */
  private async known(p: SignedPayout): Promise<boolean> {
    const seen = await this.chain.lookup(p.tx_hash);
    if (seen === null) return false;
    this.orphanedSince.delete(p.id);
    if (p.status === 'pending') await payoutsStore.markSent(this.ctx.db, p.id, iso(this.ctx.now()));
    if (seen === 'mined') this.warnOnce(`receipt-${p.id}`, `payout ${p.id}: ${p.tx_hash} is mined but the node has no receipt for it yet; waiting`);
    return true;
  }

  /**
   * The transaction is unknown and its nonce is used. Mined since the first questions (a receipt
   * or a hash now), or taken by another transaction, or a lagging node: asked again now, and
   * failed only once it has stayed unknown for ORPHAN_GRACE_MS (see the top of this file).
   */
  private async orphaned(p: SignedPayout): Promise<void> {
    const late = await this.chain.receipt(p.tx_hash);
    if (late) {
      await this.conclude(p, late);
      return;
    }
    if (await this.known(p)) return;
    const now = this.ctx.now();
    const since = this.orphanedSince.get(p.id) ?? now;
    this.orphanedSince.set(p.id, since);
    if (now - since < ORPHAN_GRACE_MS) {
      this.warnOnce(`orphan-${p.id}`, `payout ${p.id}: treasury nonce ${p.tx_nonce} is used but the node does not know ${p.tx_hash}; asking again before giving it up`);
      return;
    }
    this.orphanedSince.delete(p.id);
    await this.fail(p, `treasury nonce ${p.tx_nonce} was used by another transaction, so ${p.tx_hash} can never be mined`);
  }

  private async conclude(p: payoutsStore.PayoutRow, receipt: { ok: boolean; blockNumber: number; confirmations: number }): Promise<void> {
    const { ctx } = this;
    this.orphanedSince.delete(p.id);
    if (receipt.confirmations < this.chain.confirmations) {
      if (p.status === 'pending') await payoutsStore.markSent(ctx.db, p.id, iso(ctx.now()));
      return;
    }
    if (!receipt.ok) {
      await this.fail(p, `the transfer ${p.tx_hash ?? ''} reverted in block ${receipt.blockNumber}`);
      return;
    }
    const nowIso = iso(ctx.now());
    const done = await ctx.db.tx(async (q) => {
      if (!(await payoutsStore.markConfirmed(q, p.id, receipt.blockNumber, nowIso))) return false;
      await earningsStore.markPaid(q, p.id);
      return true;
    });
    if (done) ctx.log(`paid ${this.fmt(BigInt(p.amount))} to ${p.to_address} (payout ${p.id}, tx ${p.tx_hash ?? ''}, block ${receipt.blockNumber})`);
  }

  private async fail(p: payoutsStore.PayoutRow, why: string): Promise<void> {
    const { ctx } = this;
    const nowIso = iso(ctx.now());
    await ctx.db.tx(async (q) => {
      if (await payoutsStore.markFailed(q, p.id, why, nowIso)) await earningsStore.releaseFromPayout(q, p.id);
    });
    this.later(p.worker, `payout ${p.id} failed: ${why}`);
  }

  private later(worker: string, line: string): void {
    this.retryAt.set(worker, Date.now() + (this.opts.retryMs ?? 60_000));
    this.ctx.log(line);
  }

  private warnOnce(key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.ctx.log(line);
  }

  private fmt(amount: bigint): string {
    return `${formatUnits(amount, this.chain.token.decimals, 6)} ${this.chain.token.symbol}`;
  }

  private crash(point: PayoutCrashPoint): void {
    if (this.opts.crashAt !== point) return;
    process.kill(process.pid, 'SIGKILL');
  }
}

function short(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
