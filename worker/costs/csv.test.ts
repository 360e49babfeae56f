/** The costs CSV: exact decimals, empty cells for unknowns, negative nets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costsCsv, microText } from './csv.js';

describe('costs CSV', () => {
  it('writes gross, electricity and net by day, exactly', () => {
    assert.equal(microText('1234567'), '1.234567');
    assert.equal(microText('-5'), '-0.000005');
    assert.equal(microText(null), '');
    const csv = costsCsv(
      [
        { start: '2026-12-06T23:00:00.000Z', wh: 1534, gross: '2500000000000000000', grossValue: '25000', electricity: '460200', net: '-435200', estimated: true, unpriced: false },
        { start: '2026-12-07T23:00:00.000Z', wh: 0, gross: '0', grossValue: null, electricity: '0', net: null, estimated: false, unpriced: false },
      ],
      { symbol: 'IDLE', decimals: 18 },
      'EUR',
      60,
    );
    assert.equal(
      csv,
      'date,gross_IDLE,gross_base_units,gross_EUR,kwh,electricity_EUR,net_EUR,energy\r\n' +
        '2026-12-07,2.5,2500000000000000000,0.025,1.534,0.4602,-0.4352,estimated\r\n' +
        '2026-12-08,0,0,,0,0,,\r\n',
    );
  });
});
