/**
 * The earnings history as CSV (RFC 4180), for spreadsheets and taxes. Most of its text comes from
 * the hub (task ids, kinds, the token's symbol), so a hostile hub could plant a formula such as
 * `=HYPERLINK(...)` that a spreadsheet would run on opening the file: see cell().
 */
import { formatUnits } from '../../protocol/index.js';
import type { EarningRow, TokenInfo } from '../store/index.js';

/** A plain decimal number (amounts, GPU seconds): safe as it is, and left a number for sums. */
const NUMBER = /^-?\d+(\.\d+)?$/;
/** What spreadsheets read as the start of a formula (tab and CR too: some strip them first). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One field: a text that a spreadsheet would take for a formula gets a leading `'`, which makes
 * it plain text there, and is then quoted; a field with a quote, comma or line break is quoted,
 * its quotes doubled.
 */
export function csvCell(value: string): string {
  const safe = !NUMBER.test(value) && FORMULA_START.test(value) ? `'${value}` : value;
  return safe !== value || /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function earningsCsv(entries: readonly EarningRow[], token: TokenInfo): string {
  const header = ['date', 'task', 'kind', 'status', `amount_${token.symbol}`, 'amount_base_units', 'gpu_seconds', 'hub', 'entry'];
  const lines = [header.map(csvCell).join(',')];
  for (const e of entries) {
    const gpu = e.gpuMs === null ? '' : (e.gpuMs / 1000).toFixed(3);
    lines.push(
      [e.createdAt, e.taskId, e.kind, e.status, formatUnits(BigInt(e.amount), token.decimals), e.amount, gpu, e.hub, e.id].map(csvCell).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
