export { hashNonce, hashsearchReference, hashsearchWorkUnits, type HashsearchResult, type HashsearchSpec } from './reference.js';
export { verifyHashsearch, sameHashsearchResult } from './verify.js';
export { sha256, hexToBytes, bytesToHex, SHA256_K, SHA256_INIT } from './sha256.js';
