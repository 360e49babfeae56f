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
  LeaseResponseSchema,
  portableBase64,
  parseSiweMessage,
  decodeTaskFrame,
  encodeTaskFrame,
  TaskFrameError,
} from './index.js';
import { decodeTask } from '../jobs/index.js';

/** The parts of a frame as one buffer, as it arrives. */
const joined = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
};

describe('task frames', () => {
  const a = Float32Array.from({ length: 3 * 5 }, (_, i) => i - 7.5);
  const b = Float32Array.from({ length: 5 * 2 }, (_, i) => i / 3);
  const task = { id: 'tsk_1', kind: 'matmul', reward: '12', leaseExpiresAt: '2030-01-01T00:00:00.000Z', params: { m: 3, n: 2, k: 5 }, inputs: {} };
  const frame = (): Uint8Array =>
    joined(encodeTaskFrame(task, [{ name: 'a', bytes: new Uint8Array(a.buffer) }, { name: 'b', bytes: new Uint8Array(b.buffer) }]));

  it('carries a task with its matrices as raw bytes, each section 8-byte aligned, and parses as a lease answer', () => {
    const bytes = frame();
    const read = LeaseResponseSchema.parse(decodeTaskFrame(bytes));
    assert.equal(read.task.kind, 'matmul');
    if (read.task.kind !== 'matmul') return;
    assert.deepEqual(read.task.params, task.params);
    const inputs = read.task.inputs;
    assert.ok(inputs.a instanceof Uint8Array && inputs.b instanceof Uint8Array);
    assert.equal(inputs.a.byteOffset % 8, 0);
    assert.equal(inputs.b.byteOffset % 8, 0);
    assert.equal(inputs.a.buffer, bytes.buffer, 'a view of the bytes received, not a copy');
    const decoded = decodeTask(read.task);
    assert.equal(decoded.kind, 'matmul');
    if (decoded.kind !== 'matmul') return;
    assert.deepEqual(decoded.a, a);
    assert.deepEqual(decoded.b, b);
  });

  it('refuses a frame that does not hold together, with the reason', () => {
    const good = frame();
    const headerLength = new DataView(good.buffer).getUint32(0, true);
    const cases: [string, Uint8Array, RegExp][] = [
      ['too short', good.subarray(0, 3), /too short/],
      ['truncated', good.subarray(0, good.byteLength - 8), /sections need/],
      ['trailing bytes', joined([good, new Uint8Array(8)]), /sections need/],
      ['header past the end', good.subarray(0, 4 + headerLength - 8), /past the end/],
    ];
    const bad = good.slice();
    new DataView(bad.buffer).setUint32(0, 1 << 20, true);
    cases.push(['huge header', bad, /at most/]);
    const unpadded = good.slice();
    new DataView(unpadded.buffer).setUint32(0, headerLength - 1, true);
    cases.push(['unpadded header', unpadded, /padded/]);
    const notJson = good.slice();
    notJson[4] = 0x7b;
    notJson[5] = 0x7b;
    cases.push(['not JSON', notJson, /not UTF-8 JSON/]);
    const twice = joined(encodeTaskFrame({ ...task, inputs: {} }, [{ name: 'a', bytes: new Uint8Array(8) }, { name: 'a', bytes: new Uint8Array(8) }]));
    cases.push(['a section given twice', twice, /given twice/]);
    for (const [what, bytes, message] of cases) {
      assert.throws(() => decodeTaskFrame(bytes), (e: unknown) => e instanceof TaskFrameError && message.test(e.message), what);
    }
    // Holds together but a matrix has the wrong size: the task schema's check says so.
    const short = joined(encodeTaskFrame(task, [{ name: 'a', bytes: new Uint8Array(a.buffer).subarray(0, 16) }, { name: 'b', bytes: new Uint8Array(b.buffer) }]));
    const parsed = LeaseResponseSchema.parse(decodeTaskFrame(short));
    assert.throws(() => decodeTask(parsed.task), /a must hold m×k = 15 f32 values/);
  });
});

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
