/** The earnings CSV: quoted per RFC 4180, and no cell a spreadsheet would run as a formula. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WorkerStore, type EarningRow } from '../store/index.js';
import { ROWS_PAGE } from '../store/ledger.js';
import { csvCell, earningsCsv, earningsCsvStream } from './csv.js';

const row = (over: Partial<EarningRow>): EarningRow => ({
  hub: 'http://127.0.0.1:9',
  id: '1',
  taskId: 'task_a',
  kind: 'matmul',
  amount: '1500000000000000000',
  status: 'verified',
  createdAt: '2026-01-05T10:00:00.000Z',
  gpuMs: 1234,
  ...over,
});

describe('earnings CSV', () => {
  it('turns a formula from the hub into quoted text', () => {
    const csv = earningsCsv([row({ kind: '=HYPERLINK("http://x","y")', taskId: '@SUM(1)', id: '+1+2' })], { symbol: '-IDLE', decimals: 18 });
    const [header, line] = csv.split('\r\n');
    assert.equal(header, `date,task,kind,status,amount_-IDLE,amount_base_units,gpu_seconds,hub,entry`);
    assert.equal(line, `2026-01-05T10:00:00.000Z,"'@SUM(1)","'=HYPERLINK(""http://x"",""y"")",verified,1.5,1500000000000000000,1.234,http://127.0.0.1:9,"'+1+2"`);
  });

  it('neutralises every formula start, tab and CR included, and leaves numbers numbers', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r']) assert.equal(csvCell(`${start}cmd|' /C calc'!A0`).slice(0, 3), `"'${start}`);
    assert.equal(csvCell('0.25'), '0.25');
    assert.equal(csvCell('-3'), '-3', 'a plain number is no formula');
    assert.equal(csvCell('-3+1'), `"'-3+1"`);
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('line\nbreak'), '"line\nbreak"');
    assert.equal(csvCell(''), '');
  });
});

describe('earnings CSV, streamed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-csv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('streams many rows a page at a time, oldest first, each once, with the store free for writes between pages', async () => {
    const store = WorkerStore.open(dir);
    try {
      const n = 5 * ROWS_PAGE + 123;
      const t0 = Date.parse('2026-02-01T00:00:00Z');
      // Written newest first, three entries to each millisecond: the order is by time, then by arrival.
      store.ledger.upsertMany(
        'http://127.0.0.1:9',
        Array.from({ length: n }, (_, i) => ({
          id: String(i + 1),
          taskId: `t${i + 1}`,
          kind: 'matmul',
          amount: String(10n ** 18n + BigInt(i)),
          status: 'verified' as const,
          createdAt: new Date(t0 + Math.floor((n - i) / 3)).toISOString(),
        })),
      );
      const chunks: string[] = [];
      let written = 0;
      for await (const chunk of earningsCsvStream(store.ledger.rowPages(), { symbol: 'IDLE', decimals: 18 })) {
        chunks.push(chunk);
        // The engine writes while the export runs: the connection is not held by a read.
        store.ledger.record('http://127.0.0.1:9', { id: `late${written}`, taskId: `late${written}`, kind: 'matmul', amount: '1', status: 'verified', createdAt: '2027-01-01T00:00:00.000Z' });
        written++;
      }
      assert.equal(chunks.length, 1 + Math.ceil((n + 6) / ROWS_PAGE), 'the header, then one chunk per page (the late writes land on the last pages)');
      for (const c of chunks.slice(1)) assert.ok(c.split('\r\n').length - 1 <= ROWS_PAGE, 'no chunk holds more than a page');
      const lines = chunks.join('').trim().split('\r\n').slice(1);
      const ids = lines.map((l) => l.split(',').at(-1)!);
      const early = ids.filter((id) => !id.startsWith('late'));
      assert.equal(early.length, n);
      assert.equal(new Set(early).size, n, 'every entry once');
      const dates = lines.map((l) => l.split(',')[0]!);
      assert.deepEqual(dates, [...dates].sort(), 'oldest first');
      // The oldest millisecond holds entries n-1 and n (written in that order): by time, then by arrival.
      assert.deepEqual(early.slice(0, 2), [String(n - 1), String(n)]);
    } finally {
      store.close();
    }
  });

  it('stops reading when the download stops', async () => {
    const store = WorkerStore.open(join(dir, 'stop'));
    try {
      store.ledger.upsertMany(
        'http://127.0.0.1:9',
        Array.from({ length: 3 * ROWS_PAGE }, (_, i) => ({ id: String(i + 1), taskId: `t${i}`, kind: 'matmul', amount: '1', status: 'paid' as const, createdAt: new Date(1e12 + i).toISOString() })),
      );
      let pagesRead = 0;
      const pages = store.ledger.rowPages();
      const counted = (function* () {
        for (const p of pages) {
          pagesRead++;
          yield p;
        }
      })();
      const stream = earningsCsvStream(counted, { symbol: 'IDLE', decimals: 18 });
      await stream.next();
      await stream.next();
      await stream.return(undefined);
      assert.equal(pagesRead, 1);
    } finally {
      store.close();
    }
  });
});
