/**
 * Building blocks shared by every message of the v1 protocol.
 * Amounts and 64-bit integers travel as decimal strings; binary arrays as base64.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 'v1';

/** A non-negative integer amount in the token's base unit, as a decimal string. */
export const AmountSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'an amount is a non-negative whole number written in decimal, in base units');
export type Amount = z.infer<typeof AmountSchema>;

/** A 20-byte EVM address, 0x-prefixed hex (any case). */
export const AddressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address is 0x followed by 40 hex digits');
export type Address = z.infer<typeof AddressSchema>;

export const HexSchema = z.string().regex(/^(0x)?([0-9a-fA-F]{2})*$/, 'expected hex bytes');
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;
/**
 * The base64 alphabet, then at most two '=' at the very end: what /^[A-Za-z0-9+/]*={0,2}$/ says,
 * checked with a negated character class, which V8 scans about ten times faster on the
 * megabytes of a matrix.
 */
export function isBase64Text(s: string): boolean {
  if (NOT_BASE64.test(s)) return false;
  const pad = s.indexOf('=');
  return pad === -1 || pad === s.length - 1 || (pad === s.length - 2 && s[s.length - 1] === '=');
}
export const Base64Schema = z
  .string()
  .refine(isBase64Text, 'expected base64')
  .refine((s) => s.length % 4 === 0, 'base64 length must be a multiple of 4');
export const IsoTimeSchema = z.iso.datetime({ offset: true });
export const IdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'ids are letters, digits, _ and -');

/** What every leased task carries besides its kind's params and inputs. */
export const TaskCommonShape = { id: IdSchema, reward: AmountSchema, leaseExpiresAt: IsoTimeSchema };

/** Error body of every failed request: `{ error: { code, message } }`. */
export const ErrorCodeSchema = z.string().regex(/^[A-Z][A-Z0-9_]*$/);
export const ErrorBodySchema = z.object({
  error: z.object({ code: ErrorCodeSchema, message: z.string() }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const toAmount = (v: bigint): Amount => {
  if (v < 0n) throw new RangeError('amounts are never negative');
  return v.toString(10);
};
export const fromAmount = (s: Amount): bigint => BigInt(AmountSchema.parse(s));

/**
 * Formats a base-unit amount with the token's decimals, exactly (no floats):
 * formatUnits(1500000000000000000n, 18) === "1.5".
 */
export function formatUnits(value: bigint, decimals: number, maxFraction = decimals): string {
  const neg = value < 0n;
  const v = neg ? -value : value;
  const base = 10n ** BigInt(decimals);
  const whole = v / base;
  let frac = (v % base).toString().padStart(decimals, '0').slice(0, maxFraction).replace(/0+$/, '');
  if (decimals === 0) frac = '';
  return `${neg ? '-' : ''}${whole.toString()}${frac ? `.${frac}` : ''}`;
}
