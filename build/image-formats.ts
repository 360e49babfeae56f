/**
 * Icon containers written in plain Node: ICO and ICNS, both holding PNG entries (as every Windows
 * since Vista and every macOS since 10.7 read them). The PNGs themselves come from lib/png.ts.
 */
import { pngSize } from '../lib/png.js';

/** A Windows .ico whose entries are PNGs (sizes up to 256). */
export function encodeIco(pngs: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(pngs.length, 4);
  const dir = Buffer.alloc(16 * pngs.length);
  let offset = 6 + dir.length;
  pngs.forEach((png, i) => {
    const { width, height } = pngSize(png);
    if (width > 256 || height > 256) throw new Error('ICO entries are at most 256 px');
    const e = i * 16;
    dir[e] = width === 256 ? 0 : width;
    dir[e + 1] = height === 256 ? 0 : height;
    dir[e + 2] = 0; // palette
    dir[e + 3] = 0;
    dir.writeUInt16LE(1, e + 4); // colour planes
    dir.writeUInt16LE(32, e + 6); // bits per pixel
    dir.writeUInt32LE(png.length, e + 8);
    dir.writeUInt32LE(offset, e + 12);
    offset += png.length;
  });
  return Buffer.concat([header, dir, ...pngs]);
}

export function readIco(ico: Uint8Array): { width: number; height: number; png: Buffer }[] {
  const buf = Buffer.from(ico);
  if (buf.readUInt16LE(0) !== 0 || buf.readUInt16LE(2) !== 1) throw new Error('not an icon file');
  const count = buf.readUInt16LE(4);
  return Array.from({ length: count }, (_, i) => {
    const e = 6 + i * 16;
    const png = buf.subarray(buf.readUInt32LE(e + 12), buf.readUInt32LE(e + 12) + buf.readUInt32LE(e + 8));
    return { width: buf[e] || 256, height: buf[e + 1] || 256, png };
  });
}

/** ICNS element types holding PNG data, by pixel size (Apple's "Icon Composer" names). */
export const ICNS_TYPES: readonly { type: string; pixels: number }[] = [
  { type: 'icp4', pixels: 16 },
  { type: 'icp5', pixels: 32 },
  { type: 'ic11', pixels: 32 }, // 16@2x
  { type: 'ic12', pixels: 64 }, // 32@2x
  { type: 'ic07', pixels: 128 },
  { type: 'ic08', pixels: 256 },
  { type: 'ic13', pixels: 256 }, // 128@2x
  { type: 'ic09', pixels: 512 },
  { type: 'ic14', pixels: 512 }, // 256@2x
  { type: 'ic10', pixels: 1024 }, // 512@2x
];

export function encodeIcns(entries: readonly { type: string; png: Buffer }[]): Buffer {
  const parts = entries.map(({ type, png }) => {
    const head = Buffer.alloc(8);
    head.write(type, 0, 'latin1');
    head.writeUInt32BE(png.length + 8, 4);
    return Buffer.concat([head, png]);
  });
  const head = Buffer.alloc(8);
  head.write('icns', 0, 'latin1');
  head.writeUInt32BE(8 + parts.reduce((n, p) => n + p.length, 0), 4);
  return Buffer.concat([head, ...parts]);
}

export function readIcns(icns: Uint8Array): { type: string; png: Buffer }[] {
  const buf = Buffer.from(icns);
  if (buf.toString('latin1', 0, 4) !== 'icns' || buf.readUInt32BE(4) !== buf.length) throw new Error('not an icns file');
  const out: { type: string; png: Buffer }[] = [];
  for (let offset = 8; offset < buf.length; ) {
    const length = buf.readUInt32BE(offset + 4);
    out.push({ type: buf.toString('latin1', offset, offset + 4), png: buf.subarray(offset + 8, offset + length) });
    offset += length;
  }
  return out;
}
