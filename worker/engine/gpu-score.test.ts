/**
 * The weekly GPU score: a fresh stored score is reported without measuring, but one stored before
 * the benchmark measured render (no `renderGflops`, which the hub sizes render tasks from) is
 * measured again, where the host can measure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AdapterInfo } from '../../protocol/desktop.js';
import type { ComputeHost } from '../compute/compute-host.js';
import { WorkerStore } from '../store/index.js';
import { WeeklyGpuScore } from './gpu-score.js';

const ADAPTER: AdapterInfo = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3080', software: false };
const KEY = `${ADAPTER.vendor}|${ADAPTER.device}|${ADAPTER.description}`;

function hostOf(benchmark?: ComputeHost['benchmark']): ComputeHost & { measured: number } {
  const host = {
    adapter: ADAPTER,
    measured: 0,
    run: () => Promise.reject(new Error('no tasks here')),
    close: () => Promise.resolve(),
    ...(benchmark
      ? {
          benchmark: () => {
            host.measured += 1;
            return benchmark();
          },
        }
      : {}),
  };
  return host;
}

describe('weekly GPU score', () => {
  it('measures again a stored score without render’s speed, then reads the new one from the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idleforge-score-'));
    const store = WorkerStore.open(dir);
    try {
      store.settings.setScore(KEY, { gflops: 20_000, mhs: 3_000 });
      const host = hostOf(() => Promise.resolve({ gflops: 21_000, mhs: 3_100, renderGflops: 900 }));
      const score = new WeeklyGpuScore({ host, store, onMeasuring: () => undefined, log: () => undefined });
      assert.equal(await score.settle(() => true), true, 'measured');
      assert.deepEqual(score.current, { gflops: 21_000, mhs: 3_100, renderGflops: 900 });
      const later = new WeeklyGpuScore({ host, store, onMeasuring: () => undefined, log: () => undefined });
      assert.equal(await later.settle(() => true), false, 'fresh and complete: read from the store');
      assert.deepEqual(later.current, { gflops: 21_000, mhs: 3_100, renderGflops: 900 });
      assert.equal(host.measured, 1);

      // A host that cannot measure reports what is stored, render's speed or not.
      store.settings.setScore(KEY, { gflops: 20_000, mhs: 3_000 });
      const plain = new WeeklyGpuScore({ host: hostOf(), store, onMeasuring: () => undefined, log: () => undefined });
      assert.equal(await plain.settle(() => true), false);
      assert.deepEqual(plain.current, { gflops: 20_000, mhs: 3_000 });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
