/**
 * Binary arrays on the wire: base64 of little-endian values. The same code runs in Node, in the
 * compute page and in the dashboard: it uses the runtime's native codec where there is one
 * (Node's Buffer; Uint8Array.fromBase64 in recent browsers), about 20× faster on the megabytes of
 * a matmul task, and pure TypeScript elsewhere. Decoding is strict either way.
 */
import { isBase64Text } from './common.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

interface NativeCodec {
  encode(bytes: Uint8Array): string;
  /** Lenient decoders: the caller checks the length against the text's. */
  decode(text: string): Uint8Array;
}

const NATIVE: NativeCodec | null = (() => {
  type NodeBuffer = Uint8Array & { toString(encoding: 'base64'): string };
  const buffer = (globalThis as { Buffer?: { from(text: string, encoding: 'base64'): NodeBuffer; from(data: ArrayBufferLike, offset: number, length: number): NodeBuffer } }).Buffer;
  if (buffer) {
    return {
      // A view of the same memory, no copy.
      encode: (bytes) => buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
      decode: (text) => buffer.from(text, 'base64'),
    };
  }
  const u8 = Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array; prototype: { toBase64?: () => string } };
  if (typeof u8.fromBase64 === 'function' && typeof u8.prototype.toBase64 === 'function') {
    const fromBase64 = u8.fromBase64;
    return {
      encode: (bytes) => (bytes as unknown as { toBase64(): string }).toBase64(),
      decode: (text) => fromBase64(text),
    };
  }
  return null;
})();

export function bytesToBase64(bytes: Uint8Array): string {
  return NATIVE ? NATIVE.encode(bytes) : bytesToBase64Js(bytes);
}

export function base64ToBytes(text: string): Uint8Array {
  return decode(text, NATIVE);
}

/** The pure-TypeScript codec that runtimes without a native one use (exported so tests cover it). */
export const portableBase64 = { encode: bytesToBase64Js, decode: (text: string): Uint8Array => decode(text, null) };

function bytesToBase64Js(bytes: Uint8Array): string {
  const parts: string[] = [];
  const CHUNK = 3 * 4096;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(bytes.length, start + CHUNK);
    let out = '';
    let i = start;
    for (; i + 2 < end; i += 3) {
      const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
      out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
    }
    const rest = end - i;
    if (rest === 1) {
      const n = bytes[i]! << 16;
      out += `${ALPHABET[(n >> 18) & 63]!}${ALPHABET[(n >> 12) & 63]!}==`;
    } else if (rest === 2) {
      const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
      out += `${ALPHABET[(n >> 18) & 63]!}${ALPHABET[(n >> 12) & 63]!}${ALPHABET[(n >> 6) & 63]!}=`;
    }
    parts.push(out);
  }
  return parts.join('');
}

