/**
 * Money in a currency as the dashboard shows and reads it: micro-units (10⁻⁶ of the unit, exact
 * integers, as the engine stores them) to "0.30 EUR" and back, with integer arithmetic only.
 */
import { formatUnits } from '../../protocol/common.js';

/** "0.30 EUR", "0.0012 EUR", "-1.25 EUR": at least two decimals, more where the amount is small. */
export function formatMoney(micro: string | number | bigint, currency: string): string {
  const v = BigInt(micro);
  const abs = v < 0n ? -v : v;
  // Two decimals from one unit up; under it, three significant digits (at most six decimals).
  const digits = abs >= 1_000_000n || abs === 0n ? 2 : Math.min(6, Math.max(2, 9 - abs.toString().length));
  const text = formatUnits(abs, 6, digits);
  const [w, f = ''] = text.split('.');
  const shown = `${w}.${f.padEnd(Math.min(2, digits), '0')}`.replace(/\.$/, '');
  return `${v < 0n ? '-' : ''}${shown} ${currency}`;
}

/**
 * A price as typed ("0.30", "0,30", "12") in micro-units; null for an empty box; 'invalid' for
 * anything else (a negative, more than six decimals, letters).
 */
export function parseMoney(text: string): number | null | 'invalid' {
  const t = text.trim().replace(',', '.');
  if (t === '') return null;
  const m = /^(\d{1,9})(?:\.(\d{0,6}))?$/.exec(t);
  if (!m) return 'invalid';
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? '').padEnd(6, '0'));
}

/** Micro-units as the box shows them again: 300000 → "0.3". */
export const moneyText = (micro: number | null): string => (micro === null ? '' : formatUnits(BigInt(micro), 6));

/** "215 W" from milliwatts. */
export const formatWatts = (mw: number): string => `${Math.round(mw / 1000)} W`;
