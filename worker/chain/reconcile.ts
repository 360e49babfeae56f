/**
 * Earnings checked against the chain: the hub's payouts to the payout address (every worker that
 * pays there, GET /v1/payouts/received) matched by transaction hash with the token's Transfer
 * events to that address, read from the first payout's block to the newest in ranges of at most
 * `blockRange` blocks. Differences are listed one by one (a payout without its transfer, a
 * transfer from the treasury the ledger does not know, the two disagreeing on the amount);
 * transfers from anyone but the treasury are listed apart. Amounts are bigint throughout.
 */
import { getAddress, Interface, JsonRpcProvider, Network, zeroPadValue, type Log } from 'ethers';
import {
  toAmount,
  type ChainTransfer,
  type Health,
  type ReceivedPayout,
  type ReceivedPayoutsResponse,
  type ReconcileDifference,
  type Reconciliation,
} from '../../protocol/index.js';

const TRANSFER = new Interface(['event Transfer(address indexed from, address indexed to, uint256 value)']);
const TRANSFER_TOPIC = TRANSFER.getEvent('Transfer')!.topicHash;

/** Blocks per eth_getLogs, at most (the hub's deposit watcher reads the same ranges). */
export const RECONCILE_BLOCK_RANGE = 1000;

/** What the check needs of the hub (HubClient). */
export interface ReconcileHub {
  health(): Promise<Health>;
  receivedPayouts(): Promise<ReceivedPayoutsResponse>;
}

/** Why a check could not be made: `code` as the engine API answers it. */
export class ReconcileError extends Error {
  constructor(
    readonly code: 'NO_CHAIN' | 'HUB_UNREACHABLE' | 'CHAIN_UNREACHABLE',
    message: string,
  ) {
    super(message);
    this.name = 'ReconcileError';
  }
}

export interface ReconcileOptions {
  hub: ReconcileHub;
  /** The chain's JSON-RPC URL; null: the worker has none set. */
  rpc: string | null;
  blockRange?: number;
  now?: () => Date;
}

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

/** Reads both sides and compares them. Throws ReconcileError when a side cannot be read. */
export async function reconcileWithChain(o: ReconcileOptions): Promise<Reconciliation> {
  if (!o.rpc) throw new ReconcileError('NO_CHAIN', 'no chain is set (settings: rpcUrl, or --rpc URL): there is nothing to check against');
  let health: Health;
  let received: ReceivedPayoutsResponse;
  try {
    health = await o.hub.health();
    received = await o.hub.receivedPayouts();
  } catch (error) {
    throw new ReconcileError('HUB_UNREACHABLE', `could not read the hub's payouts: ${firstLine(error)}`);
  }
  const token = health.token.address;
  if (!token || !health.treasury) throw new ReconcileError('NO_CHAIN', 'the hub pays on no chain (or does not say its treasury): there is nothing to check against');
  const treasury = getAddress(health.treasury);
  const address = getAddress(received.address);
  const provider = new JsonRpcProvider(o.rpc, undefined, { staticNetwork: Network.from(health.chainId), batchMaxCount: 1 });
  try {
    let transfers: ChainTransfer[];
    let fromBlock: number | null;
    let toBlock: number | null;
    try {
      fromBlock = await firstBlock(provider, received.payouts);
      toBlock = fromBlock === null ? null : await provider.getBlockNumber();
      transfers = fromBlock === null || toBlock === null ? [] : await transfersTo(provider, token, address, fromBlock, toBlock, o.blockRange ?? RECONCILE_BLOCK_RANGE);
    } catch (error) {
      throw new ReconcileError('CHAIN_UNREACHABLE', `could not read the chain at ${o.rpc}: ${firstLine(error)}`);
    }
    return compare({ address, treasury, token: getAddress(token), fromBlock, toBlock, payouts: received.payouts, transfers, checkedAt: (o.now?.() ?? new Date()).toISOString() });
  } finally {
    provider.destroy();
  }
}

/**
 * The block to read from: the first payout's (the hub's word for a confirmed one; the
 * transaction's receipt for one it sent and has not confirmed yet). Null: no payout was sent.
 */
async function firstBlock(provider: JsonRpcProvider, payouts: readonly ReceivedPayout[]): Promise<number | null> {
  let first: number | null = null;
  for (const p of payouts) {
    if (p.txHash === null) continue;
    let block = p.blockNumber;
    if (block === null) block = (await provider.getTransactionReceipt(p.txHash))?.blockNumber ?? null;
    if (block !== null && (first === null || block < first)) first = block;
  }
  // Sent, none mined yet: read from the newest block (whatever lands meanwhile is found).
  if (first === null && payouts.some((p) => p.txHash !== null)) first = await provider.getBlockNumber();
  return first;
}

