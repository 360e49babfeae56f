import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMoney, moneyText, parseMoney } from './money.js';

describe('money in a currency', () => {
  it('shows micro-units exactly, with digits enough for small costs', () => {
    assert.equal(formatMoney(300_000, 'EUR'), '0.30 EUR');
    assert.equal(formatMoney(64_500, 'EUR'), '0.0645 EUR');
    assert.equal(formatMoney('1', 'USD'), '0.000001 USD');
    assert.equal(formatMoney(12_345_678n, 'EUR'), '12.34 EUR');
    assert.equal(formatMoney('-435200', 'EUR'), '-0.435 EUR');
    assert.equal(formatMoney(0, 'EUR'), '0.00 EUR');
  });
  it('reads a typed price into micro-units, refusing what is not one', () => {
    assert.equal(parseMoney('0.30'), 300_000);
    assert.equal(parseMoney('0,2815'), 281_500);
    assert.equal(parseMoney(' 12 '), 12_000_000);
    assert.equal(parseMoney(''), null);
    assert.equal(parseMoney('-1'), 'invalid');
    assert.equal(parseMoney('0.0000001'), 'invalid');
    assert.equal(parseMoney('abc'), 'invalid');
    assert.equal(moneyText(281_500), '0.2815');
  });
});
