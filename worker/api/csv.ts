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

const headerLine = (token: TokenInfo): string =>
  ['date', 'task', 'kind', 'status', `amount_${token.symbol}`, 'amount_base_units', 'gpu_seconds', 'hub', 'entry'].map(csvCell).join(',');

function line(e: EarningRow, token: TokenInfo): string {
  const gpu = e.gpuMs === null ? '' : (e.gpuMs / 1000).toFixed(3);
  return [e.createdAt, e.taskId, e.kind, e.status, formatUnits(BigInt(e.amount), token.decimals), e.amount, gpu, e.hub, e.id].map(csvCell).join(',');
}

/** The whole CSV as one text (a few entries; the export itself streams: earningsCsvStream). */
export function earningsCsv(entries: readonly EarningRow[], token: TokenInfo): string {
  return [headerLine(token), ...entries.map((e) => line(e, token))].map((l) => `${l}\r\n`).join('');
}

/**
 * The CSV as a stream of text chunks, one per page of entries (LedgerStore.rowPages: a page at a
 * time from the index of their time), so a year of history is never in memory at once. Between
 * pages it yields to the event loop (the engine's timers and the GPU's pauses are not kept
 * waiting) and the store's connection is free for the engine's writes; a consumer that stops
 * reading (a closed download) stops the reads.
 */
export async function* earningsCsvStream(pages: Iterable<readonly EarningRow[]>, token: TokenInfo): AsyncGenerator<string> {
  yield `${headerLine(token)}\r\n`;
  for (const page of pages) {
    yield page.map((e) => `${line(e, token)}\r\n`).join('');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
