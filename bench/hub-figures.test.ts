/** `idleforge bench hub`: what its figures mean on known inputs (nothing here is timed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throughputFigures } from './hub-child.js';
import { shareOfCompute } from './hub.js';
import { gpuFigures } from './overhead.js';
import { carvedSamples, gpuShare, gpuShareFigures, type TaskCost } from './gpu-share.js';
import { LEASE_AHEAD, SUBMITS_IN_FLIGHT } from '../worker/engine/task-pipeline.js';

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

  it("GPU share: compute over the longest of compute, the link's transfer, and the lease's and the submission's round trips shared by those in flight", () => {
    const link = { mbitPerS: 100, rttMs: 30 };
    // 12.5 MB take 1 s at 100 Mbit/s: a 100 ms task with 12.5 MB up computes 10% of the time.
    assert.equal(gpuShare({ computeMs: 100, downBytes: 0, upBytes: 12_500_000, checkMs: 0 }, link), 0.1);
    // Tiny bytes: a submission's round trip (30 ms) over two in flight is 15 ms a task; 7.5 ms of compute is half.
    assert.equal(gpuShare({ computeMs: 7.5, downBytes: 0, upBytes: 0, checkMs: 0 }, link), 0.5);
    // One submission at a time: the whole 30 ms a task.
    assert.equal(gpuShare({ computeMs: 7.5, downBytes: 0, upBytes: 0, checkMs: 0 }, link, LEASE_AHEAD, 1), 0.25);
    // The hub's check is on the submission's round trip: 90 ms of it and 30 ms of round trip over 2 in flight are 60 ms a task.
    assert.equal(gpuShare({ computeMs: 30, downBytes: 0, upBytes: 0, checkMs: 90 }, link), 0.5);
    // Compute past all of them: the GPU never waits.
    assert.equal(gpuShare({ computeMs: 1000, downBytes: 125_000, upBytes: 125_000, checkMs: 100 }, link), 1);
  });

  it('GPU share of render: the tasks the hub gives a 20 TFLOP/s GPU, results as raw f16 (6 bytes a pixel) with their chunk sums, the check as measured', () => {
    // A check of 0.09 ms a sample (about this machine's, for CHECK_PIXELS pixels); and a check 100 times cheaper.
    const f = gpuShareFigures({ checkMsPerSample: 0.09 });
    const cheap = gpuShareFigures({ checkMsPerSample: 0.0009 });
    assert.equal(f.resultBytesPerPixel, 6);
    assert.equal(f.samplesPerSecond, 2e13 / f.flopsPerSample);
    assert.deepEqual([f.leaseAhead, f.submitsInFlight], [LEASE_AHEAD, SUBMITS_IN_FLIGHT]);
    const [newKey, example, tile, mm] = f.figures;
    assert.equal(f.figures.length, 4);
    // The example's 256×192 picture is one tile now; a new key gets the samples of 2³⁰ operations of it.
    assert.equal(newKey!.pixels, 256 * 192);
    assert.equal(newKey!.samples, Math.floor(2 ** 30 / (256 * 192 * f.flopsPerSample)));
    // The 20 TFLOP/s GPU's carve (a second of its work) takes every one of 4,096 samples, of the picture and of a full 362×362 tile.
    // Up: the tile as f16, the 8-byte mark, 160 opened pixels × 16 chunks × 12 bytes of chunk sums.
    assert.deepEqual([example!.pixels, example!.samples, example!.upBytes], [256 * 192, 4096, 6 * 256 * 192 + 8 + 160 * 16 * 12]);
    assert.deepEqual([tile!.pixels, tile!.samples], [362 * 362, 4096]);
    assert.equal(carvedSamples(362 * 362, 4096, 0.05e6), 1, 'a SwiftShader-class worker: one sample of the tile');
    assert.ok(Math.abs(example!.computeMs - (1000 * 256 * 192 * 4096) / f.samplesPerSecond) < 1e-9);
    assert.ok(Math.abs(example!.checkMs - 0.09 * 4096) < 1e-9);
    // The worker's time after the kernel, on the GPU's path: 208 bytes a pixel read back at 16 GB/s (its encoding is off the path on both hosts).
    assert.ok(Math.abs(tile!.hostMs! - (362 * 362 * 208) / 16e6) < 1e-9);
    // With it the compute term binds a full tile whose check is cheap: compute over compute + readback.
    assert.equal(cheap.figures[2]!.gpuSharePct, Math.round((10_000 * tile!.computeMs) / (tile!.computeMs + tile!.hostMs!)) / 100);
    // The submission binds: (30 ms + the upload + the check) over 2 in flight.
    const period = (30 + (example!.upBytes * 8) / 100_000 + example!.checkMs) / 2;
    assert.equal(example!.gpuSharePct, Math.round((10_000 * example!.computeMs) / period) / 100);
    // This check keeps render far under 95%; one 100 times cheaper lets a full tile's task reach it (not the example's smaller picture).
    assert.ok(tile!.gpuSharePct < 95);
    assert.ok(cheap.figures[2]!.gpuSharePct >= 95);
    assert.ok(cheap.figures[1]!.gpuSharePct < 95, 'a 49,152-pixel task is too short for its round trips, whatever the check');
    // The longest check that gives 95% on a full tile: at it, 95%; a millisecond more, less.
    const at = (checkMs: number): number => gpuShare({ ...tile!, checkMs }, { mbitPerS: 100, rttMs: 30 });
    assert.ok(at(f.renderCheckMsFor95) >= 0.9499);
    assert.ok(at(f.renderCheckMsFor95 + 1) < 0.95);
    // The pixels a 4,096-sample task needs for 95% with this check: one fewer falls short.
    const p = f.renderPixelsFor95AtMostSamples!;
    const tilePixels = tile!.pixels!;
    const task = (n: number): TaskCost => ({ computeMs: (tile!.computeMs * n) / tilePixels, downBytes: tile!.downBytes, upBytes: 6 * n + 8 + 160 * 16 * 12, checkMs: tile!.checkMs });
    assert.ok(gpuShare(task(p), { mbitPerS: 100, rttMs: 30 }) >= 0.95);
    assert.ok(gpuShare(task(p - 1), { mbitPerS: 100, rttMs: 30 }) < 0.95);
    assert.ok(mm!.gpuSharePct < 1, 'matmul: its bytes bind');
  });
});
