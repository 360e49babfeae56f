/** The sentinel's counting over a real worker store: steps, the pause, the clean window, a restart. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WorkerStore } from '../store/index.js';
import { connectSentinel, Sentinel, SENTINEL_WINDOW, sentinelReason } from './sentinel.js';

describe('sentinel', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const open = (): WorkerStore => {
    const d = mkdtempSync(join(tmpdir(), 'sentinel-'));
    dirs.push(d);
    return WorkerStore.open(d);
  };

  it('a lost device counts like a wrong result; the cap lifts once the window is clean', () => {
    const store = open();
    const s = new Sentinel(store.sentinel, () => 4);
    assert.deepEqual({ ...s.state }, { faults: 0, capPercent: null, pausedReason: null });
    assert.equal(s.submitsAtOnce, 3, 'three rejections from the pause at 3');
    s.recordOutcome('device-lost');
    assert.equal(s.state.capPercent, 75);
    assert.equal(s.dutyCap, 0.75);
    s.recordOutcome('ok');
    s.recordOutcome('rejected');
    assert.deepEqual({ ...s.state }, { faults: 2, capPercent: 50, pausedReason: null }, 'a limit of 4 pauses at 3');
    assert.equal(s.submitsAtOnce, 1, 'one rejection from the pause: one result judged at a time');
    for (let i = 0; i < SENTINEL_WINDOW - 1; i++) s.recordOutcome('ok');
    assert.equal(s.state.faults, 1, 'the device loss has left the window');
    s.recordOutcome('ok');
    assert.deepEqual({ ...s.state }, { faults: 0, capPercent: null, pausedReason: null });
    store.close();
  });

  it('pauses one short of the strike limit, stays paused across a restart, and pauses again at the next fault after a resume', () => {
    const store = open();
    const s = new Sentinel(store.sentinel, () => 3);
    const readings: (string | null)[] = [];
    connectSentinel(s, { update: (r) => readings.push(r.gpuFault) });
    s.recordOutcome('rejected');
    s.recordOutcome('device-lost');
    const reason = 'Your GPU returned wrong results or crashed twice in 20 tasks: it may be overclocked too far or running too hot';
    assert.equal(s.state.pausedReason, reason);
    assert.deepEqual(readings, [null, null, reason], 'the governor hears the pause');
    assert.equal(new Sentinel(store.sentinel, () => 3).state.pausedReason, reason, 'a restart keeps the pause');
    s.resume();
    assert.equal(s.state.pausedReason, null);
    assert.equal(readings.at(-1), null);
    s.recordOutcome('ok');
    assert.equal(s.state.pausedReason, null, 'a good result does not pause');
    s.recordOutcome('rejected');
    assert.match(s.state.pausedReason ?? '', /3 times in 20 tasks/);
    store.close();
  });

  it('a hub that strikes at the first fault is met by a pause at the first; its words', () => {
    const store = open();
    const s = new Sentinel(store.sentinel, () => 1);
    s.recordOutcome('rejected');
    assert.equal(s.state.pausedReason, 'Your GPU returned wrong results once in 20 tasks: it may be overclocked too far or running too hot');
    assert.equal(sentinelReason(['ok', 'device-lost', 'device-lost']), 'Your GPU crashed (lost its device) twice in 20 tasks: it may be overclocked too far or running too hot');
    store.close();
  });
});

describe('sentinel and results proven wrong later', () => {
  it('a pending result the mirrored ledger now says was rejected counts as a fault, and can pause', () => {
    const d = mkdtempSync(join(tmpdir(), 'sentinel-'));
    const store = WorkerStore.open(d);
    try {
      const s = new Sentinel(store.sentinel, () => 3);
      s.recordOutcome('ok', 'task-a');
      s.recordOutcome('rejected', 'task-b');
      s.recordOutcome('ok', 'task-c');
      assert.equal(s.state.faults, 1);
      const recheck = (): void => s.recheck((ids) => store.sentinel.rejectedAmong(ids));
      recheck();
      assert.equal(s.state.faults, 1, 'nothing new in the ledger');
      // The hub's replica proved task-a wrong: its pending entry became rejected.
      store.ledger.record('h', { id: '1', taskId: 'task-a', kind: 'hashsearch', amount: '0', status: 'rejected', createdAt: new Date().toISOString() });
      store.ledger.record('h', { id: '2', taskId: 'task-c', kind: 'hashsearch', amount: '5', status: 'verified', createdAt: new Date().toISOString() });
      recheck();
      assert.deepEqual({ ...s.state }, { faults: 2, capPercent: 50, pausedReason: 'Your GPU returned wrong results twice in 20 tasks: it may be overclocked too far or running too hot' });
      recheck();
      assert.equal(s.state.faults, 2, 'counted once');
    } finally {
      store.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('sentinel across processes', () => {
  it('a resume written by another process (idleforge resume) reaches the running worker', () => {
    const d = mkdtempSync(join(tmpdir(), 'sentinel-'));
    const store = WorkerStore.open(d);
    const other = WorkerStore.open(d);
    try {
      const s = new Sentinel(store.sentinel, () => 3);
      const readings: (string | null)[] = [];
      const off = connectSentinel(s, { update: (r) => readings.push(r.gpuFault) }, 60_000);
      s.recordOutcome('rejected');
      s.recordOutcome('rejected');
      assert.notEqual(s.state.pausedReason, null);
      other.sentinel.set({ ...other.sentinel.get(), paused: false });
      s.reload();
      assert.equal(s.state.pausedReason, null);
      assert.equal(readings.at(-1), null, 'the governor hears it');
      off();
    } finally {
      store.close();
      other.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
