import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { TokenBuckets } from './ratelimit.js';
import { call, errorOf, signIn, startTestHub } from './testkit.js';

describe('rate limits', () => {
  it('token buckets refill at their rate and say how long to wait', () => {
    const b = new TokenBuckets({
      perIp: { perSecond: 2, burst: 3 },
      signIn: { perSecond: 1, burst: 1 },
      perWorker: { perSecond: 1, burst: 2 },
      perCustomer: { perSecond: 1, burst: 1 },
    });
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) assert.deepEqual(b.take('ip:1.2.3.4', '/v1/health', t), { ok: true });
    assert.deepEqual(b.take('ip:1.2.3.4', '/v1/health', t), { ok: false, retryAfterS: 1 });
    assert.deepEqual(b.take('ip:5.6.7.8', '/v1/health', t), { ok: true }, 'per client');
    assert.deepEqual(b.take('ip:1.2.3.4', '/v1/health', t + 500), { ok: true }, 'one token back after half a second');
    // Sign-in has its own, tighter bucket on top of the address's.
    assert.deepEqual(b.take('ip:9.9.9.9', '/v1/auth/challenge', t), { ok: true });
    assert.deepEqual(b.take('ip:9.9.9.9', '/v1/auth/login', t), { ok: false, retryAfterS: 1 });
    assert.deepEqual(b.take('worker:0xA', '/v1/tasks/lease', t), { ok: true });
    assert.deepEqual(b.take('worker:0xA', '/v1/tasks/lease', t), { ok: true });
    assert.deepEqual(b.take('worker:0xA', '/v1/tasks/lease', t), { ok: false, retryAfterS: 1 });
    assert.throws(() => new TokenBuckets({ perIp: { perSecond: 0, burst: 1 }, signIn: { perSecond: 1, burst: 1 }, perWorker: { perSecond: 1, burst: 1 }, perCustomer: { perSecond: 1, burst: 1 } }));
  });

  it('answers 429 RATE_LIMITED with Retry-After per worker and per customer', async () => {
    const t = await startTestHub({ rateLimits: { perWorker: { perSecond: 0.5, burst: 3 }, perCustomer: { perSecond: 0.25, burst: 2 } } });
    try {
      const token = await signIn(t.hub.url, Wallet.createRandom());
      const statuses: number[] = [];
      let last: Awaited<ReturnType<typeof call>> | null = null;
      for (let i = 0; i < 4; i++) {
        last = await call(`${t.hub.url}/v1/earnings`, { token });
        statuses.push(last.status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.equal(last!.headers.get('retry-after'), '2');
      assert.equal(errorOf(last!).code, 'RATE_LIMITED');
      // Another worker from the same address is not held back by the first one.
      const other = await signIn(t.hub.url, Wallet.createRandom());
      assert.equal((await call(`${t.hub.url}/v1/earnings`, { token: other })).status, 200);
      t.clock.advance(2000);
      assert.equal((await call(`${t.hub.url}/v1/earnings`, { token })).status, 200, 'a token came back');

      const key = await t.hub.createCustomer('c');
      const job = (): Promise<Awaited<ReturnType<typeof call>>> => call(`${t.hub.url}/v1/jobs/job_0000000000000000`, { token: key });
      assert.deepEqual([(await job()).status, (await job()).status], [404, 404]);
      const limited = await job();
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '4');
    } finally {
      await t.close();
    }
  });

  it('limits sign-in attempts per address', async () => {
    const t = await startTestHub({ rateLimits: { signIn: { perSecond: 1, burst: 2 } } });
    try {
      const address = Wallet.createRandom().address;
      const r = [];
      for (let i = 0; i < 3; i++) r.push((await call(`${t.hub.url}/v1/auth/challenge`, { body: { address } })).status);
      assert.deepEqual(r, [200, 200, 429]);
    } finally {
      await t.close();
    }
  });
});
