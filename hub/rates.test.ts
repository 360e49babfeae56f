/**
 * `GET /v1/rates` on a real hub: each kind's rate and unit as the hub pays them, its queue as
 * jobs come and go, the reference price and the strike limit as configured; no token needed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RatesSchema } from '../protocol/index.js';
import { call, matmulJobBody, startTestHub, type TestHub } from './testkit.js';

describe('GET /v1/rates', () => {
  let t: TestHub;
  let key: string;
  before(async () => {
    t = await startTestHub({
      rewardPerGflop: 7n * 10n ** 17n,
      rewardPerMhash: 3n * 10n ** 16n,
      referencePrice: { currency: 'EUR', perToken: 250_000, label: 'test reference' },
      standing: { maxStrikes: 4, forgiveAfter: 12 },
      matmulTaskMacs: 2 ** 16,
    });
    key = await t.hub.createCustomer('rates test');
  });
  after(() => t.close());

  const rates = async (): Promise<ReturnType<typeof RatesSchema.parse>> => {
    const r = await call(`${t.hub.url}/v1/rates`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return RatesSchema.parse(r.body);
  };

  it('publishes each kind’s rate and unit, the reference price and the strike limit, without a token', async () => {
    const r = await rates();
    const byKind = Object.fromEntries(r.kinds.map((k) => [k.kind, k]));
    assert.deepEqual(byKind.matmul, { kind: 'matmul', rate: '700000000000000000', unit: 'GFLOP', queued: 0, leased: 0 });
    assert.deepEqual(byKind.hashsearch, { kind: 'hashsearch', rate: '30000000000000000', unit: 'MH', queued: 0, leased: 0 });
    assert.deepEqual(r.referencePrice, { currency: 'EUR', perToken: 250_000, label: 'test reference' });
    assert.equal(r.strikeLimit, 4);
    assert.equal(r.forgiveAfter, 12);
    assert.deepEqual(r.token, { symbol: 'IDLE', decimals: 18 });
  });

  it('counts the queued tasks of each kind: demand follows the jobs', async () => {
    // 64×64×64 with at most 2¹⁶ multiply-adds a task: 4 row slices.
    const res = await call(`${t.hub.url}/v1/jobs`, { method: 'POST', token: key, body: matmulJobBody(64, 64, 64).body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const tasks = (res.body as { tasks: number }).tasks;
    assert.ok(tasks > 1);
    const r = await rates();
    assert.equal(r.kinds.find((k) => k.kind === 'matmul')?.queued, tasks);
    assert.equal(r.kinds.find((k) => k.kind === 'hashsearch')?.queued, 0);
  });

  it('a hub with no reference price says so with null', async () => {
    const bare = await startTestHub();
    try {
      const r = RatesSchema.parse((await call(`${bare.hub.url}/v1/rates`)).body);
      assert.equal(r.referencePrice, null);
      assert.equal(r.strikeLimit, 3);
    } finally {
      await bare.close();
    }
  });
});
