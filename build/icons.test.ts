/**
 * The committed icons and tray images are the generator's output (pixel for pixel, whatever the
 * zlib), at the sizes each platform wants; template images are black with alpha only.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { APP_ICON_SIZE, ICO_SIZES, TRAY_STATES, trayFiles } from './icons.js';
import { decodePng, pngSize } from '../lib/png.js';
import { ICNS_TYPES, readIcns, readIco } from './image-formats.js';
import { generateIcons } from './make-icons.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const generated = generateIcons();
const committed = (file: string): Buffer => readFileSync(join(ROOT, file));

function samePixels(a: Uint8Array, b: Uint8Array, what: string): void {
  const pa = decodePng(a);
  const pb = decodePng(b);
  assert.deepEqual([pa.width, pa.height], [pb.width, pb.height], `${what}: size`);
  assert.ok(Buffer.from(pa.data).equals(Buffer.from(pb.data)), `${what}: pixels differ from the generator's; run node --import tsx build/make-icons.ts`);
}

test('every committed PNG is the generator’s output', () => {
  const pngs = [...generated.keys()].filter((f) => f.endsWith('.png'));
  assert.equal(pngs.length, 1 + TRAY_STATES.length * 4);
  for (const file of pngs) samePixels(committed(file), generated.get(file)!, file);
});

test('build/icon.png is 1024 px; icon.ico holds 16–256 px; icon.icns 16–1024 px', () => {
  assert.deepEqual(pngSize(committed('build/icon.png')), { width: APP_ICON_SIZE, height: APP_ICON_SIZE });
  const ico = readIco(committed('build/icon.ico'));
  assert.deepEqual(
    ico.map((e) => e.width),
    [...ICO_SIZES],
  );
  const fresh = readIco(generated.get('build/icon.ico')!);
  ico.forEach((e, i) => {
    assert.deepEqual(pngSize(e.png), { width: e.width, height: e.height });
    samePixels(e.png, fresh[i]!.png, `icon.ico ${e.width}px`);
  });
  const icns = readIcns(committed('build/icon.icns'));
  assert.deepEqual(
    icns.map((e) => [e.type, pngSize(e.png).width]),
    ICNS_TYPES.map((t) => [t.type, t.pixels]),
  );
  const freshIcns = readIcns(generated.get('build/icon.icns')!);
  icns.forEach((e, i) => samePixels(e.png, freshIcns[i]!.png, `icon.icns ${e.type}`));
});

test('tray images: 16 and 32 px per state; templates are black with alpha; states differ', () => {
  for (const t of trayFiles()) {
    const img = decodePng(committed(t.file));
    assert.equal(img.width, t.size, t.file);
    let opaque = 0;
    for (let i = 0; i < img.data.length; i += 4) {
      if (t.template) assert.deepEqual([img.data[i], img.data[i + 1], img.data[i + 2]], [0, 0, 0], `${t.file} is not black-only`);
      if (img.data[i + 3]! > 0) opaque++;
    }
    assert.ok(opaque > t.size * t.size * 0.15 && opaque < t.size * t.size * 0.9, `${t.file}: a mark, not an empty or full square`);
  }
  for (const suffix of ['-16.png', 'Template@2x.png']) {
    const images = TRAY_STATES.map((s) => Buffer.from(decodePng(committed(`assets/tray/${s}${suffix}`)).data));
    for (let i = 0; i < images.length; i++) {
      for (let j = i + 1; j < images.length; j++) assert.ok(!images[i]!.equals(images[j]!), `${TRAY_STATES[i]} and ${TRAY_STATES[j]}${suffix} look the same`);
    }
  }
});
