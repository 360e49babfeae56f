/** The money arithmetic on known inputs: rates × speed, value, electricity, profitability. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SETTINGS, type Rates } from '../../protocol/index.js';
import { bestEarning, costPerHour, earningsPerHour, priceNow, speedFromModel, tokenValueOf, unprofitable, valueOf } from './estimate.js';

const TOKEN = 10n ** 18n;
const rates = (queued: { matmul: number; hashsearch: number }, ref: Rates['referencePrice'] = null): Rates => ({
  kinds: [
    { kind: 'matmul', rate: (TOKEN / 1000n).toString(), unit: 'GFLOP', queued: queued.matmul, leased: 0 },
    { kind: 'hashsearch', rate: (TOKEN / 100n).toString(), unit: 'MH', queued: queued.hashsearch, leased: 0 },
  ],
  token: { symbol: 'IDLE', decimals: 18 },
  referencePrice: ref,
  strikeLimit: 3,
  forgiveAfter: 20,
  at: new Date(0).toISOString(),
});

describe('earnings and costs an hour', () => {
  it('rates × measured speed × 3600 s, in base units, per kind; the best kind in demand', () => {
    // 10 GFLOP/s at 0.001 token/GFLOP = 0.01 token/s = 36 tokens/h; 2.5 MH/s at 0.01 token/MH = 90 tokens/h.
    const list = earningsPerHour(rates({ matmul: 5, hashsearch: 0 }), { gflops: 10, mhs: 2.5 });
    assert.deepEqual(list, [
      { kind: 'matmul', perHour: 36n * TOKEN, inDemand: true },
      { kind: 'hashsearch', perHour: 90n * TOKEN, inDemand: false },
    ]);
    assert.equal(bestEarning(list)?.kind, 'matmul', 'hashsearch pays more but has no work now');
    assert.equal(bestEarning(earningsPerHour(rates({ matmul: 0, hashsearch: 0 }), { gflops: 10, mhs: 2.5 }))?.kind, 'hashsearch', 'no demand at all: the best rate');
  });

  it('prices render by its own speed, not matmul’s; a score measured before render had one earns nothing from it', () => {
    const withRender: Rates = { ...rates({ matmul: 0, hashsearch: 0 }), kinds: [{ kind: 'render', rate: (TOKEN / 1000n).toString(), unit: 'GFLOP', queued: 3, leased: 0 }] };
    // 4 GFLOP/s of render at 0.001 token/GFLOP = 14.4 tokens/h, whatever matmul's 10 GFLOP/s would give.
    assert.deepEqual(earningsPerHour(withRender, { gflops: 10, mhs: 2.5, renderGflops: 4 }), [{ kind: 'render', perHour: (144n * TOKEN) / 10n, inDemand: true }]);
    assert.deepEqual(earningsPerHour(withRender, { gflops: 10, mhs: 2.5 }), [{ kind: 'render', perHour: 0n, inDemand: true }]);
    const model = speedFromModel('NVIDIA GeForce RTX 4090');
    assert.ok(model && model.renderGflops !== undefined && model.renderGflops > 0 && model.renderGflops < model.gflops, 'the model estimates render below matmul');
  });

  it('values tokens and prices electricity exactly in micro-units', () => {
    assert.equal(valueOf(36n * TOKEN, 18, 250_000), 9_000_000n, '36 tokens at 0.25 = 9.000000');
    assert.equal(valueOf(1n, 18, 250_000), 0n, 'rounded down');
    assert.equal(costPerHour(300_000, 400_000), 120_000n, '300 W an hour at 0.40 a kWh = 0.12');
    assert.equal(unprofitable({ earnPerHour: 36n * TOKEN, decimals: 18, value: { perToken: 3_000, currency: 'EUR', source: 'yours', label: null }, milliwatts: 300_000, pricePerKwh: 400_000 }), true, '0.108 earned < 0.12 spent');
    assert.equal(unprofitable({ earnPerHour: 36n * TOKEN, decimals: 18, value: { perToken: 4_000, currency: 'EUR', source: 'yours', label: null }, milliwatts: 300_000, pricePerKwh: 400_000 }), false, '0.144 earned > 0.12');
    assert.equal(unprofitable({ earnPerHour: 36n * TOKEN, decimals: 18, value: null, milliwatts: 300_000, pricePerKwh: 400_000 }), null, 'no value: cannot tell');
  });

  it('the token’s value: yours, else the hub’s reference in your currency, labelled', () => {
    const ref = { currency: 'EUR', perToken: 5, label: 'hub reference' };
    const eur = { ...DEFAULT_SETTINGS, electricity: { ...DEFAULT_SETTINGS.electricity, currency: 'EUR' } };
    assert.deepEqual(tokenValueOf(eur, rates({ matmul: 0, hashsearch: 0 }, ref)), { perToken: 5, currency: 'EUR', source: 'hub-reference', label: 'hub reference' });
    assert.equal(tokenValueOf(DEFAULT_SETTINGS, rates({ matmul: 0, hashsearch: 0 }, ref)), null, 'a reference in another currency (the default is USD) is not converted');
    assert.deepEqual(tokenValueOf({ ...DEFAULT_SETTINGS, tokenValue: 7 }, rates({ matmul: 0, hashsearch: 0 }, ref))?.source, 'yours');
  });

  it('the price now: flat, or the hour of the week’s from the grid', () => {
    const monday9 = new Date(2026, 11, 7, 9, 30);
    assert.equal(priceNow(DEFAULT_SETTINGS, monday9), null);
    assert.equal(priceNow({ electricity: { currency: 'EUR', perKwh: 300_000, byHour: null } }, monday9), 300_000);
    const byHour = Array.from({ length: 7 }, (_, d) => Array.from({ length: 24 }, (_, h) => d * 1000 + h));
    assert.equal(priceNow({ electricity: { currency: 'EUR', perKwh: 300_000, byHour } }, monday9), 9, 'Monday 09:00');
    assert.equal(priceNow({ electricity: { currency: 'EUR', perKwh: null, byHour } }, new Date(2026, 11, 13, 23, 0)), 6023, 'Sunday 23:00');
  });

  it('a GPU not measured yet is estimated from its model, and says so', () => {
    const s = speedFromModel('NVIDIA GeForce RTX 3080');
    assert.ok(s && s.gflops > 1000);
    assert.match(s.basis, /estimated from its model/);
    assert.equal(speedFromModel('SwiftShader Device (Subzero)'), null);
  });
});
