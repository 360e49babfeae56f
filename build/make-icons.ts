/**
 * Writes the app icon and the tray images (see build/icons.ts for the drawing):
 *
 *   node --import tsx build/make-icons.ts
 *
 * build/icon.png (1024 px), build/icon.ico (16–256 px), build/icon.icns (16–1024 px), and
 * assets/tray/*.png. The outputs are committed; build/icons.test.ts checks they are this
 * script's output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { APP_ICON_SIZE, appIconLayers, ICO_SIZES, render, supersampling, trayFiles, trayLayers } from './icons.js';
import { encodePng } from '../lib/png.js';
import { encodeIco, encodeIcns, ICNS_TYPES } from './image-formats.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every generated file: path relative to the project root → bytes. */
export function generateIcons(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const app = new Map<number, Buffer>();
  const appPng = (size: number): Buffer => {
    let png = app.get(size);
    if (!png) {
      png = encodePng(render(appIconLayers(), size, supersampling(size)));
      app.set(size, png);
    }
    return png;
  };
  files.set('build/icon.png', appPng(APP_ICON_SIZE));
  files.set('build/icon.ico', encodeIco(ICO_SIZES.map(appPng)));
  files.set('build/icon.icns', encodeIcns(ICNS_TYPES.map(({ type, pixels }) => ({ type, png: appPng(pixels) }))));
  for (const t of trayFiles()) files.set(t.file, encodePng(render(trayLayers(t.state, t.template), t.size, supersampling(t.size))));
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [file, bytes] of generateIcons()) {
    const path = join(ROOT, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    console.log(`${file}  ${bytes.length} bytes`);
  }
}
