/**
 * The benchmark kind on a real WebGPU device (SwiftShader without a GPU): a score in 3 s or less
 * once the device's pipelines are compiled, and the hub's plausibility check of scores.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { describeMissingWebGpu, openNodeGpu } from '../../worker/compute/webgpu-node.js';
import { KernelDevice } from '../device.js';
import { requestComputeDevice } from '../gpu.js';
import { BENCHMARK_BUDGET_MS, benchmarkWorkUnits, runBenchmark, verifyBenchmarkScore } from './index.js';

describe('verifyBenchmarkScore and work units (CPU)', () => {
  test('takes plausible scores and refuses the rest', () => {
    assert.deepEqual(verifyBenchmarkScore({ gflops: 12.5, mhs: 300 }), { ok: true });
    assert.deepEqual(verifyBenchmarkScore({ gflops: 12.5, mhs: 300, renderGflops: 2 }), { ok: true });
    assert.deepEqual(verifyBenchmarkScore({}), { ok: true });
    for (const bad of [{ gflops: -1 }, { gflops: Number.NaN }, { mhs: Number.POSITIVE_INFINITY }, { gflops: 1e9 }, { mhs: '5' }, { renderGflops: -2 }, { renderGflops: 1e9 }]) {
      assert.equal(verifyBenchmarkScore(bad).ok, false, JSON.stringify(bad));
    }
    assert.equal(benchmarkWorkUnits(), 0n);
  });
});

describe('runBenchmark on WebGPU', () => {
  let device: KernelDevice;
  before(async () => {
    const gpu = await openNodeGpu();
    if (!gpu) throw new Error(describeMissingWebGpu());
    device = new KernelDevice(await requestComputeDevice(gpu.adapter));
  });
  after(() => device?.device.destroy());

  test('scores matmul, render and hashsearch; 3 s or less once compiled', async () => {
    const cold = await runBenchmark(device);
    assert.ok(cold.gflops > 0 && cold.mhs > 0 && cold.renderGflops > 0, JSON.stringify(cold));
    const warm = await runBenchmark(device);
    console.error(`benchmark: ${JSON.stringify(warm)} (first run ${Math.round(cold.ms)} ms with compiling)`);
    assert.ok(warm.gflops > 0 && warm.mhs > 0 && warm.renderGflops > 0);
    assert.ok(warm.ms <= BENCHMARK_BUDGET_MS, `took ${warm.ms} ms`);
    assert.deepEqual(verifyBenchmarkScore(warm), { ok: true });
    assert.ok(warm.matmul.size >= 128);
  });

  test('an aborted signal stops it', async () => {
    await assert.rejects(runBenchmark(device, { signal: AbortSignal.abort() }), /stopped/);
  });
});
