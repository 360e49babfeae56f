/**
 * PNG in plain Node (8-bit RGB or RGBA, zlib from node:zlib, rows unfiltered, not interlaced):
 * the one writer the hub's pictures (`encodeRgbPng`) and the app's icons (`encodePng`, RGBA) both
 * use, and a reader for what it writes, so tests compare pixels, not zlib's bytes (any viewer
 * reads the files themselves).
 */
import { deflateSync, inflateSync } from 'node:zlib';

/** An RGBA image, 8 bits per channel, straight (not premultiplied) alpha, rows top to bottom. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC-32 of PNG chunks (and zip, gzip): polynomial 0xEDB88320. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** The two pixel layouts read and written here: PNG colour type and bytes per pixel. */
const FORMATS = {
  RGB: { colourType: 2, channels: 3 },
  RGBA: { colourType: 6, channels: 4 },
} as const;
type Format = keyof typeof FORMATS;

/** Pixels of `format`, rows top to bottom, as a PNG file; `level` is zlib's (default: its own). */
function encode(format: Format, width: number, height: number, pixels: Uint8Array, level?: number): Buffer {
  const { colourType, channels } = FORMATS[format];
  const stride = channels * width;
  if (pixels.length !== stride * height) throw new RangeError(`${width}×${height} ${format} needs ${stride * height} bytes, got ${pixels.length}`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colourType;
  // compression, filter method, interlace: 0
  const raw = Buffer.alloc((stride + 1) * height); // each row's filter byte stays 0: none (keeps the reader trivial)
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const idat = level === undefined ? deflateSync(raw) : deflateSync(raw, { level });
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

/** Reads a PNG of `format` as `encode` writes it (8-bit, unfiltered rows, not interlaced); throws on anything else. */
function decode(format: Format, png: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  const { colourType, channels } = FORMATS[format];
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (offset < buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    const body = buf.subarray(offset + 8, offset + 8 + length);
    if (crc32(buf.subarray(offset + 4, offset + 8 + length)) !== buf.readUInt32BE(offset + 8 + length)) throw new Error(`bad CRC in ${type}`);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      if (body[8] !== 8 || body[9] !== colourType || body[12] !== 0) throw new Error(`only 8-bit ${format}, non-interlaced PNGs are read here`);
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = channels * width;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    if (raw[y * (stride + 1)] !== 0) throw new Error('only unfiltered rows are read here');
    pixels.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, pixels };
}

/** 8-bit RGB pixels, rows top to bottom, as a PNG file (zlib's default level: the hub writes these per request). */
export function encodeRgbPng(width: number, height: number, rgb: Uint8Array): Buffer {
  return encode('RGB', width, height, rgb);
}

/** Reads a PNG written by encodeRgbPng; throws on anything else. */
export function decodeRgbPng(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const { width, height, pixels } = decode('RGB', png);
  return { width, height, rgb: pixels };
}

/** An RGBA image as a PNG file, at zlib's smallest (level 9: icons are written once and shipped). */
export function encodePng(image: Rgba): Buffer {
  return encode('RGBA', image.width, image.height, image.data, 9);
}

/** Reads a PNG written by encodePng (RGBA 8-bit, unfiltered rows); throws on anything else. */
export function decodePng(png: Uint8Array): Rgba {
  const { width, height, pixels } = decode('RGBA', png);
  return { width, height, data: pixels };
}

/** Width and height from a PNG's header. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const buf = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}
