/**
 * What a GPU earns and costs, through the whole worker as `idleforge worker` assembles it
 * (composeWorker): a real hub on 127.0.0.1 publishing its rates and a reference price, a real
 * SQLite store, real WebGPU (Dawn on SwiftShader), a fake power sensor (nvidia-smi's output).
 * Before it works: no measured speed, an honest "not measured yet", the draw as read. Once it
 * has measured the GPU and done a task: "about N tokens an hour" from the hub's rates and the
 * measured speed, the last 24 hours' actual earnings, and their worth at the hub's reference.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { f32ToBase64, type EngineResult } from '../protocol/index.js';
import { call as hubCall, startTestHub, type TestHub } from '../hub/testkit.js';
import { createDawnHost } from '../worker/compute/dawn.js';
import { composeWorker } from '../worker/compose.js';
import { nvidiaPowerSensor } from '../worker/costs/power.js';
import { headlessVault } from '../worker/wallet/index.js';
import { randomMatrix, tempDir } from './helpers.js';

describe('what the worker says it earns and costs', () => {
  const dir = tempDir('costs-worker');
  let t: TestHub;
  let key: string;
  before(async () => {
    process.env.IDLEFORGE_KEYSTORE_SCRYPT_N ??= String(1 << 14);
    process.env.IDLEFORGE_PASSPHRASE ??= 'costs test passphrase';
    t = await startTestHub({ now: () => Date.now(), referencePrice: { currency: 'EUR', perToken: 20, label: 'test reference' } });
    key = await t.hub.createCustomer('costs test');
  });
  after(async () => {
    await t.close();
    dir.remove();
  });

  it('estimates from the hub’s rates and the measured speed, and shows the actual earnings beside', async () => {
    const m = 64;
    const job = await hubCall(`${t.hub.url}/v1/jobs`, { token: key, body: { kind: 'matmul', m, n: m, k: m, a: f32ToBase64(randomMatrix(m, m, 1)), b: f32ToBase64(randomMatrix(m, m, 2)) } });
    assert.equal(job.status, 201, JSON.stringify(job.body));
    const lines: string[] = [];
    const worker = await composeWorker({
      dataDir: dir.path,
      vault: headlessVault(dir.path),
      overrides: { hubUrl: t.hub.url, idleMinutes: 0, electricity: { currency: 'EUR', perKwh: 300_000, byHour: null } },
      createHost: () => createDawnHost(),
      sources: () => ({
        idleSeconds: async () => Infinity,
        onBattery: async () => false,
        runningPrograms: async () => [],
        gpuSensors: async () => ({ temperatureC: null, utilizationPercent: null }),
      }),
      powerSensor: nvidiaPowerSensor({ run: async () => '180.00, 250.00\n' }),
      log: { event: () => undefined, info: (l) => lines.push(l), error: (l) => lines.push(l) },
    });
    try {
      const outlook = async (): Promise<EngineResult<'getCostOutlook'>> => (await worker.call('getCostOutlook', {})) as EngineResult<'getCostOutlook'>;
      const first = await outlook();
      // SwiftShader is no model the table knows: no estimate before it is measured, and it says why.
      assert.equal(first.speed, null);
      assert.equal(first.estimate, null);
      assert.match(first.noEstimate ?? '', /has not been measured yet|rates are not known yet/);
      assert.equal(first.last24h, '0');

      const { credited } = await worker.run({ once: 1 });
      assert.equal(credited, 1);
      const o = await outlook();
      assert.equal(o.speed?.basis, 'measured');
      assert.ok(o.speed.gflops > 0);
      // 1 token per GFLOP (the hub's default rate) × the measured GFLOP/s × 3600, at the duty cycle.
      const perHour = BigInt(o.estimate?.perHour ?? '0');
      assert.ok(perHour > 0n, 'an estimate once measured');
      assert.equal(o.estimate?.kind, 'matmul');
      assert.equal(o.estimate?.from, 'benchmark', 'one task is too few to calibrate by');
      const expected = (BigInt(Math.floor(o.speed.gflops * 1000)) * 10n ** 18n * 3600n) / 1000n;
      assert.ok(perHour <= expected && perHour * 100n >= expected * 4n, `${perHour} within the duty cycle's share of ${expected}`);
      assert.equal(BigInt(o.last24h), 2n * BigInt(m) ** 3n * 10n ** 18n / 10n ** 9n, 'the task’s reward: 2·m³ FLOP at a token per GFLOP');
      assert.deepEqual(o.tokenValue, { perToken: 20, currency: 'EUR', source: 'hub-reference', label: 'test reference' });
      assert.equal(o.power.source, 'nvidia-smi');
      assert.equal(o.power.milliwatts, 180_000);
      assert.equal(o.costPerHour, '54000', '180 W at 0.30 EUR/kWh');
      assert.equal(o.valuePerHour, ((perHour * 20n) / 10n ** 18n).toString());
      const diag = (await worker.call('getDiagnostics', {})) as EngineResult<'getDiagnostics'>;
      assert.deepEqual(diag.gpuFaults, { faults: 0, window: 20, pauseAt: 2, capPercent: null, pausedReason: null });
    } finally {
      await worker.close();
    }
  });
});
