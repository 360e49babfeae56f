/** `idleforge bench kernels`: what its figures mean on known inputs (nothing here is timed). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../lib/cli.js';
import { msamplesPerSecond } from '../kernels/render/index.js';
import { checkProduct, gflops, parseSize, renderGflops } from './kernels.js';

describe('idleforge bench kernels: figures', () => {
  it('GFLOP/s counts 2·m·n·k operations per product over its time', () => {
    // 1000³: 2·10⁹ operations in 2 ms.
    assert.equal(gflops({ m: 1000, n: 1000, k: 1000 }, 2), 1000);
    // 300×200×250: 3·10⁷ operations in 1 ms.
    assert.equal(gflops({ m: 300, n: 200, k: 250 }, 1), 30);
  });

  it('render: Msamples/s counts pixel-samples over time; GFLOP/s-equivalent weighs them by the scene\'s FLOP per sample', () => {
    // A 64×64 tile at 8 samples a pixel: 32768 samples in 0.5 s.
    assert.equal(msamplesPerSecond(64 * 64 * 8, 500), 0.065536);
    // 0.5 Msamples/s of a scene costing 2000 FLOP a sample: 10⁹ FLOP/s.
    assert.equal(renderGflops(0.5, 2000), 1);
  });

  it('reads a size as N (N×N×N) or MxNxK, and refuses others as usage errors', () => {
    assert.deepEqual(parseSize('512'), { m: 512, n: 512, k: 512 });
    assert.deepEqual(parseSize('300X200x250'), { m: 300, n: 200, k: 250 });
    assert.throws(() => parseSize('3x4'), UsageError);
    assert.throws(() => parseSize('0'), UsageError);
  });

  it('passes a right product and names a wrong one (Freivalds up to 1024 per side, sampled elements beyond)', () => {
    // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]].
    const dims = { m: 2, n: 2, k: 2 };
    const a = Float32Array.of(1, 2, 3, 4);
    const b = Float32Array.of(5, 6, 7, 8);
    assert.equal(checkProduct(dims, a, b, Float32Array.of(19, 22, 43, 50)), 'ok (Freivalds)');
    assert.match(checkProduct(dims, a, b, Float32Array.of(19, 22, 43, 51)), /^WRONG/);
    assert.equal(checkProduct(dims, a, b, Float32Array.of(19, 22, 43)), 'wrong length 3');
    // A 1025×1 column times 1×1 [3]: too tall for Freivalds, so 256 sampled elements.
    const tall = { m: 1025, n: 1, k: 1 };
    const column = Float32Array.from({ length: 1025 }, (_, i) => i / 8);
    assert.equal(checkProduct(tall, column, Float32Array.of(3), column.map((x) => 3 * x)), 'ok (256 elements)');
    assert.match(checkProduct(tall, column, Float32Array.of(3), column.map((x) => 3 * x + 1)), /^WRONG: element \(\d+, 0\)/);
  });
});
