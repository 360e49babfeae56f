import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { ErrorBodySchema } from '../protocol/index.js';
import type { RateLimiter } from './ratelimit.js';
import { call, errorOf, signIn, startTestHub, type TestHub } from './testkit.js';

describe('error replies', () => {
  let t: TestHub;
  let url: string;
  let token: string;
  let limited = false;
  const limiter: RateLimiter = { take: () => (limited ? { ok: false, retryAfterS: 7 } : { ok: true }) };

  before(async () => {
    t = await startTestHub({ rateLimiter: limiter });
    url = t.hub.url;
    token = await signIn(url, Wallet.createRandom());
  });
  after(() => t.close());

  it('answers 400 INVALID_BODY naming the first problem', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['/v1/auth/challenge', { address: 'nope' }, /^address: an address is 0x/],
      ['/v1/auth/challenge', [], /expected object/],
      ['/v1/auth/login', { message: 'hi', signature: '0x12' }, /^signature: /],
      ['/v1/tasks/lease', { kinds: [] }, /^kinds: /],
      ['/v1/workers/heartbeat', { appVersion: '1', state: 'dancing', gpus: [] }, /^state: /],
      ['/v1/workers/heartbeat', { appVersion: '1', state: 'working', gpus: [{ vendor: 1 }] }, /^gpus\[0\]\.vendor: /],
    ];
    for (const [path, body, message] of cases) {
      const r = await call(`${url}${path}`, { token, body });
      assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}`);
      const e = ErrorBodySchema.parse(r.body).error;
      assert.equal(e.code, 'INVALID_BODY');
      assert.match(e.message, message);
    }
  });

  it('answers 400 for a missing body and for bad JSON', async () => {
    const none = await call(`${url}/v1/auth/challenge`, { method: 'POST' });
    assert.equal(none.status, 400);
    assert.equal(errorOf(none).code, 'INVALID_BODY');
    const broken = await call(`${url}/v1/auth/challenge`, { rawBody: '{"address": ' });
    assert.equal(broken.status, 400);
    assert.equal(errorOf(broken).code, 'INVALID_JSON');
  });

  it('answers 413 BODY_TOO_LARGE past an endpoint body limit', async () => {
    const big = { address: `0x${'0'.repeat(40)}`, padding: 'x'.repeat(70 * 1024) };
    const r = await call(`${url}/v1/auth/challenge`, { body: big });
    assert.equal(r.status, 413);
    assert.equal(errorOf(r).code, 'BODY_TOO_LARGE');
    const lease = await call(`${url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'], padding: 'x'.repeat(70 * 1024) } });
    assert.equal(lease.status, 413);
  });

  it('answers 404 for unknown endpoints and 415 for other content types', async () => {
    const r = await call(`${url}/v2/nothing`);
    assert.equal(r.status, 404);
    assert.deepEqual(errorOf(r), { code: 'NOT_FOUND', message: 'there is no endpoint GET /v2/nothing' });
    const res = await fetch(`${url}/v1/auth/challenge`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<hi/>' });
    assert.equal(res.status, 415);
    assert.equal(ErrorBodySchema.parse(await res.json()).error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('has a rate-limit seam that answers 429 with Retry-After', async () => {
    limited = true;
    try {
      const r = await call(`${url}/v1/health`);
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '7');
      assert.equal(errorOf(r).code, 'RATE_LIMITED');
    } finally {
      limited = false;
    }
    assert.equal((await call(`${url}/v1/health`)).status, 200);
  });
});
