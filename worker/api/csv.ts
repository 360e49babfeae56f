/** The earnings history as CSV (RFC 4180), for spreadsheets and taxes. */
import { formatUnits } from '../../protocol/index.js';
import type { EarningRow, TokenInfo } from '../store/index.js';

const cell = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export function earningsCsv(entries: readonly EarningRow[], token: TokenInfo): string {
  const header = ['date', 'task', 'kind', 'status', `amount_${token.symbol}`, 'amount_base_units', 'gpu_seconds', 'hub', 'entry'];
  const lines = [header.join(',')];
  for (const e of entries) {
    const gpu = e.gpuMs === null ? '' : (e.gpuMs / 1000).toFixed(3);
    lines.push(
      [e.createdAt, e.taskId, e.kind, e.status, formatUnits(BigInt(e.amount), token.decimals), e.amount, gpu, e.hub, e.id].map(cell).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
