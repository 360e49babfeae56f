/** The PNG writer and reader the hub's pictures and the app's icons share. */
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { crc32, decodePng, decodeRgbPng, encodePng, encodeRgbPng, pngSize } from './png.js';

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);

describe('png', () => {
  it('computes the standard CRC-32', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  it('round-trips RGB and RGBA pixels, and reads the size from the header', () => {
    const rgb = bytes(5 * 3 * 3);
    const rgbPng = encodeRgbPng(5, 3, rgb);
    assert.deepEqual(decodeRgbPng(rgbPng), { width: 5, height: 3, rgb });
    assert.deepEqual(pngSize(rgbPng), { width: 5, height: 3 });
    const data = bytes(4 * 2 * 4);
    const rgbaPng = encodePng({ width: 4, height: 2, data });
    assert.deepEqual(decodePng(rgbaPng), { width: 4, height: 2, data });
    assert.deepEqual(pngSize(rgbaPng), { width: 4, height: 2 });
    // A view into a larger buffer reads the same.
    const padded = new Uint8Array(rgbaPng.length + 7);
    padded.set(rgbaPng, 3);
    assert.deepEqual(decodePng(padded.subarray(3, 3 + rgbaPng.length)), { width: 4, height: 2, data });
  });

  it('writes unfiltered rows after the signature and IHDR (8-bit, RGB colour type 2, RGBA 6)', () => {
    const png = encodeRgbPng(2, 1, bytes(6));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.toString('latin1', 12, 16), 'IHDR');
    assert.deepEqual([png[24], png[25], png[26], png[27], png[28]], [8, 2, 0, 0, 0]);
    assert.equal(encodePng({ width: 1, height: 1, data: bytes(4) })[25], 6);
    const idatLength = png.readUInt32BE(33);
    assert.equal(png.toString('latin1', 37, 41), 'IDAT');
    assert.deepEqual([...inflateSync(png.subarray(41, 41 + idatLength))], [0, ...bytes(6)]);
  });

  it('refuses pixels of the wrong size, another colour type, a broken chunk and what is not a PNG', () => {
    assert.throws(() => encodeRgbPng(2, 2, bytes(11)), /2×2 RGB needs 12 bytes, got 11/);
    assert.throws(() => encodePng({ width: 2, height: 2, data: bytes(12) }), /2×2 RGBA needs 16 bytes, got 12/);
    assert.throws(() => decodePng(encodeRgbPng(1, 1, bytes(3))), /only 8-bit RGBA, non-interlaced PNGs are read here/);
    assert.throws(() => decodeRgbPng(encodePng({ width: 1, height: 1, data: bytes(4) })), /only 8-bit RGB, non-interlaced PNGs are read here/);
    const broken = Buffer.from(encodeRgbPng(1, 1, bytes(3)));
    broken[20] = broken[20]! ^ 1;
    assert.throws(() => decodeRgbPng(broken), /bad CRC in IHDR/);
    assert.throws(() => decodeRgbPng(new Uint8Array(16)), /not a PNG/);
    assert.throws(() => pngSize(new Uint8Array(24)), /not a PNG/);
  });
});
