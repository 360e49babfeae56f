/**
 * What the hub pays and how much work it has, published for anyone (`GET /v1/rates`), and the
 * worker's exact money types for what its GPU earns and costs.
 *
 * Money in a currency (electricity prices, the token's value) is an integer count of
 * micro-units of that currency (10⁻⁶ EUR, 10⁻⁶ USD): exact, and a safe integer for any price a
 * person types. Token amounts stay bigint base units (decimal strings on the wire).
 */
import { z } from 'zod';
import { AmountSchema, IsoTimeSchema } from './common.js';
import { JobKindSchema } from './kinds/index.js';

/** The units a kind's rate is paid per: 10⁹ floating-point operations, or 10⁶ hashes. */
export const RATE_UNITS = ['GFLOP', 'MH'] as const;
export const RateUnitSchema = z.enum(RATE_UNITS);
export type RateUnit = z.infer<typeof RateUnitSchema>;

/** An ISO 4217 code: three capital letters (EUR, USD, GBP). */
export const CurrencySchema = z.string().regex(/^[A-Z]{3}$/, 'give the currency as its three-letter code, like EUR or USD');

/** An exact amount of a currency, in micro-units (10⁻⁶ of the unit): 0.25 EUR is 250000. */
export const MicroSchema = z.number({ error: 'give a price' }).int('a price is a whole number of micro-units').min(0, 'a price cannot be negative').max(1e15, 'that price is too large');

export const KindRateSchema = z.object({
  kind: JobKindSchema,
  /** Base units paid per `unit` of verified work, as a decimal string. */
  rate: AmountSchema,
  unit: RateUnitSchema,
  /** Tasks waiting for a worker now. */
  queued: z.number().int().min(0),
  /** Tasks leased and not yet answered. */
  leased: z.number().int().min(0),
});
export type KindRate = z.infer<typeof KindRateSchema>;

export const ReferencePriceSchema = z.object({
  currency: CurrencySchema,
  /** Micro-units of `currency` per whole token: a reference the hub publishes, not a market quote. */
  perToken: MicroSchema,
  /** Where the figure comes from, in plain words. */
  label: z.string().max(200),
});
export type ReferencePrice = z.infer<typeof ReferencePriceSchema>;

/** `GET /v1/rates`: no token needed. */
export const RatesSchema = z.object({
  kinds: z.array(KindRateSchema),
  token: z.object({ symbol: z.string(), decimals: z.number().int().min(0).max(36) }),
  /** The token's reference value; null when the hub publishes none. */
  referencePrice: ReferencePriceSchema.nullable(),
  /** Rejections the hub is sure of that suspend a worker (its strikes). */
  strikeLimit: z.number().int().min(1),
  /** Valid results in a row that forgive one strike. */
  forgiveAfter: z.number().int().min(1),
  at: IsoTimeSchema,
});
export type Rates = z.infer<typeof RatesSchema>;
