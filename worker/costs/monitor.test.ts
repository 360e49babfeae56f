/**
 * The cost monitor over a real worker store, with a fake clock and a fake power sensor: energy is
 * counted exactly while working and not while waiting, at each hour's price; the profitability
 * reading reaches the governor; gross, electricity and net by day add up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEFAULT_SETTINGS, type Rates, type Settings } from '../../protocol/index.js';
import { WorkerStore } from '../store/index.js';
import { seriesFromSums } from '../api/series.js';
import { energySeries } from './energy-series.js';
import { CostMonitor } from './monitor.js';
import { PowerMeter, type PowerSensor } from './power.js';

const TOKEN = 10n ** 18n;
const RATES: Rates = {
  kinds: [
    { kind: 'matmul', rate: (TOKEN / 1000n).toString(), unit: 'GFLOP', queued: 3, leased: 0 },
    { kind: 'hashsearch', rate: '0', unit: 'MH', queued: 0, leased: 0 },
  ],
  token: { symbol: 'IDLE', decimals: 18 },
  referencePrice: { currency: 'EUR', perToken: 10_000, label: 'test reference' },
  strikeLimit: 3,
  forgiveAfter: 20,
  at: new Date(0).toISOString(),
};

describe('cost monitor', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('counts energy while working at the hour’s price, tells the governor whether work pays, and adds up by day', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'costs-'));
    dirs.push(dir);
    const store = WorkerStore.open(dir);
    // 0.30 EUR/kWh, 0.60 from 18:00 on Mondays.
    const byHour = Array.from({ length: 7 }, (_, d) => Array.from({ length: 24 }, (_, h) => (d === 0 && h >= 18 ? 600_000 : 300_000)));
    let settings: Settings = { ...DEFAULT_SETTINGS, electricity: { currency: 'EUR', perKwh: null, byHour }, workOnlyWhenProfitable: true };
    let t = new Date(2026, 11, 7, 17, 59, 50).getTime(); // a Monday
    let working = true;
    const sensor: PowerSensor = { name: 'nvidia-smi', read: async () => ({ drawW: 200, limitW: 320 }) };
    const readings: (boolean | null)[] = [];
    const lines: string[] = [];
    const monitor = new CostMonitor({
      log: (l) => lines.push(l),
      store,
      power: new PowerMeter({ sensor, gpuName: 'NVIDIA GeForce RTX 3080' }),
      settings: () => settings,
      rates: () => RATES,
      speed: () => ({ gflops: 10, mhs: 0 }),
      gpuName: 'NVIDIA GeForce RTX 3080',
      working: () => working,
      duty: () => 1,
      governor: { update: (r) => readings.push(r.unprofitable) },
      now: () => new Date(t),
    });
    await monitor.tick(); // the first reading starts the count
    t += 5000;
    await monitor.tick(); // 5 s at 200 W = 1000 J, in the 17:00 hour at 0.30
    t += 5000;
    await monitor.tick(); // 5 s more, counted in the 18:00 hour at 0.60
    working = false;
    t += 2000;
    await monitor.tick(); // work stopped: the last 2 s counted at the last draw read
    t += 60_000;
    await monitor.tick(); // not working: nothing counted
    working = true;
    await monitor.tick();
    t += 40_000;
    await monitor.tick(); // a gap over 30 s (the machine slept): not counted
    const rows = store.energy.since(new Date(2026, 11, 7).toISOString());
    assert.deepEqual(
      rows.map((r) => ({ price: r.pricePerKwh, mj: r.mj, ms: r.workMs, source: r.source })),
      [
        { price: 300_000, mj: 1_000_000, ms: 5000, source: 'measured' },
        { price: 600_000, mj: 1_400_000, ms: 7000, source: 'measured' },
      ],
    );

    // Earning 36 tokens/h (10 GFLOP/s at 0.001/GFLOP) worth 0.36 EUR at the hub's reference;
    // 200 W at 0.60 costs 0.12 an hour: it pays.
    const o = monitor.outlook();
    assert.equal(o.estimate?.perHour, (36n * TOKEN).toString());
    assert.equal(o.valuePerHour, '360000');
    assert.equal(o.costPerHour, '120000');
    assert.equal(o.tokenValue?.source, 'hub-reference');
    assert.deepEqual(o.power, { milliwatts: 200_000, source: 'nvidia-smi', basis: null });
    assert.equal(readings.at(-1), false);
    assert.deepEqual(lines, ["this GPU earns about 36 IDLE an hour now (matmul at the hub's rate, from this GPU's measured speed)"], 'told once');
    // The token worth a tenth of that: 0.036 < 0.12, and the governor hears it.
    settings = { ...settings, tokenValue: 1_000 };
    await monitor.tick();
    assert.equal(readings.at(-1), true);
    assert.equal(monitor.outlook().unprofitable, true);

    // By day: 1 kJ at 0.30 and 1.4 kJ at 0.60 a kWh = (1e6·3e5 + 1.4e6·6e5)/3.6e9 = 316.67 → 317
    // micro-EUR; earned 2 tokens that day, worth 0.002 EUR (2000 micro) at 1000 micro a token: net 1683.
    store.ledger.record('http://hub', { id: '1', taskId: 't1', kind: 'matmul', amount: (2n * TOKEN).toString(), status: 'verified', createdAt: new Date(2026, 11, 7, 18, 0, 1).toISOString() });
    const input = { bucket: 'day' as const, count: 2, now: new Date(2026, 11, 8, 12), utcOffsetMinutes: -new Date(2026, 11, 7).getTimezoneOffset() };
    const days = energySeries(
      input,
      { energy: store.energy.since(new Date(2026, 11, 6).toISOString()), gross: seriesFromSums((from, to) => store.ledger.sumsBetween(from, to), input), currency: 'EUR', value: { perToken: 1_000, currency: 'EUR', source: 'yours', label: null }, decimals: 18 },
    );
    assert.deepEqual(
      days.map((d) => ({ wh: d.wh, gross: d.gross, grossValue: d.grossValue, electricity: d.electricity, net: d.net, estimated: d.estimated })),
      [
        { wh: 1, gross: (2n * TOKEN).toString(), grossValue: '2000', electricity: '317', net: '1683', estimated: false },
        { wh: 0, gross: '0', grossValue: '0', electricity: '0', net: '0', estimated: false },
      ],
    );
    store.close();
  });

  it('sums a day’s earnings exactly from the ledger’s sums by hour and day, past 2⁶³, rejected entries and older ones left out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'costs-'));
    dirs.push(dir);
    const store = WorkerStore.open(dir);
    const now = Date.now();
    const at = (agoMs: number): string => new Date(now - agoMs).toISOString();
    store.ledger.record('h', { id: '1', taskId: 'a', kind: 'matmul', amount: '9999999999999999999999999', status: 'verified', createdAt: at(1000) });
    store.ledger.record('h', { id: '2', taskId: 'b', kind: 'matmul', amount: '7000000001', status: 'paid', createdAt: at(2000) });
    store.ledger.record('h', { id: '3', taskId: 'c', kind: 'matmul', amount: '42', status: 'pending', createdAt: at(3000) });
    store.ledger.record('h', { id: '4', taskId: 'd', kind: 'matmul', amount: '0', status: 'rejected', createdAt: at(4000) });
    store.ledger.record('h', { id: '5', taskId: 'e', kind: 'matmul', amount: '5', status: 'verified', createdAt: at(2 * 24 * 3600_000) });
    const day = (fromMs: number): bigint => {
      const s = store.ledger.sumsBetween(fromMs, now + 1);
      return s.pending.amount + s.verified.amount + s.paid.amount;
    };
    assert.equal(day(now - 24 * 3600_000), 9999999999999999999999999n + 7000000001n + 42n);
    assert.equal(day(now), 0n);
    store.close();
  });

  it('once this machine has done enough tasks of a kind, the estimate is what they earned per hour of GPU time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'costs-'));
    dirs.push(dir);
    const store = WorkerStore.open(dir);
    const monitor = new CostMonitor({
      store,
      power: new PowerMeter({ sensor: null, gpuName: 'x' }),
      settings: () => DEFAULT_SETTINGS,
      rates: () => RATES,
      speed: () => ({ gflops: 10, mhs: 0 }),
      gpuName: 'x',
      working: () => false,
      duty: () => 1,
      governor: { update: () => undefined },
      now: () => new Date(clock),
    });
    let clock = Date.now();
    const at = new Date(clock).toISOString();
    const task = (i: number, gpuMs: number, status: 'verified' | 'rejected' = 'verified'): void => {
      store.ledger.record('http://hub', { id: String(i), taskId: `t${i}`, kind: 'matmul', amount: status === 'rejected' ? '0' : (TOKEN / 100n).toString(), status, createdAt: at });
      store.taskTimes.record('http://hub', { taskId: `t${i}`, kind: 'matmul', startedAt: at, gpuMs });
    };
    for (let i = 1; i <= 4; i++) task(i, 500);
    assert.deepEqual({ ...monitor.outlook().estimate }, { perHour: (36n * TOKEN).toString(), kind: 'matmul', inDemand: true, from: 'benchmark', tasks: 0 }, 'four tasks: still the benchmark');
    task(5, 500);
    task(6, 900, 'rejected'); // worth nothing, and not counted
    assert.equal(monitor.outlook().estimate?.from, 'benchmark', 'the work of the day is read again at most once a minute');
    clock += 61_000;
    // 5 tasks × 0.01 token in 2.5 s of GPU time = 0.02 token/s = 72 tokens an hour.
    assert.deepEqual({ ...monitor.outlook().estimate }, { perHour: (72n * TOKEN).toString(), kind: 'matmul', inDemand: true, from: 'tasks', tasks: 5 });
    store.close();
  });
});
