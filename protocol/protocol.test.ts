import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AmountSchema,
  Base64Schema,
  base64ToBytes,
  base64ToF32,
  bytesToBase64,
  f32ToBase64,
  formatSiweMessage,
  formatUnits,
  isBase64Text,
  JobRequestSchema,
  portableBase64,
  parseSiweMessage,
} from './index.js';

describe('binary codec', () => {
  it('matches Node’s base64 for every length and byte value, with the native codec and the portable one', () => {
    for (const codec of [{ encode: bytesToBase64, decode: base64ToBytes }, portableBase64]) {
      for (let len = 0; len < 70; len++) {
        const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 255);
        const text = codec.encode(bytes);
        assert.equal(text, Buffer.from(bytes).toString('base64'));
        assert.deepEqual(codec.decode(text), bytes);
      }
      assert.throws(() => codec.decode('ab!d'), /invalid base64/);
      assert.throws(() => codec.decode('ab=c'), /invalid base64/, "'=' only at the end");
    }
  });

  it('accepts exactly the base64 text the plain pattern describes', () => {
    const pattern = /^[A-Za-z0-9+/]*={0,2}$/;
    const alphabet = 'Ab9+/=_ -';
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const samples = ['', '=', '==', '===', 'ab=c', 'ab==', 'abc=', 'a===', 'QUJD', 'QUI=', 'QQ=='];
    for (let i = 0; i < 5000; i++) samples.push(Array.from({ length: next() % 7 }, () => alphabet[next() % alphabet.length]).join(''));
    for (const s of samples) {
      assert.equal(isBase64Text(s), pattern.test(s), JSON.stringify(s));
      assert.equal(Base64Schema.safeParse(s).success, pattern.test(s) && s.length % 4 === 0, JSON.stringify(s));
    }
  });

  it('round-trips f32 arrays and refuses damaged text', () => {
    const values = Float32Array.from([0, -1.5, 3.25, Number.MAX_VALUE, 1e-40]);
    assert.deepEqual(base64ToF32(f32ToBase64(values)), values);
    assert.throws(() => base64ToBytes('abc'), /multiple of 4/);
    assert.throws(() => base64ToBytes('ab!d'), /invalid base64/);
    assert.throws(() => base64ToF32(bytesToBase64(new Uint8Array(3))), /multiple of 4 bytes/);
  });
});

describe('amounts', () => {
  it('are whole decimal strings, formatted exactly', () => {
    assert.ok(AmountSchema.safeParse('0').success);
    assert.ok(AmountSchema.safeParse('123456789012345678901234567890').success);
    for (const bad of ['-1', '1.5', '01', '', '1e18', ' 1']) assert.ok(!AmountSchema.safeParse(bad).success, bad);
    assert.equal(formatUnits(1_500_000_000_000_000_000n, 18), '1.5');
    assert.equal(formatUnits(1n, 18), '0.000000000000000001');
    assert.equal(formatUnits(1n, 18, 8), '0');
    assert.equal(formatUnits(12_345n, 0), '12345');
  });
});

describe('EIP-4361 messages', () => {
  const fields = {
    domain: '127.0.0.1:8787',
    address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    statement: 'Sign in to the Idleforge hub as a worker.',
    uri: 'http://127.0.0.1:8787',
    version: '1' as const,
    chainId: 31337,
    nonce: 'abcdef0123456789',
    issuedAt: '2026-11-26T04:00:00.000Z',
    expirationTime: '2026-11-26T04:05:00.000Z',
  };

  it('formats the standard text and parses it back', () => {
    const text = formatSiweMessage(fields);
    assert.equal(
      text,
      [
        '127.0.0.1:8787 wants you to sign in with your Ethereum account:',
        '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        '',
        'Sign in to the Idleforge hub as a worker.',
        '',
        'URI: http://127.0.0.1:8787',
        'Version: 1',
        'Chain ID: 31337',
        'Nonce: abcdef0123456789',
        'Issued At: 2026-11-26T04:00:00.000Z',
        'Expiration Time: 2026-11-26T04:05:00.000Z',
      ].join('\n'),
    );
    assert.deepEqual(parseSiweMessage(text), fields);
  });

  it('refuses anything that is not exactly a message', () => {
    const text = formatSiweMessage(fields);
    assert.equal(parseSiweMessage(`${text}\n`), null);
    assert.equal(parseSiweMessage(text.replace('Chain ID: 31337', 'Chain ID: x')), null);
    assert.equal(parseSiweMessage(text.replace('Version: 1', 'Version: 2')), null);
    assert.equal(parseSiweMessage('hello'), null);
  });
});

describe('job requests', () => {
  it('check that the matrices hold m×k and k×n values', () => {
    const a = f32ToBase64(new Float32Array(6));
    const b = f32ToBase64(new Float32Array(12));
    assert.ok(JobRequestSchema.safeParse({ kind: 'matmul', m: 2, k: 3, n: 4, a, b }).success);
    const bad = JobRequestSchema.safeParse({ kind: 'matmul', m: 3, k: 3, n: 4, a, b });
    assert.ok(!bad.success);
    assert.match(bad.error.issues[0]?.message ?? '', /m×k/);
    assert.ok(!JobRequestSchema.safeParse({ kind: 'matmul', m: 0, k: 3, n: 4, a, b }).success);
    assert.ok(!JobRequestSchema.safeParse({ kind: 'sort', m: 2, k: 3, n: 4, a, b }).success);
  });
});
