/**
 * Gross, electricity and net by day as CSV (RFC 4180), beside the earnings export: one row a day
 * with the tokens earned (whole and base units), their worth at the token's value, the energy and
 * what it cost, and the net. Money columns are exact decimals of the currency (micro-units
 * written with six decimals); an unknown figure is an empty cell.
 */
import type { EnergyPoint } from '../../protocol/index.js';
import { formatUnits } from '../../protocol/index.js';
import { csvCell } from '../api/csv.js';

/** Micro-units as a decimal of the currency, exactly: 1234567 → "1.234567", -5 → "-0.000005". */
export const microText = (micro: string | null): string => (micro === null ? '' : formatUnits(BigInt(micro), 6));

/** `utcOffsetMinutes`: the viewer's offset (east positive), so each row's date is the local day it covers. */
export function costsCsv(points: readonly EnergyPoint[], token: { symbol: string; decimals: number }, currency: string, utcOffsetMinutes: number): string {
  const header = ['date', `gross_${token.symbol}`, 'gross_base_units', `gross_${currency}`, 'kwh', `electricity_${currency}`, `net_${currency}`, 'energy'];
  const lines = [header.map(csvCell).join(',')];
  for (const p of points) {
    const energy = p.wh === 0 ? '' : p.estimated ? 'estimated' : 'measured';
    lines.push(
      [new Date(Date.parse(p.start) + utcOffsetMinutes * 60_000).toISOString().slice(0, 10), formatUnits(BigInt(p.gross), token.decimals), p.gross, microText(p.grossValue), formatUnits(BigInt(p.wh), 3), microText(p.electricity), microText(p.net), energy]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
