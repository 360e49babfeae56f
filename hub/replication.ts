/**
 * Judging hashsearch results, which the hub can only partly check by itself: every claimed nonce
 * and `best` are rehashed (kernels/hashsearch `verifyHashsearch`), but a nonce left out shows only
 * when a second worker's answer differs. Two answers that each pass the rehash and still differ
 * always prove at least one of them wrong: a nonce one lists and the other lacks is a real match
 * the other missed, and of two rehashed `best`s the higher one is not the lowest hash.
 *
 * Also: the hub's own answer for a small range (node:crypto, in slices that keep the event loop
 * free), used when no second worker comes in time.
 */
import { createHash } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { HashsearchOutput } from '../protocol/index.js';
import { hashsearch } from '../kernels/index.js';
import type { tasksStore } from './store/index.js';

export type HashsearchResult = hashsearch.HashsearchResult;
export type HashsearchSpec = hashsearch.HashsearchSpec;

export function specOf(jobSpec: { header: string; target: string }, task: Pick<tasksStore.TaskRow, 'id' | 'start' | 'count'>): HashsearchSpec {
  if (task.start === null || task.count === null) throw new Error(`hashsearch task ${task.id} has no range`);
  return { header: jobSpec.header.toLowerCase(), target: jobSpec.target.toLowerCase(), start: BigInt(task.start), count: task.count };
}

export function fromOutput(output: HashsearchOutput): HashsearchResult {
  return { nonces: output.nonces.map((n) => BigInt(n)), best: { nonce: BigInt(output.best.nonce), hash: output.best.hash.toLowerCase() } };
}

/** The stored form of a result: protocol JSON, hashes in lowercase. */
export function serialize(r: HashsearchResult): string {
  return JSON.stringify({ nonces: r.nonces.map(String), best: { nonce: String(r.best.nonce), hash: r.best.hash.toLowerCase() } });
}

export function deserialize(text: string): HashsearchResult {
  const o = JSON.parse(text) as HashsearchOutput;
  return fromOutput(o);
}

/**
 * Given two results that both passed `verifyHashsearch` for the same range, says which are
 * provably wrong and why (null: not proven wrong). At least one is, unless they agree.
 */
export function provablyWrong(x: HashsearchResult, y: HashsearchResult): { x: string | null; y: string | null } {
  if (hashsearch.sameHashsearchResult(x, y)) return { x: null, y: null };
  const xs = new Set(x.nonces);
  const ys = new Set(y.nonces);
  const missing = (have: Set<bigint>, other: bigint[]): bigint | undefined => other.find((n) => !have.has(n));
  const xMisses = missing(xs, y.nonces);
  const yMisses = missing(ys, x.nonces);
  const why = (n: bigint): string => `another worker found nonce ${n}, which hashes under the target, and this result leaves it out`;
  const out = { x: xMisses === undefined ? null : why(xMisses), y: yMisses === undefined ? null : why(yMisses) };
  if (out.x === null && out.y === null) {
    // Same nonces, different best: the higher hash (or, on a tie, the later nonce) is not the best.
    const xLoses = x.best.hash > y.best.hash || (x.best.hash === y.best.hash && x.best.nonce > y.best.nonce);
    const reason = (winner: HashsearchResult): string => `another worker found nonce ${winner.best.nonce}, whose hash is lower than this result's best`;
    if (xLoses) out.x = reason(y);
    else out.y = reason(x);
  }
  return out;
}

/**
 * The hub's own look at part of a range: it hashes `size` consecutive nonces from a random place
 * in it and says why the claim is wrong, or null. Every match there must be listed, and none may
 * hash lower than the claimed best; a result that passes the rehash can fail only by leaving
 * work out. When `size` covers the range, this is the whole search. `size` bounds its CPU.
 */
export function checkStretch(spec: HashsearchSpec, claim: HashsearchResult, size: number, random: () => number): string | null {
  const n = Math.min(size, spec.count);
  const offset = Math.floor(random() * (spec.count - n + 1));
  const header = Buffer.from(spec.header, 'hex');
  const message = Buffer.alloc(header.length + 8);
  header.copy(message);
  const target = spec.target.toLowerCase();
  const best = claim.best.hash.toLowerCase();
  const listed = new Set(claim.nonces);
  for (let i = 0; i < n; i++) {
    const nonce = spec.start + BigInt(offset + i);
    message.writeBigUInt64LE(nonce, header.length);
    const hash = createHash('sha256').update(message).digest('hex');
    if (hash <= target && !listed.has(nonce)) return `the hub's own search found nonce ${nonce}, which hashes under the target, and this result leaves it out`;
    if (hash < best) return `the hub's own search found nonce ${nonce}, whose hash is lower than this result's best`;
  }
  return null;
}

/** Nonces hashed per slice of the hub's own search before it lets other work run. */
const SELF_CHECK_SLICE = 4096;

/** The hub's own answer for a range, with node:crypto, yielding to the event loop between slices. */
export async function searchRange(spec: HashsearchSpec, signal?: AbortSignal): Promise<HashsearchResult> {
  const header = Buffer.from(spec.header, 'hex');
  const message = Buffer.alloc(header.length + 8);
  header.copy(message);
  const target = spec.target.toLowerCase();
  const nonces: bigint[] = [];
  let best: { nonce: bigint; hash: string } | null = null;
  for (let i = 0; i < spec.count; i++) {
    if (i % SELF_CHECK_SLICE === 0 && i > 0) {
      await yieldToLoop();
      signal?.throwIfAborted();
    }
    const nonce = spec.start + BigInt(i);
    message.writeBigUInt64LE(nonce, header.length);
    const hash = createHash('sha256').update(message).digest('hex');
    if (hash <= target) nonces.push(nonce);
    if (best === null || hash < best.hash) best = { nonce, hash };
  }
  if (best === null) throw new RangeError('count must be at least 1');
  return { nonces, best };
}
