/**
 * What the hub can check of a hashsearch result by itself: every claimed nonce is in range,
 * listed once, ascending, and really hashes at or under the target; `best` is in range, its
 * hash is right, and no claimed nonce beats it. That nothing was left out (and that `best` is the
 * true minimum) only replication can tell: two workers' answers must agree.
 */
import type { Verdict } from '../types.js';
import { hashNonce, type HashsearchResult, type HashsearchSpec } from './reference.js';
import { hexToBytes } from './sha256.js';

export function verifyHashsearch(spec: HashsearchSpec, result: HashsearchResult): Verdict {
  const header = hexToBytes(spec.header);
  const target = spec.target.toLowerCase();
  const end = spec.start + BigInt(spec.count); // exclusive
  const inRange = (n: bigint): boolean => n >= spec.start && n < end;
  let previous: bigint | null = null;
  let lowest: string | null = null;
  for (const nonce of result.nonces) {
    if (!inRange(nonce)) return { ok: false, reason: `nonce ${nonce} is outside the task's range` };
    if (previous !== null && nonce <= previous) return { ok: false, reason: 'nonces must be listed once each, in ascending order' };
    previous = nonce;
    const hash = hashNonce(header, nonce);
    if (hash > target) return { ok: false, reason: `nonce ${nonce} hashes to ${hash}, above the target` };
    if (lowest === null || hash < lowest) lowest = hash;
  }
  const { nonce, hash } = result.best;
  if (!inRange(nonce)) return { ok: false, reason: `best nonce ${nonce} is outside the task's range` };
  const actual = hashNonce(header, nonce);
  if (actual !== hash.toLowerCase()) return { ok: false, reason: `best nonce ${nonce} hashes to ${actual}, not ${hash}` };
  if (lowest !== null && lowest < actual) return { ok: false, reason: 'a listed nonce has a lower hash than best' };
  if (actual <= target && !result.nonces.includes(nonce)) return { ok: false, reason: 'best is under the target but missing from nonces' };
  return { ok: true };
}

/** Replicas agree when they report the same nonces and the same best. */
export function sameHashsearchResult(x: HashsearchResult, y: HashsearchResult): boolean {
  return (
    x.best.nonce === y.best.nonce &&
    x.best.hash.toLowerCase() === y.best.hash.toLowerCase() &&
    x.nonces.length === y.nonces.length &&
    x.nonces.every((n, i) => n === y.nonces[i])
  );
}
