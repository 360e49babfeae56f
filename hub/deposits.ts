/**
 * The deposit watcher: credits customers for the token they send to the hub's treasury.
 *
 * It reads the token's `Transfer(from, to = treasury, value)` logs with eth_getLogs, in ranges of
 * at most `blockRange` blocks, from a cursor stored in the database up to the newest block with
 * the chain's `confirmations` (as payouts count them), and moves the cursor past each range in
 * the same transaction that records the range's transfers. Each transfer is recorded once,
 * keyed by (transaction hash, log index) (a UNIQUE constraint): one from a registered customer
 * address is credited to that customer (a `deposit` ledger entry); one from any other address is
 * kept aside, credited to nobody (the operator may credit its sender's customer by hand with
 * `idleforge hub credit`). Reading the same blocks again, after a crash or a rewound cursor,
 * credits nothing twice.
 *
 * A hub that never watched this chain, token and treasury starts after the newest block (or at
 * `startBlock`): transfers before are not its customers' deposits. One watcher per hub: it runs
 * in a Loop (never twice at once), and a treasury key must serve one hub only (as for payouts).
 * Reorganisations deeper than `confirmations` are not undone.
 */
import { getAddress, Interface, zeroPadValue, type Log } from 'ethers';
import type { Chain } from './chain.js';
import type { HubContext } from './context.js';
import { Loop } from './loop.js';
import { billingStore } from './store/index.js';
import { iso } from './util.js';

const TRANSFER = new Interface(['event Transfer(address indexed from, address indexed to, uint256 value)']);
const TRANSFER_TOPIC = TRANSFER.getEvent('Transfer')!.topicHash;

export const DEFAULT_DEPOSIT_POLL_MS = 5000;
/** Blocks per eth_getLogs; public RPC endpoints commonly refuse more than a few thousand. */
export const DEFAULT_DEPOSIT_BLOCK_RANGE = 1000;

export interface DepositWatcherOptions {
  /** How often the chain is read; default 5000 ms. */
  pollMs?: number;
  /** Blocks per eth_getLogs call; default 1000. */
  blockRange?: number;
  /** Where a hub that never watched this chain, token and treasury starts; default the block after the newest. */
  startBlock?: number;
}

export interface ScanOutcome {
  /** Transfers recorded now (credited or kept aside), and of those credited to a customer. */
  recorded: number;
  credited: number;
  /** The next block to read. */
  nextBlock: number;
}

export class DepositWatcher {
  private readonly loop: Loop;
  private readonly blockRange: number;
  last: ScanOutcome | null = null;

  constructor(
    private readonly ctx: Pick<HubContext, 'db' | 'now' | 'log'> & { leads?: HubContext['leads'] },
    private readonly chain: Chain,
    private readonly opts: DepositWatcherOptions = {},
  ) {
    this.blockRange = opts.blockRange ?? DEFAULT_DEPOSIT_BLOCK_RANGE;
    if (!Number.isInteger(this.blockRange) || this.blockRange < 1) throw new RangeError('the deposit block range must be a whole number ≥ 1');
    if (opts.startBlock !== undefined && (!Number.isInteger(opts.startBlock) || opts.startBlock < 0)) throw new RangeError('the deposit start block must be a whole number ≥ 0');
    this.loop = new Loop('deposits', opts.pollMs ?? DEFAULT_DEPOSIT_POLL_MS, async (signal) => void (this.last = await this.scan(signal)), ctx.log, ctx.leads);
  }

  start(): void {
    this.loop.start();
  }

  /** A scan now, after any in progress; resolves when it is done. */
  async runNow(): Promise<ScanOutcome> {
    await this.loop.runNow();
    return this.last!;
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  private get key(): billingStore.CursorKey {
    return { chainId: this.chain.chainId, token: this.chain.token.address, treasury: this.chain.treasury };
  }

  /** Reads every confirmed block from the cursor on, one range at a time. */
  async scan(signal?: AbortSignal): Promise<ScanOutcome> {
    const { db } = this.ctx;
    // Asked directly: ethers caches the block number for a while.
    const latest = Number(BigInt((await this.chain.provider.send('eth_blockNumber', [])) as string));
    const confirmed = latest - this.chain.confirmations + 1;
    let next = await billingStore.cursor(db, this.key);
    if (next === undefined) {
      next = this.opts.startBlock ?? latest + 1;
      await billingStore.setCursor(db, this.key, next, iso(this.ctx.now()));
    }
    const outcome: ScanOutcome = { recorded: 0, credited: 0, nextBlock: next };
    while (next <= confirmed && !signal?.aborted) {
      const from = next;
      const to = Math.min(confirmed, from + this.blockRange - 1);
      const logs = await this.chain.provider.getLogs({
        address: this.chain.token.address,
        topics: [TRANSFER_TOPIC, null, zeroPadValue(this.chain.treasury, 32)],
        fromBlock: from,
        toBlock: to,
      });
      const r = await this.record(logs, from, to);
      outcome.recorded += r.recorded;
      outcome.credited += r.credited;
      next = to + 1;
      outcome.nextBlock = next;
    }
    return outcome;
  }

  /** Records one range's transfers and moves the cursor past it, in one transaction. */
  private async record(logs: readonly Log[], from: number, to: number): Promise<{ recorded: number; credited: number }> {
    const { db } = this.ctx;
    const { chainId, token, treasury } = this.key;
    const now = iso(this.ctx.now());
    // The transaction may run more than once (a serialization failure): its lines are logged
    // once it is committed.
    const r = await db.tx(async (q) => {
      let recorded = 0;
      let credited = 0;
      const lines: string[] = [];
      for (const log of logs) {
        if (log.removed || log.blockNumber < from || log.blockNumber > to) continue;
        if (getAddress(log.address) !== token) continue;
        const parsed = TRANSFER.parseLog(log);
        if (!parsed || parsed.name !== 'Transfer') continue;
        const sender = getAddress(parsed.args[0] as string);
        const recipient = getAddress(parsed.args[1] as string);
        const amount = parsed.args[2] as bigint;
        if (recipient !== treasury || amount <= 0n) continue;
        const owner = await billingStore.addressOwner(q, sender);
        const depositId = await billingStore.insertDeposit(q, {
          chainId,
          token,
          txHash: log.transactionHash.toLowerCase(),
          logIndex: log.index,
          blockNumber: log.blockNumber,
          from: sender,
          to: recipient,
          amount,
          customerId: owner?.customer_id ?? null,
          createdAt: now,
        });
        if (depositId === null) continue;
        recorded += 1;
        if (!owner) {
          lines.push(`deposits: ${amount} base units from ${sender} (tx ${log.transactionHash}) came from no registered address; kept aside, not credited`);
          continue;
        }
        if ((await billingStore.insertLedger(q, { customerId: owner.customer_id, type: 'deposit', amount, depositId, createdAt: now })) === null) {
          throw new Error(`deposit ${depositId} is already in the ledger`);
        }
        const a = await billingStore.account(q, owner.customer_id);
        await billingStore.setAccount(q, owner.customer_id, { available: a.available + amount, reserved: a.reserved }, now);
        credited += 1;
      }
      // Never backwards (the cursor may have been moved on meanwhile).
      if (((await billingStore.cursor(q, this.key)) ?? 0) <= to) await billingStore.setCursor(q, this.key, to + 1, now);
      return { recorded, credited, lines };
    });
    for (const line of r.lines) this.ctx.log(line);
    return { recorded: r.recorded, credited: r.credited };
  }
}
