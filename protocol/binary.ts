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
