/**
 * Customer balances (an extension of v1, see docs/PROTOCOL.md): the address a customer pays
 * from, proved by an EIP-191 personal signature of a message the hub issues, its balance and
 * deposits, and the refusal of a job the balance cannot cover.
 */
import { z } from 'zod';
import { AddressSchema, AmountSchema, IdSchema, IsoTimeSchema } from './common.js';

// ---- the message a customer's wallet signs ----------------------------------------------------

export const CUSTOMER_ADDRESS_TITLE = 'Idleforge: register a payment address';
export const CUSTOMER_ADDRESS_STATEMENT =
  'I pay for Idleforge compute from this address. Tokens it sends to the hub treasury are credited to the customer named below.';

export const CustomerAddressFieldsSchema = z.object({
  /** The hub's URL (http://host:port). */
  hub: z.string().url(),
  customer: IdSchema,
  address: AddressSchema,
  chainId: z.number().int().positive(),
  nonce: z.string().regex(/^[A-Za-z0-9]{8,}$/, 'a nonce is at least 8 letters or digits'),
  issuedAt: IsoTimeSchema,
  expirationTime: IsoTimeSchema,
});
export type CustomerAddressFields = z.infer<typeof CustomerAddressFieldsSchema>;

export function formatCustomerAddressMessage(input: CustomerAddressFields): string {
  const f = CustomerAddressFieldsSchema.parse(input);
  return [
    CUSTOMER_ADDRESS_TITLE,
    '',
    CUSTOMER_ADDRESS_STATEMENT,
    '',
    `Hub: ${f.hub}`,
    `Customer: ${f.customer}`,
    `Address: ${f.address}`,
    `Chain ID: ${f.chainId}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${f.issuedAt}`,
    `Expiration Time: ${f.expirationTime}`,
  ].join('\n');
}

const FIELDS_RE =
  /\nHub: (?<hub>[^\n]+)\nCustomer: (?<customer>[^\n]+)\nAddress: (?<address>[^\n]+)\nChain ID: (?<chainId>[0-9]{1,15})\nNonce: (?<nonce>[^\n]+)\nIssued At: (?<issuedAt>[^\n]+)\nExpiration Time: (?<expirationTime>[^\n]+)$/;

/** Parses a payment-address message; null unless it is exactly what the hub would issue. */
export function parseCustomerAddressMessage(message: string): CustomerAddressFields | null {
  const g = FIELDS_RE.exec(message)?.groups;
  if (!g) return null;
  const parsed = CustomerAddressFieldsSchema.safeParse({ ...g, chainId: Number(g.chainId) });
  if (!parsed.success) return null;
  return formatCustomerAddressMessage(parsed.data) === message ? parsed.data : null;
}

// ---- endpoints --------------------------------------------------------------------------------

/** `POST /v1/customers/address/challenge` */
export const CustomerAddressChallengeRequestSchema = z.object({ address: AddressSchema });
export const CustomerAddressChallengeResponseSchema = z.object({ message: z.string().min(1).max(4096) });

/** `POST /v1/customers/address` */
export const CustomerAddressRequestSchema = z.object({
  message: z.string().min(1).max(4096),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a signature is 65 bytes of 0x-prefixed hex'),
});
export const CustomerAddressSchema = z.object({ address: AddressSchema, registeredAt: IsoTimeSchema });
export type CustomerAddress = z.infer<typeof CustomerAddressSchema>;

export const DepositSchema = z.object({
  txHash: z.string().regex(/^0x[0-9a-f]{64}$/),
  logIndex: z.number().int().min(0),
  blockNumber: z.number().int().min(0),
  from: AddressSchema,
  amount: AmountSchema,
  createdAt: IsoTimeSchema,
});
export type Deposit = z.infer<typeof DepositSchema>;

/** `GET /v1/customers/balance` */
export const CustomerBalanceSchema = z.object({
  /** Free to spend on new jobs. */
  available: AmountSchema,
  /** Held by open jobs: charged as their tasks are credited, the rest released when they end. */
  reserved: AmountSchema,
  addresses: z.array(CustomerAddressSchema),
  /** The latest deposits credited to this customer (at most 100), newest first. */
  deposits: z.array(DepositSchema),
});
export type CustomerBalance = z.infer<typeof CustomerBalanceSchema>;

/** `402` to `POST /v1/jobs` when the job's price is more than the available balance. */
export const InsufficientBalanceErrorSchema = z.object({
  error: z.object({ code: z.literal('INSUFFICIENT_BALANCE'), message: z.string(), needed: AmountSchema, available: AmountSchema }),
});

/**
 * `429 TOO_MANY_OPEN_JOBS` / `429 TOO_MANY_OPEN_TASKS` (with `Retry-After`) when a customer has too
 * much open, `403 JOB_TOO_LARGE` for a job that alone has more tasks than the quota: `limit`, what
 * is `open` already, and the job's `tasks` (decimal strings).
 */
export const QuotaErrorSchema = z.object({
  error: z.object({
    code: z.enum(['TOO_MANY_OPEN_JOBS', 'TOO_MANY_OPEN_TASKS', 'JOB_TOO_LARGE']),
    message: z.string(),
    limit: z.string().regex(/^[0-9]+$/),
    open: z.string().regex(/^[0-9]+$/).optional(),
    tasks: z.string().regex(/^[0-9]+$/).optional(),
  }),
});
