/**
 * The command line for costs and the sentinel: electricity prices and the token's value set as
 * exact micro-units and refused in plain words when they do not fit; `idleforge resume` lifts the
 * sentinel's pause.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WorkerStore } from '../worker/store/index.js';
import { runCli, tempDir } from './helpers.js';

describe('costs on the command line', () => {
  const dir = tempDir('costs-cli');
  after(() => dir.remove());
  const data = join(dir.path, 'worker');

  it('sets the electricity price and the token’s value, and refuses a fraction of a micro-unit', async () => {
    const set = await runCli(['settings', 'set', 'electricity={"currency":"EUR","perKwh":281500,"byHour":null}', 'tokenValue=50000', 'workOnlyWhenProfitable=true', '--data', data]);
    assert.equal(set.code, 0, set.stderr);
    const store = WorkerStore.open(data);
    try {
      const s = store.settings.get();
      assert.deepEqual([s.electricity, s.tokenValue, s.workOnlyWhenProfitable], [{ currency: 'EUR', perKwh: 281_500, byHour: null }, 50_000, true]);
    } finally {
      store.close();
    }
    const bad = await runCli(['settings', 'set', 'tokenValue=0.5', '--data', data]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /tokenValue: a price is a whole number of micro-units/);
    const shown = await runCli(['settings', '--data', data]);
    assert.match(shown.stdout, /electricity {12}\{"currency":"EUR","perKwh":281500,"byHour":null\}/);
  });

  it('`idleforge resume` lifts the sentinel’s pause and keeps its faults', async () => {
    const store = WorkerStore.open(data);
    const outcomes = [
      { task: 't1', outcome: 'ok' as const },
      { task: 't2', outcome: 'rejected' as const },
      { task: 't3', outcome: 'rejected' as const },
    ];
    store.sentinel.set({ outcomes, paused: true });
    store.close();
    const r = await runCli(['resume', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    const after = WorkerStore.open(data);
    try {
      assert.deepEqual(after.sentinel.get(), { outcomes, paused: false });
    } finally {
      after.close();
    }
  });
});
