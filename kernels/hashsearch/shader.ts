/**
 * The hashsearch shader: SHA-256(header ‖ u64le(nonce)) for a range of 64-bit nonces, in u32
 * arithmetic. Sizes are defined here once and read by the WGSL text and by dispatch.ts.
 *
 * The host hashes the header's whole 64-byte blocks that come before the nonce on the CPU (the
 * midstate) and passes the rest of the padded message (the tail: one or two blocks) as a
 * template with the nonce bytes zeroed. The shader is generated for one nonce offset within the
 * tail (the header length mod 64), so where each nonce byte lands is a constant and the 64 rounds
 * are unrolled with constant indices only.
 *
 * Each invocation hashes NONCES_PER_INVOCATION consecutive nonces. A nonce whose hash is at or
 * under the target is appended to `found` (at most FOUND_CAPACITY; the counter keeps counting).
 * For `best`, each invocation keeps its lowest hash and offers it with one atomicMin on the first
 * word: when its first word is at or under the minimum seen so far it is appended to the
 * candidates. The true lowest hash is always among them (when it was offered, no smaller first
 * word had been seen); the host picks the lowest candidate, the lowest nonce on a tie.
 */
import { SHA256_K } from './sha256.js';

export const HASHSEARCH_WORKGROUP = 64;
export const NONCES_PER_INVOCATION = 16;
/** Nonces one workgroup covers: the unit of a dispatch. */
export const NONCES_PER_WORKGROUP = HASHSEARCH_WORKGROUP * NONCES_PER_INVOCATION;
/** Matching nonces the GPU keeps (the protocol allows 65536 per result). */
export const FOUND_CAPACITY = 65536;
/** Best-hash candidates kept (expected: a few dozen per task). */
export const CANDIDATE_CAPACITY = 4096;
/** u32 words per candidate: nonce lo, hi, then the 8 hash words. */
export const CANDIDATE_WORDS = 10;
/** Counters: matches, the lowest first hash word so far, candidates. */
export const COUNTERS = 4;
/** Bytes of the Params uniform block below. */
export const PARAMS_BYTES = 16 + 32 + 32 + 128;

const rotr = (x: string, n: number): string => `((${x} >> ${n}u) | (${x} << ${32 - n}u))`;

/** The compression function, unrolled, on named values; returns the WGSL statements. */
function compressBody(): string {
  const L: string[] = [];
  L.push(`  var w = block;`);
  L.push(`  var a = s[0]; var b = s[1]; var c = s[2]; var d = s[3]; var e = s[4]; var f = s[5]; var g = s[6]; var h = s[7];`);
  for (let t = 0; t < 64; t++) {
    if (t >= 16) {
      const x = `w[${(t - 15) % 16}]`;
      const y = `w[${(t - 2) % 16}]`;
      L.push(
        `  w[${t % 16}] = w[${t % 16}] + (${rotr(x, 7)} ^ ${rotr(x, 18)} ^ (${x} >> 3u)) + w[${(t - 7) % 16}] + (${rotr(y, 17)} ^ ${rotr(y, 19)} ^ (${y} >> 10u));`,
      );
    }
    L.push(
      `  { let t1 = h + (${rotr('e', 6)} ^ ${rotr('e', 11)} ^ ${rotr('e', 25)}) + ((e & f) ^ (~e & g)) + 0x${SHA256_K[t]!.toString(16)}u + w[${t % 16}];`,
      `    let t2 = (${rotr('a', 2)} ^ ${rotr('a', 13)} ^ ${rotr('a', 22)}) + ((a & b) ^ (a & c) ^ (b & c));`,
      `    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2; }`,
    );
  }
  L.push(`  return array<u32, 8>(s[0] + a, s[1] + b, s[2] + c, s[3] + d, s[4] + e, s[5] + f, s[6] + g, s[7] + h);`);
  return L.join('\n');
}

/** Lexicographic comparison of two 8-word hashes, unrolled. */
function compareBody(strict: boolean): string {
  const L: string[] = [];
  for (let i = 0; i < 8; i++) L.push(`  if (x[${i}] != y[${i}]) { return x[${i}] < y[${i}]; }`);
  L.push(`  return ${strict ? 'false' : 'true'};`);
  return L.join('\n');
}

