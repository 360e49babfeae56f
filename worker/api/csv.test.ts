/** The earnings CSV: quoted per RFC 4180, and no cell a spreadsheet would run as a formula. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EarningRow } from '../store/index.js';
import { csvCell, earningsCsv } from './csv.js';

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
