/**
 * The `hashsearch` kind: every nonce of a range whose SHA-256(header ‖ u64le(nonce)) is at most a
 * target, and the lowest hash (kernels/hashsearch). The hub rehashes what a result claims, but a
 * nonce left out shows only when a second worker's answer differs: results are replicated. Paid
 * per hash. A demo job is one task of 2¹⁷..2¹⁹ nonces (about 0.2–1 s on a software GPU) over a
 * random header, with a target that about four nonces of the range meet.
 */
import { runHashsearch } from '../kernels/hashsearch/dispatch.js';
import { hashsearchWorkUnits, type HashsearchResult, type HashsearchSpec } from '../kernels/hashsearch/reference.js';
import { verifyHashsearch } from '../kernels/hashsearch/verify.js';
import { HASHSEARCH_MAX_NONCES, hashsearchWire, type HashsearchOutput as HashsearchWireOutput } from '../protocol/index.js';
import { MHASH, type JobKindSpec } from './types.js';

/** Nonces of a demo hashsearch job: 2^17 .. 2^19. */
export const FEEDER_MIN_NONCES = 2 ** 17;
export const FEEDER_MAX_NONCES = 2 ** 19;

export interface HashsearchTask {
  kind: 'hashsearch';
  spec: HashsearchSpec;
}

export interface HashsearchOutput {
  kind: 'hashsearch';
  result: HashsearchResult;
}

export function encodeHashsearchOutput(result: HashsearchResult): HashsearchWireOutput {
  return { nonces: result.nonces.map(String), best: { nonce: String(result.best.nonce), hash: result.best.hash } };
}

/** A parsed output as typed values, hashes in lowercase. */
export function decodeHashsearchOutput(output: HashsearchWireOutput): HashsearchResult {
  return { nonces: output.nonces.map((n) => BigInt(n)), best: { nonce: BigInt(output.best.nonce), hash: output.best.hash.toLowerCase() } };
}

export const hashsearchSpec: JobKindSpec<'hashsearch', HashsearchTask, HashsearchOutput, { count: number }> = {
  kind: 'hashsearch',
  wire: hashsearchWire,
  decode(task) {
    const { header, target, start, count } = task.params;
    return { kind: 'hashsearch', spec: { header, target: target.toLowerCase(), start: BigInt(start), count } };
  },
  async run(gpu, task, options) {
    return { kind: 'hashsearch', result: await runHashsearch(gpu, task.spec, options) };
  },
  encodeOutput: (output) => encodeHashsearchOutput(output.result),
  rawResultField: null,
  verify: (task, output) => verifyHashsearch(task.spec, output.result),
  workUnits: (params) => hashsearchWorkUnits(params),
  paidBy: 'rewardPerMhash',
  reward: (units, rate) => (units * rate) / MHASH,
  speedScore: 'mhs',
  replicated: true,
  // Its most nonces as decimal strings, quoted, with commas.
  maxResultBytes: () => HASHSEARCH_MAX_NONCES * 24,
  demo: {
    backlog: 1,
    make(random) {
      const bits = Math.log2(FEEDER_MIN_NONCES) + Math.floor(random() * (Math.log2(FEEDER_MAX_NONCES / FEEDER_MIN_NONCES) + 1));
      const count = 2 ** bits;
      const hex = (bytes: number): string => Array.from({ length: bytes }, () => Math.floor(random() * 256).toString(16).padStart(2, '0')).join('');
      // (target + 1) / 2^256 = 4 / count: the top (bits - 2) bits are zero, the rest ones.
      const target = ((1n << BigInt(256 - (bits - 2))) - 1n).toString(16).padStart(64, '0');
      const start = BigInt(Math.floor(random() * 2 ** 32)) * 2n ** 16n;
      return { kind: 'hashsearch', header: hex(32 + Math.floor(random() * 48)), target, start: start.toString(), count };
    },
    fields: (job) => ({ count: job.count }),
    describe: ({ count }) => `hashsearch over ${count} nonces`,
    maxPrice: (rates) => hashsearchSpec.reward(BigInt(FEEDER_MAX_NONCES), rates.rewardPerMhash),
  },
};