/** Blocks of the padded tail for a nonce at byte `offset` (0–63) of the first tail block. */
export const tailBlocks = (offset: number): number => (offset + 8 + 9 <= 64 ? 1 : 2);

/** The message words of the tail, template ORed with the nonce bytes (lo, hi little-endian). */
function messageWords(offset: number): string[] {
  const words: string[] = [];
  const blocks = tailBlocks(offset);
  for (let i = 0; i < 16 * blocks; i++) {
    const terms = [`params.tail[${i >> 2}][${i & 3}]`];
    for (let j = 0; j < 8; j++) {
      const p = offset + j;
      if (p >> 2 !== i) continue;
      const source = j < 4 ? 'lo' : 'hi';
      const shift = 24 - 8 * (p & 3);
      terms.push(`(((${source} >> ${8 * (j & 3)}u) & 0xffu) << ${shift}u)`);
    }
    words.push(terms.join(' | '));
  }
  return words;
}

export function hashsearchWgsl(offset: number): string {
  if (!Number.isInteger(offset) || offset < 0 || offset > 63) throw new RangeError('the nonce offset is a byte of a 64-byte block');
  const blocks = tailBlocks(offset);
  const words = messageWords(offset);
  const blockArray = (b: number): string => `array<u32, 16>(\n      ${words.slice(16 * b, 16 * b + 16).join(',\n      ')})`;
  return `struct Params {
  startLo: u32, startHi: u32, count: u32, groupsX: u32,
  midstate: array<vec4u, 2>,
  goal: array<vec4u, 2>,
  tail: array<vec4u, 8>,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> counters: array<atomic<u32>, ${COUNTERS}>;
@group(0) @binding(2) var<storage, read_write> found: array<vec2u>;
@group(0) @binding(3) var<storage, read_write> candidates: array<u32>;

fn compress(s: array<u32, 8>, block: array<u32, 16>) -> array<u32, 8> {
${compressBody()}
}

fn lessThan(x: array<u32, 8>, y: array<u32, 8>) -> bool {
${compareBody(true)}
}

fn atMost(x: array<u32, 8>, y: array<u32, 8>) -> bool {
${compareBody(false)}
}

@compute @workgroup_size(${HASHSEARCH_WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let id = (wid.y * params.groupsX + wid.x) * ${HASHSEARCH_WORKGROUP}u + lid.x;
  let first = id * ${NONCES_PER_INVOCATION}u;
  if (first >= params.count) { return; }
  let mid = array<u32, 8>(params.midstate[0][0], params.midstate[0][1], params.midstate[0][2], params.midstate[0][3],
                          params.midstate[1][0], params.midstate[1][1], params.midstate[1][2], params.midstate[1][3]);
  let goal = array<u32, 8>(params.goal[0][0], params.goal[0][1], params.goal[0][2], params.goal[0][3],
                           params.goal[1][0], params.goal[1][1], params.goal[1][2], params.goal[1][3]);
  var best = array<u32, 8>(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);
  var bestLo = 0u;
  var bestHi = 0u;
  var have = false;
  for (var t = 0u; t < ${NONCES_PER_INVOCATION}u; t++) {
    let i = first + t;
    if (i >= params.count) { break; }
    let lo = params.startLo + i;
    let hi = params.startHi + select(0u, 1u, lo < params.startLo);
    var state = compress(mid, ${blockArray(0)});
${blocks === 2 ? `    state = compress(state, ${blockArray(1)});` : ''}
    if (atMost(state, goal)) {
      let slot = atomicAdd(&counters[0], 1u);
      if (slot < ${FOUND_CAPACITY}u) { found[slot] = vec2u(lo, hi); }
    }
    if (!have || lessThan(state, best)) {
      best = state;
      bestLo = lo;
      bestHi = hi;
      have = true;
    }
  }
  let seen = atomicMin(&counters[1], best[0]);
  if (best[0] <= seen) {
    let slot = atomicAdd(&counters[2], 1u);
    if (slot < ${CANDIDATE_CAPACITY}u) {
      let base = slot * ${CANDIDATE_WORDS}u;
      candidates[base] = bestLo;
      candidates[base + 1u] = bestHi;
${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `      candidates[base + ${i + 2}u] = best[${i}];`).join('\n')}
    }
  }
}
`;
}
