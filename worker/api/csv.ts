/** The earnings history as CSV (RFC 4180), for spreadsheets and taxes. */
import { formatUnits } from '../../protocol/index.js';
import type { LocalEarning, TokenInfo } from '../store/index.js';

const cell = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function earningsCsv(entries: readonly LocalEarning[], token: TokenInfo): string {
  const header = ['date', 'task', 'kind', 'status', `amount_${token.symbol}`, 'amount_base_units', 'hub', 'entry'];
  const lines = [header.join(',')];
  for (const e of entries) {
    lines.push(
      [e.createdAt, e.taskId, e.kind, e.status, formatUnits(BigInt(e.amount), token.decimals), e.amount, e.hub, e.id].map(cell).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
