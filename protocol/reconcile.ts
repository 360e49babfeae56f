/**
 * The earnings checked against the chain (`idleforge earnings reconcile --json`, the engine API's
 * `reconcileEarnings`, the dashboard's "Check against the chain"): the hub's payouts to the
 * payout address matched by transaction hash with the token's Transfer events to it.
 * Amounts are decimal strings of base units; blocks are numbers.
 */
import { z } from 'zod';
import { AddressSchema, AmountSchema, IsoTimeSchema } from './common.js';

const TxHashSchema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a transaction hash is 0x followed by 64 hex digits');

/** One Transfer event of the token to the payout address. */
export const ChainTransferSchema = z.object({
  txHash: TxHashSchema,
  logIndex: z.number().int().nonnegative(),
  blockNumber: z.number().int().nonnegative(),
  from: AddressSchema,
  amount: AmountSchema,
});
export type ChainTransfer = z.infer<typeof ChainTransferSchema>;

/**
 * A difference between the ledger and the chain:
 * - `missing-transfer`: the hub says it paid (sent or confirmed) and no Transfer from its treasury
 *   with that transaction hash reached the address;
 * - `unknown-transfer`: a Transfer from the treasury that no payout of the hub names;
 * - `amount-differs`: both exist, for different amounts.
 */
export const ReconcileDifferenceSchema = z.object({
  kind: z.enum(['missing-transfer', 'unknown-transfer', 'amount-differs']),
  txHash: TxHashSchema.nullable(),
  /** What the hub's ledger says was paid (null for a transfer it does not know). */
  ledgerAmount: AmountSchema.nullable(),
  /** What reached the address on chain (null for a payout without its transfer). */
  chainAmount: AmountSchema.nullable(),
  blockNumber: z.number().int().nonnegative().nullable(),
  /** The difference in plain words. */
  explanation: z.string(),
});
export type ReconcileDifference = z.infer<typeof ReconcileDifferenceSchema>;

export const ReconciliationSchema = z.object({
  /** The payout address checked. */
  address: AddressSchema,
  /**
   * Who pays: the hub's treasury (as it publishes it now), and the token. Transfers from a
   * treasury an earlier payout names count as the hub's too.
   */
  treasury: AddressSchema,
  token: AddressSchema,
  /** The blocks read (inclusive); fromBlock is the first payout's block; null when there was nothing to read. */
  fromBlock: z.number().int().nonnegative().nullable(),
  toBlock: z.number().int().nonnegative().nullable(),
  /** Sum of the hub's payouts to the address that it says it sent or confirmed (all workers paying there). */
  ledgerTotal: AmountSchema,
  /** Sum of the token's transfers from the treasury (or treasuries) to the address in those blocks. */
  chainTotal: AmountSchema,
  /** Payouts found on chain with the same hash and amount. */
  matched: z.number().int().nonnegative(),
  /** How many of the hub's payouts to the address were this worker's, and how many other workers'. */
  payouts: z.object({ mine: z.number().int().nonnegative(), others: z.number().int().nonnegative() }),
  /** Payouts the hub has not broadcast yet (pending): neither total counts them. */
  notSentYet: z.number().int().nonnegative(),
  differences: z.array(ReconcileDifferenceSchema),
  /** Transfers of the token to the address from anyone but the treasury, listed apart. */
  otherSenders: z.array(ChainTransferSchema),
  otherTotal: AmountSchema,
  /** Whether ledger and chain agree (no difference). */
  agrees: z.boolean(),
  checkedAt: IsoTimeSchema,
});
export type Reconciliation = z.infer<typeof ReconciliationSchema>;
