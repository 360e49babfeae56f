import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAmount, formatDuration, formatMemory, ratio, shortHex } from './format.js';

describe('dashboard formatting', () => {
  it('formats base-unit amounts exactly, without floats', () => {
    assert.equal(formatAmount('0', 18), '0');
    assert.equal(formatAmount('1500000000000000000', 18), '1.5');
    assert.equal(formatAmount('66136000000000000', 18), '0.0661');
    assert.equal(formatAmount('523000000000000', 18), '0.000523');
    assert.equal(formatAmount('1', 18), '< 0.00000001');
    assert.equal(formatAmount('1234567890123456789012345', 18), '1,234,567.89');
    // 2^64 + 1 base units: beyond a double's precision, still exact.
    assert.equal(formatAmount(18446744073709551617n, 0), '18,446,744,073,709,551,617');
    assert.equal(formatAmount('123456', 6), '0.123');
  });

  it('words durations, memory and hashes', () => {
    assert.equal(formatDuration(172), '172 ms');
    assert.equal(formatDuration(4300), '4.3 s');
    assert.equal(formatDuration(95_000), '1 min 35 s');
    assert.equal(formatMemory(12282), '12 GB');
    assert.equal(formatMemory(8192), '8 GB');
    assert.equal(formatMemory(null), 'Unknown');
    assert.equal(shortHex(`0x${'ab'.repeat(32)}`, 4), '0xabab…abab');
    assert.equal(ratio(1n, 3n), 0.3333);
    assert.equal(ratio(5n, 0n), 0);
  });
});
