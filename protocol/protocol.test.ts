import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AmountSchema,
  Base64Schema,
  base64ToBytes,
  base64ToF32,
  bytesToBase64,
  f16Bits,
  f16DataToF32,
  f16ToF32,
  f16Value,
  F16_MAX,
  f32ToBase64,
  f32ToF16,
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

describe('half floats (f16)', () => {
  it('every f16 decodes to its value and encodes back to its own bits (NaN to a NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16Value(h);
      if (Number.isNaN(v)) assert.ok(Number.isNaN(f16Value(f16Bits(v))), `0x${h.toString(16)}`);
      else assert.equal(f16Bits(v), h, `0x${h.toString(16)} is ${v}`);
    }
    assert.equal(f16Value(0x3c00), 1);
    assert.equal(f16Value(0x7bff), F16_MAX);
    assert.equal(f16Value(0x0001), 2 ** -24);
    assert.equal(f16Value(0x0400), 2 ** -14);
    assert.equal(f16Value(0xfc00), -Infinity);
  });

  it('rounds an f32 to the nearest f16, ties to even, past F16_MAX to infinity', () => {
    // Each f16 and the points between neighbours: exactly halfway goes to the even one; an f32 ULP either side to the nearer.
    const f32 = (x: number): number => Math.fround(x);
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16Value(h);
      const hi = f16Value(h + 1);
      const mid = (lo + hi) / 2;
      assert.equal(f32(mid), mid, 'the midpoint is an f32');
      assert.equal(f16Bits(mid), h % 2 === 0 ? h : h + 1, `halfway after 0x${h.toString(16)}`);
      const ulp = mid === 0 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(mid)) - 23);
      assert.equal(f16Bits(mid - ulp), h);
      assert.equal(f16Bits(mid + ulp), h + 1);
      assert.equal(f16Bits(-(mid - ulp)), 0x8000 | h);
      assert.equal(f16Bits(-(mid + ulp)), 0x8000 | (h + 1));
    }
    assert.equal(f16Bits(65519), 0x7bff);
    assert.equal(f16Bits(65520), 0x7c00);
    assert.equal(f16Bits(1e30), 0x7c00);
    assert.equal(f16Bits(2 ** -25), 0, 'half the smallest subnormal ties to zero');
    assert.equal(f16Bits(f32(2 ** -25 * (1 + 2 ** -20))), 1);
    assert.equal(f16Bits(1e-30), 0);
    assert.equal(f16Bits(-0), 0x8000);
    assert.ok(Number.isNaN(f16Value(f16Bits(Number.NaN))));
  });

  it('moves an f32 by at most 2⁻¹¹ of itself in the normal range, 2⁻²⁵ below it', () => {
    let seed = 11;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 100_000; i++) {
      const x = Math.fround(2 ** (-30 + 45.9 * next()));
      const err = Math.abs(f16Value(f16Bits(x)) - x);
      assert.ok(err <= Math.max(2 ** -11 * x, 2 ** -25), `${x}: ${err}`);
    }
  });

  it('arrays go to little-endian bytes and back, from bytes or base64', () => {
    const values = Float32Array.from([0, 1, -2.5, 0.1, 1000, 65504, 1e6, Number.NaN]);
    const bytes = f32ToF16(values);
    assert.equal(bytes.byteLength, 2 * values.length);
    assert.deepEqual([...bytes.subarray(2, 4)], [0x00, 0x3c]);
    const back = f16ToF32(bytes);
    assert.deepEqual([...back.subarray(0, 3)], [0, 1, -2.5]);
    assert.equal(back[3], f16Value(f16Bits(0.1)));
    assert.equal(back[5], 65504);
    assert.equal(back[6], Infinity);
    assert.ok(Number.isNaN(back[7]!));
    assert.deepEqual(f16DataToF32(bytesToBase64(bytes)), back);
    // An odd offset is copied, not refused.
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    assert.deepEqual(f16ToF32(shifted.subarray(1)), back);
    assert.throws(() => f16ToF32(new Uint8Array(3)), /multiple of 2 bytes/);
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
