/** `idleforge bench hub`: what its figures mean on known inputs (nothing here is timed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throughputFigures } from './hub-child.js';
import { shareOfCompute } from './hub.js';
import { gpuFigures } from './overhead.js';
import { gpuShare, gpuShareFigures } from './gpu-share.js';

describe('idleforge bench hub: figures', () => {
  it('throughput: 500 cycles in 0.5 s are 1,000 cycles/s; the CPU per cycle is the CPU over the cycles', () => {
    const latenciesMs = Array.from({ length: 500 }, (_, i) => (i % 100) + 1); // 1 to 100 ms, five times each
    const r = throughputFigures({ workers: 64, latenciesMs, elapsedS: 0.5, hubCpuMs: 250, workersCpuMs: 100 });
    assert.equal(r.cycles, 500);
    assert.equal(r.cyclesPerSecond, 1000);
    assert.deepEqual(r.latencyMs, { p50: 51, p99: 100 });
    assert.equal(r.hubCpuMsPerCycle, 0.5);
    assert.equal(r.workersCpuMsPerCycle, 0.2);
  });

  it('overhead: a known idle gap gives the expected overhead; a known CPU per task its share of the compute', () => {
    // Three tasks of 100 ms, 1 ms then 3 ms idle between them: 4 ms waiting on the 200 ms of
    // compute they followed (none follows the last) is 2%.
    const f = gpuFigures([{ start: 0, end: 100 }, { start: 101, end: 201 }, { start: 204, end: 304 }], 300);
    assert.equal(f.gpuIdlePct, 2);
    assert.deepEqual(f.gapMs, { p50: 3, p99: 3, total: 4 });
    assert.deepEqual(f.computeMs, { p50: 100, total: 300 });
    // The same tasks run locally in 300 ms, 304 ms through the network: 1.33% slower.
    assert.equal(f.networkMs, 304);
    assert.equal(f.slowdownPct, 1.33);
    // 3 ms of the worker's CPU for each of 10 tasks whose compute took 600 ms: 5%.
    assert.equal(shareOfCompute(3, 10, 600), 5);
  });

  it("GPU share: compute over the longest of compute, the link's transfer and the round trips shared by the pipeline", () => {
    const link = { mbitPerS: 100, rttMs: 30 };
    // 12.5 MB take 1 s at 100 Mbit/s: a 100 ms task with 12.5 MB up computes 10% of the time.
    assert.equal(gpuShare({ computeMs: 100, downBytes: 0, upBytes: 12_500_000 }, link), 0.1);
    // Tiny bytes: two round trips (60 ms) over two tasks in flight are 30 ms a task; 15 ms of compute is half.
    assert.equal(gpuShare({ computeMs: 15, downBytes: 0, upBytes: 0 }, link), 0.5);
    // Compute past both: the GPU never waits.
    assert.equal(gpuShare({ computeMs: 1000, downBytes: 125_000, upBytes: 125_000 }, link), 1);
    const f = gpuShareFigures();
    assert.equal(f.figures.length, 3);
    // More samples a task, more of the time computing.
    assert.ok(f.figures[1]!.gpuSharePct > f.figures[0]!.gpuSharePct);
  });

  it('GPU share of render: results as raw f16, 6 bytes a pixel; the figures follow from samples/s = 2·10¹³ / FLOP a sample', () => {
    const f = gpuShareFigures();
    assert.equal(f.resultBytesPerPixel, 6);
    const [planned, most] = f.figures;
    // The example's 128×192 tile: 24,576 pixels up as 147,456 bytes.
    assert.equal(planned!.upBytes, 6 * 128 * 192);
    assert.equal(most!.upBytes, 6 * 128 * 192);
    assert.equal(f.samplesPerSecond, 2e13 / f.flopsPerSample);
    // 4,096 samples a pixel of that tile: pixels × samples / samples a second.
    assert.ok(Math.abs(most!.computeMs - (1000 * 128 * 192 * 4096) / f.samplesPerSecond) < 1e-9);
    // The round trips bind, not the link: (60 ms + the transfers) over the 2 tasks in flight.
    const period = (60 + ((most!.downBytes + most!.upBytes) * 8) / 100_000) / 2;
    assert.equal(most!.gpuSharePct, Math.round((10_000 * most!.computeMs) / period) / 100);
    assert.ok(most!.gpuSharePct < 95, 'not met at the most samples a job may have');
    // The least samples for 95%, and the least pixels at 4,096 samples: one fewer falls short.
    const share = (computeMs: number, upBytes: number): number => computeMs / Math.max(computeMs, (upBytes * 8) / 100_000, (60 + ((most!.downBytes + upBytes) * 8) / 100_000) / 2);
    const perSample = most!.computeMs / 4096;
    assert.ok(share(perSample * f.renderSamplesFor95, most!.upBytes) >= 0.95);
    assert.ok(share(perSample * (f.renderSamplesFor95 - 1), most!.upBytes) < 0.95);
    const perPixel = most!.computeMs / (128 * 192);
    const p = f.renderPixelsFor95AtMostSamples;
    assert.ok(share(perPixel * p, 6 * p) >= 0.95);
    assert.ok(share(perPixel * (p - 1), 6 * (p - 1)) < 0.95);
  });
});
