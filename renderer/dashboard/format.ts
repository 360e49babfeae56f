/**
 * Words and numbers as the dashboard shows them. Amounts are base-unit decimal strings from the
 * engine, formatted with the token's decimals as exact integer arithmetic: never floats.
 */
import { formatUnits } from '../../protocol/common.js';

const group = (whole: string): string => whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * "1,234.56", "0.0052", "< 0.00000001": digits enough to see small earnings (a devnet task earns
 * a few ten-thousandths of a token), few enough to read big ones. Truncated, never rounded up.
 */
export function formatAmount(base: string | bigint, decimals: number): string {
  const value = typeof base === 'bigint' ? base : BigInt(base);
  if (value === 0n) return '0';
  const unit = 10n ** BigInt(decimals);
  const whole = value / unit;
  let fractionDigits: number;
  if (whole >= 1000n) fractionDigits = 2;
  else if (whole >= 1n) fractionDigits = 4;
  else {
    // Three significant digits of a fraction, at most 8 places.
    const leadingZeros = decimals - (value % unit).toString().length;
    fractionDigits = Math.min(8, leadingZeros + 3);
  }
  const text = formatUnits(value, decimals, Math.min(fractionDigits, decimals));
  if (text === '0') return `< 0.${'0'.repeat(Math.max(0, Math.min(8, decimals) - 1))}1`;
  const [w, f] = text.split('.');
  return f ? `${group(w!)}.${f}` : group(w!);
}

export const withSymbol = (base: string | bigint, token: { symbol: string; decimals: number }): string =>
  `${formatAmount(base, token.decimals)} ${token.symbol}`;

/** Bar heights and shares: a ratio of two amounts, exact to 1/10000, as a number in [0, 1]. */
export function ratio(part: bigint, whole: bigint): number {
  if (whole <= 0n) return 0;
  return Number((part * 10_000n) / whole) / 10_000;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * A date formatter made on its first use, not when the dashboard loads: making an
 * Intl.DateTimeFormat loads its locale's data (tens of ms in a fresh page on a slow machine, five
 * of them about a third of the module's evaluation), and the first render of Home shows no dates.
 */
function dateFormat(options: Intl.DateTimeFormatOptions): (iso: string) => string {
  let format: Intl.DateTimeFormat | null = null;
  return (iso) => (format ??= new Intl.DateTimeFormat(undefined, options)).format(new Date(iso));
}

export const formatTime = dateFormat({ hour: '2-digit', minute: '2-digit' });
export const formatDateTime = dateFormat({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
/** With seconds: several changes of state may fall in one minute. */
export const formatDateTimeSeconds = dateFormat({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const formatDay = dateFormat({ weekday: 'short', month: 'short', day: 'numeric' });
/** "Mar 4": the chart's ticks and weeks. */
export const formatShortDate = dateFormat({ month: 'short', day: 'numeric' });

/** "just now", "5 min ago", "3 h ago", else the date. */
export function formatAgo(iso: string, now = Date.now()): string {
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return formatDateTime(iso);
}

/** 0x1234…abcd */
export const shortHex = (hex: string, keep = 4): string => (hex.length <= 2 + keep * 2 + 1 ? hex : `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}`);

export function formatMemory(mib: number | null): string {
  if (mib === null) return 'Unknown';
  return mib >= 1024 ? `${(mib / 1024).toFixed(1).replace(/\.0$/, '')} GB` : `${mib} MB`;
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