/** Every Transfer of `token` to `to` in [from, to], in ranges of at most `range` blocks. */
async function transfersTo(provider: JsonRpcProvider, token: string, to: string, fromBlock: number, toBlock: number, range: number): Promise<ChainTransfer[]> {
  const out: ChainTransfer[] = [];
  for (let start = fromBlock; start <= toBlock; start += range) {
    const end = Math.min(toBlock, start + range - 1);
    const logs: Log[] = await provider.getLogs({ address: token, topics: [TRANSFER_TOPIC, null, zeroPadValue(to, 32)], fromBlock: start, toBlock: end });
    for (const log of logs) {
      const parsed = TRANSFER.parseLog({ topics: [...log.topics], data: log.data });
      if (!parsed) continue;
      out.push({
        txHash: log.transactionHash.toLowerCase(),
        logIndex: log.index,
        blockNumber: log.blockNumber,
        from: getAddress(String(parsed.args[0])),
        amount: toAmount(BigInt(String(parsed.args[2]))),
      });
    }
  }
  return out;
}

/** The comparison itself (pure): exported for its tests. */
export function compare(input: {
  address: string;
  treasury: string;
  token: string;
  fromBlock: number | null;
  toBlock: number | null;
  payouts: readonly ReceivedPayout[];
  transfers: readonly ChainTransfer[];
  checkedAt: string;
}): Reconciliation {
  // The hub pays from its treasury, and paid older payouts from whichever treasury each names.
  const hubSenders = new Set([input.treasury, ...input.payouts.flatMap((p) => (p.from ? [p.from] : []))].map((a) => a.toLowerCase()));
  const fromTreasury = input.transfers.filter((t) => hubSenders.has(t.from.toLowerCase()));
  const otherSenders = input.transfers.filter((t) => !hubSenders.has(t.from.toLowerCase()));
  // One payout is one transaction and one Transfer; a hash seen twice sums its transfers.
  const chainByHash = new Map<string, { amount: bigint; blockNumber: number }>();
  for (const t of fromTreasury) {
    const h = t.txHash.toLowerCase();
    const had = chainByHash.get(h);
    chainByHash.set(h, { amount: (had?.amount ?? 0n) + BigInt(t.amount), blockNumber: had?.blockNumber ?? t.blockNumber });
  }
  const differences: ReconcileDifference[] = [];
  const named = new Set<string>();
  let ledgerTotal = 0n;
  let matched = 0;
  for (const p of input.payouts) {
    if (p.txHash === null) continue;
    const h = p.txHash.toLowerCase();
    named.add(h);
    const onChain = chainByHash.get(h);
    const counted = p.status === 'sent' || p.status === 'confirmed';
    if (counted) ledgerTotal += BigInt(p.amount);
    if (!counted) {
      // A failed payout is paid again later; its transaction should never have moved tokens.
      if (onChain) {
        differences.push({
          kind: 'unknown-transfer',
          txHash: h,
          ledgerAmount: null,
          chainAmount: toAmount(onChain.amount),
          blockNumber: onChain.blockNumber,
          explanation: `The hub recorded this payout as failed (its entries go into a later payout), but its transfer of ${onChain.amount} base units is on chain.`,
        });
      }
      continue;
    }
    if (!onChain) {
      differences.push({
        kind: 'missing-transfer',
        txHash: h,
        ledgerAmount: p.amount,
        chainAmount: null,
        blockNumber: p.blockNumber,
        explanation:
          p.status === 'sent'
            ? 'The hub sent this payout, but its transfer is not on chain yet (it may still be mined; check again in a minute).'
            : `The hub says this payout was confirmed${p.blockNumber === null ? '' : ` in block ${p.blockNumber}`}, but no transfer from its treasury to this address has that transaction hash.`,
      });
    } else if (onChain.amount !== BigInt(p.amount)) {
      differences.push({
        kind: 'amount-differs',
        txHash: h,
        ledgerAmount: p.amount,
        chainAmount: toAmount(onChain.amount),
        blockNumber: onChain.blockNumber,
        explanation: `The hub's payout says ${p.amount} base units; its transfer on chain moved ${onChain.amount}.`,
      });
    } else matched += 1;
  }
  for (const [h, t] of chainByHash) {
    if (named.has(h)) continue;
    differences.push({
      kind: 'unknown-transfer',
      txHash: h,
      ledgerAmount: null,
      chainAmount: toAmount(t.amount),
      blockNumber: t.blockNumber,
      explanation: `The hub's treasury sent ${t.amount} base units to this address in a transaction that none of the hub's payouts names.`,
    });
  }
  const chainTotal = fromTreasury.reduce((s, t) => s + BigInt(t.amount), 0n);
  const otherTotal = otherSenders.reduce((s, t) => s + BigInt(t.amount), 0n);
  return {
    address: input.address,
    treasury: input.treasury,
    token: input.token,
    fromBlock: input.fromBlock,
    toBlock: input.toBlock,
    ledgerTotal: toAmount(ledgerTotal),
    chainTotal: toAmount(chainTotal),
    matched,
    payouts: { mine: input.payouts.filter((p) => p.mine).length, others: input.payouts.filter((p) => !p.mine).length },
    notSentYet: input.payouts.filter((p) => p.status === 'pending').length,
    differences,
    otherSenders: [...otherSenders],
    otherTotal: toAmount(otherTotal),
    agrees: differences.length === 0,
    checkedAt: input.checkedAt,
  };
}
