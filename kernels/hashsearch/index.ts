export { hashNonce, hashsearchReference, hashsearchWorkUnits, type HashsearchResult, type HashsearchSpec } from './reference.js';
export { verifyHashsearch, sameHashsearchResult, bestBound, BEST_BOUND_T } from './verify.js';
export { sha256, sha256Compress, sha256Pad, hexToBytes, bytesToHex, SHA256_K, SHA256_INIT } from './sha256.js';
export { runHashsearch, timeHashsearch, TIMING_HEADER, planHashsearch, hashsearchPipeline, INITIAL_SLICE_NONCES, MAX_SLICE_NONCES, type HashsearchPlan } from './dispatch.js';
export {
  hashsearchWgsl,
  tailBlocks,
  HASHSEARCH_WORKGROUP,
  NONCES_PER_INVOCATION,
  NONCES_PER_WORKGROUP,
  FOUND_CAPACITY,
  CANDIDATE_CAPACITY,
} from './shader.js';
