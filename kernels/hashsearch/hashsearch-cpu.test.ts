import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { hashNonce, hashsearchReference, sameHashsearchResult, sha256, bytesToHex, verifyHashsearch } from './index.js';

describe('sha256', () => {
  it('matches node:crypto for lengths around every block boundary', () => {
    for (let len = 0; len < 200; len++) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 31 + 7) & 255);
      assert.equal(bytesToHex(sha256(bytes)), createHash('sha256').update(bytes).digest('hex'), `length ${len}`);
    }
  });
});

describe('hashsearch reference and verifier', () => {
  const header = 'deadbeef00112233';
  const spec = { header, target: '0'.repeat(2) + 'f'.repeat(62), start: 1000n, count: 3000 };

  it('finds exactly the nonces under the target (checked with node:crypto)', () => {
    const result = hashsearchReference(spec);
    const expected: bigint[] = [];
    for (let i = 0; i < spec.count; i++) {
      const x = spec.start + BigInt(i);
      const msg = Buffer.alloc(header.length / 2 + 8);
      Buffer.from(header, 'hex').copy(msg);
      msg.writeBigUInt64LE(x, header.length / 2);
      if (createHash('sha256').update(msg).digest('hex') <= spec.target) expected.push(x);
    }
    assert.deepEqual(result.nonces, expected);
    assert.ok(result.nonces.length > 0 && result.nonces.length < 40, `about 1 in 256 match: ${result.nonces.length}`);
    assert.deepEqual(verifyHashsearch(spec, result), { ok: true });
  });

  it('refuses forged, out-of-range, unordered and inconsistent answers', () => {
    const good = hashsearchReference(spec);
    const cases: Array<[string, typeof good]> = [
      ['a nonce above the target', { ...good, nonces: [...good.nonces, spec.start + BigInt(spec.count) - 1n].sort((a, b) => (a < b ? -1 : 1)) }],
      ['out of range', { ...good, nonces: [spec.start - 1n, ...good.nonces] }],
      ['unordered', { ...good, nonces: [...good.nonces].reverse() }],
      ['duplicated', { ...good, nonces: [good.nonces[0]!, ...good.nonces] }],
      ['wrong best hash', { ...good, best: { nonce: good.best.nonce, hash: 'f'.repeat(64) } }],
      ['best beaten by a listed nonce', { ...good, best: { nonce: good.nonces.at(-1)!, hash: hashNonce(Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0, 0x11, 0x22, 0x33]), good.nonces.at(-1)!) } }],
    ];
    for (const [name, bad] of cases) {
      if (name === 'a nonce above the target' && hashNonce(Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0, 0x11, 0x22, 0x33]), spec.start + BigInt(spec.count) - 1n) <= spec.target) continue;
      if (name === 'unordered' && good.nonces.length < 2) continue;
      const verdict = verifyHashsearch(spec, bad);
      assert.equal(verdict.ok, false, name);
    }
    // A partial answer (a nonce left out) passes the hub's own checks: replication catches it.
    const partial = { ...good, nonces: good.nonces.filter((n) => n !== good.best.nonce) };
    assert.equal(verifyHashsearch(spec, partial).ok, false, 'best under target must be listed');
    const dropped = { ...good, nonces: good.nonces.filter((n) => n !== good.nonces.find((x) => x !== good.best.nonce)) };
    assert.equal(sameHashsearchResult(good, dropped), false);
    assert.equal(sameHashsearchResult(good, hashsearchReference(spec)), true);
  });
});
