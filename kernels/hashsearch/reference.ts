/**
 * CPU reference for hashsearch, and the hash of one nonce. Nonces are bigint (64-bit).
 */
import { bytesToHex, hexToBytes, sha256 } from './sha256.js';

export interface HashsearchSpec {
  /** Header bytes, hex. */
  header: string;
  /** 256-bit target, hex, big-endian. */
  target: string;
  start: bigint;
  count: number;
}

export interface HashsearchResult {
  /** Every nonce whose hash ≤ target, ascending. */
  nonces: bigint[];
  /** The nonce with the lowest hash in the range (the first one on a tie). */
  best: { nonce: bigint; hash: string };
}

/** SHA-256(header ‖ u64le(nonce)), hex. */
export function hashNonce(header: Uint8Array, nonce: bigint): string {
  const message = new Uint8Array(header.length + 8);
  message.set(header);
  new DataView(message.buffer).setBigUint64(header.length, nonce, true);
  return bytesToHex(sha256(message));
}

/** The paid work of a hashsearch: one hash per nonce. */
export const hashsearchWorkUnits = ({ count }: Pick<HashsearchSpec, 'count'>): bigint => BigInt(count);

export function hashsearchReference(spec: HashsearchSpec): HashsearchResult {
  const header = hexToBytes(spec.header);
  const target = spec.target.toLowerCase();
  const nonces: bigint[] = [];
  let best: { nonce: bigint; hash: string } | null = null;
  for (let i = 0; i < spec.count; i++) {
    const nonce = spec.start + BigInt(i);
    const hash = hashNonce(header, nonce);
    // Equal-length lowercase hex compares like the 256-bit numbers it spells.
    if (hash <= target) nonces.push(nonce);
    if (best === null || hash < best.hash) best = { nonce, hash };
  }
  if (best === null) throw new RangeError('count must be at least 1');
  return { nonces, best };
}