/** Strict whatever the codec: whole quads of the alphabet, '=' padding at the end only. */
function decode(text: string, native: NativeCodec | null): Uint8Array {
  if (text.length % 4 !== 0) throw new TypeError('base64 length must be a multiple of 4');
  if (!isBase64Text(text)) throw new TypeError('invalid base64 text');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const length = (text.length / 4) * 3 - pad;
  if (native) {
    const out = native.decode(text);
    if (out.length !== length) throw new TypeError('invalid base64 text');
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  const out = new Uint8Array(length);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const c0 = sextet(text, i);
    const c1 = sextet(text, i + 1);
    const c2 = text[i + 2] === '=' ? 0 : sextet(text, i + 2);
    const c3 = text[i + 3] === '=' ? 0 : sextet(text, i + 3);
    const n = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3;
    out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

function sextet(text: string, i: number): number {
  const code = text.charCodeAt(i);
  const v = code < 128 ? DECODE[code]! : -1;
  if (v < 0) throw new TypeError(`invalid base64 character at ${i}`);
  return v;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** f32 array → little-endian bytes → base64. */
export function f32ToBase64(values: Float32Array): string {
  if (!LITTLE_ENDIAN) throw new Error('big-endian hosts are not supported');
  return bytesToBase64(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** base64 → f32 array; throws when the byte length is not a whole number of f32s. */
export function base64ToF32(text: string): Float32Array {
  return bytesToF32(base64ToBytes(text));
}

/**
 * Little-endian bytes → f32 array: a view of the same memory when it is 4-byte aligned, else a
 * copy. Throws when the length is not a whole number of f32s.
 */
export function bytesToF32(bytes: Uint8Array): Float32Array {
  if (!LITTLE_ENDIAN) throw new Error('big-endian hosts are not supported');
  if (bytes.byteLength % 4 !== 0) throw new TypeError('f32 data must be a multiple of 4 bytes');
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

/** The bytes of an f32 array (a view of the same memory). */
export function f32ToBytes(values: Float32Array): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('big-endian hosts are not supported');
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** f32 data in either of its forms (base64 text in JSON, raw bytes in a binary body) as an f32 array. */
export function toF32(data: string | Uint8Array): Float32Array {
  return typeof data === 'string' ? base64ToF32(data) : bytesToF32(data);
}

/**
 * IEEE 754 half floats (f16, binary16: OpenEXR's `half`): 1 sign bit, 5 exponent bits, 10 of
 * mantissa. Normal values from 2⁻¹⁴ to F16_MAX hold 11 significant bits, so rounding an f32 to the
 * nearest f16 moves it by at most 2⁻¹¹ of itself; below 2⁻¹⁴ (subnormals, steps of 2⁻²⁴) by at
 * most 2⁻²⁵. Values past F16_MAX (from 65520 on) round to infinity; NaN stays NaN.
 */
export const F16_MAX = 65504;

const F32_SCRATCH = new Float32Array(1);
const F32_BITS = new Uint32Array(F32_SCRATCH.buffer);

/** The f16 nearest `x` (ties to even), as its 16 bits. */
export function f16Bits(x: number): number {
  F32_SCRATCH[0] = x;
  const bits = F32_BITS[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  // The f16 exponent field this value would have.
  const e = exponent - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal (or zero): the significand, implicit bit included, in units of 2⁻²⁴.
    if (e < -10) return sign;
    const shift = 14 - e;
    const significand = mantissa | 0x800000;
    const rest = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    const m = significand >>> shift;
    return sign | (rest > halfway || (rest === halfway && (m & 1) === 1) ? m + 1 : m);
  }
  const h = sign | (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa moves to the next exponent (to infinity past F16_MAX), as it should.
  return rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h;
}

/** The value of the f16 with these 16 bits. */
export function f16Value(h: number): number {
  const magnitude = h & 0x7fff;
  const exponent = magnitude >>> 10;
  const mantissa = magnitude & 0x3ff;
  const v = exponent === 0 ? mantissa * 2 ** -24 : exponent === 0x1f ? (mantissa === 0 ? Infinity : NaN) : (1024 + mantissa) * 2 ** (exponent - 25);
  return h & 0x8000 ? -v : v;
}

/** Every f16's value by its bits, made on first use (256 KiB). */
let f16Table: Float32Array | null = null;

/** f32 values → the nearest f16 of each, little-endian bytes (2 a value). */
export function f32ToF16(values: Float32Array): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('big-endian hosts are not supported');
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f16Bits(values[i]!);
  return new Uint8Array(out.buffer);
}

/** Little-endian f16 bytes → f32 values (exact: every f16 is an f32). Throws when the length is not a whole number of f16s. */
export function f16ToF32(bytes: Uint8Array): Float32Array {
  if (!LITTLE_ENDIAN) throw new Error('big-endian hosts are not supported');
  if (bytes.byteLength % 2 !== 0) throw new TypeError('f16 data must be a multiple of 2 bytes');
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  const halves = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  if (!f16Table) {
    f16Table = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) f16Table[h] = f16Value(h);
  }
  const table = f16Table;
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
  return out;
}

/** f16 data in either of its forms (base64 text in JSON, raw bytes in a binary body) as f32 values. */
export function f16DataToF32(data: string | Uint8Array): Float32Array {
  return f16ToF32(typeof data === 'string' ? base64ToBytes(data) : data);
}
