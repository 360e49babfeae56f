/**
 * What the hub can check of a hashsearch result by itself: every claimed nonce is in range,
 * listed once, ascending, and really hashes at or under the target; `best` is in range, its
 * hash is right, and no claimed nonce beats it; and `best` is low enough to prove most of the
 * range was searched (`bestBound`). That nothing was left out (and that `best` is the true
 * minimum) only replication, or the hub's own search of part of the range, can tell.
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
  const bound = bestBound(spec.count);
  if (BigInt(`0x${actual}`) > bound) {
    return { ok: false, reason: `best hash ${actual} is too high for a search of ${spec.count} nonces (an honest search finds one under ${bound.toString(16).padStart(64, '0')} but for a chance of 1 in ${Math.round(Math.exp(BEST_BOUND_T)).toLocaleString('en-US')})` };
  }
  return { ok: true };
}

/**
 * How far above the expected lowest hash a claimed best may lie. SHA-256 outputs behave as
 * uniform on [0, 2²⁵⁶), so the lowest of n of them lies above t·2²⁵⁶/n with probability
 * (1 − t/n)ⁿ ≤ e^(−t): with t = 21, an honest search is refused about once in 1.3·10⁹.
 *
 * What it proves, and what it does not: a cheater who hashes only a share 1/s of the range
 * finds a best under the bound with probability 1 − e^(−t/s), so it still passes with about 63%
 * having done 1/t ≈ 5% of the work. The bound makes a made-up result (one hash, not 2²⁰) fail at
 * once; what catches a partial search is a second worker's answer or the hub's own recheck of a
 * random part of the range (see hub/trust.ts and docs/DESIGN.md for the cheater's expected gain).
 */
export const BEST_BOUND_T = 21;

/** The highest best hash accepted for a search of `count` nonces: ⌊t·2²⁵⁶/count⌋, capped at 2²⁵⁶ − 1. */
export function bestBound(count: number): bigint {
  const max = (1n << 256n) - 1n;
  const bound = (BigInt(BEST_BOUND_T) << 256n) / BigInt(count);
  return bound > max ? max : bound;
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
