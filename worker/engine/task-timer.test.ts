import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { EngineStatus } from '../engine.js';
import { WorkerStore } from '../store/index.js';
import { trackTaskTimes } from './task-timer.js';

describe('task timer', () => {
  it('records each task’s GPU time when it leaves the status, once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idleforge-timer-'));
    const store = WorkerStore.open(dir);
    const listeners = new Set<(s: EngineStatus) => void>();
    let clock = 0;
    const off = trackTaskTimes((l) => (listeners.add(l), () => listeners.delete(l)), store, 'http://h', () => clock);
    const emit = (task: EngineStatus['task']): void => listeners.forEach((l) => l({ state: 'working', reason: '', blockedBy: null, task, credited: 0 }));
    const a = { id: 'a', kind: 'matmul', startedAt: '2026-01-01T00:00:00.000Z' };
    emit(a);
    clock = 250;
    emit(a); // the same task, another state change
    clock = 400;
    emit(null);
    emit(null);
    store.ledger.record('http://h', { id: '1', taskId: 'a', kind: 'matmul', amount: '1', status: 'verified', createdAt: a.startedAt });
    assert.equal(store.ledger.page({ limit: 1 }).entries[0]?.gpuMs, 400);
    off();
    assert.equal(listeners.size, 0);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
