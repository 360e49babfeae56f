/**
 * Hub processes on one database are one network: a worker signed in at one is signed in at every
 * one, a sign-in nonce is spent once wherever it is used, and a hub that loses its database says
 * so on /v1/health (503, with the reason) and recovers by itself when the database is back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Wallet } from 'ethers';
import { ErrorBodySchema, LoginResponseSchema } from '../protocol/index.js';
import { startLocalPostgres } from './postgres/local.js';
import { testDatabaseUrl } from './postgres/testing.js';
import { startHub } from './server.js';
import { call, challenge, matmulJobBody } from './testkit.js';

describe('hub processes sharing one database', () => {
  it('accept each other’s sign-ins, spend a nonce once across them, and lease each task once', async (t) => {
    const db = await testDatabaseUrl();
    // Behind one proxy: both sign workers in for its URL.
    const publicUrl = 'https://hub.example';
    const a = await startHub({ db, publicUrl, customerStartingBalance: 10n ** 30n, matmulTaskMacs: 64, replicaPolicy: { loopbackDistinct: true } });
    t.after(() => a.close());
    const b = await startHub({ db, publicUrl, replicaPolicy: { loopbackDistinct: true } });
    t.after(() => b.close());
    const wallet = Wallet.createRandom();
    // The challenge from a, the login at b: one network.
    const message = await challenge(a.url, wallet.address);
    const signature = await wallet.signMessage(message);
    const login = await call(`${b.url}/v1/auth/login`, { body: { message, signature } });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const { token } = LoginResponseSchema.parse(login.body);
    // The same signed nonce again, at either process: refused.
    for (const hub of [a, b]) {
      const again = await call(`${hub.url}/v1/auth/login`, { body: { message, signature } });
      assert.equal(again.status, 401);
      assert.match(ErrorBodySchema.parse(again.body).error.message, /nonce/i);
    }
    // b's token works at a.
    const key = await a.createCustomer('acme');
    assert.equal((await call(`${a.url}/v1/jobs`, { token: key, body: matmulJobBody(32, 8, 8).body })).status, 201);
    const leased: string[] = [];
    for (let i = 0; i < 3; i++) {
      const hub = i % 2 === 0 ? a : b;
      const r = await call(`${hub.url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } });
      if (r.status === 204) break;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      leased.push((r.body as { task: { id: string } }).task.id);
    }
    assert.ok(leased.length >= 2, 'leases from both processes');
    assert.equal(new Set(leased).size, leased.length, 'no task leased twice');
  });

  it('a hub whose database goes away answers /v1/health 503 with the reason, and 200 again once it is back', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'idleforge-health-pg-'));
    let cluster = await startLocalPostgres({ dir, database: 'hub', unsafeFast: true });
    const port = cluster.port;
    t.after(() => cluster.stop());
    const hub = await startHub({ db: cluster.url, maintenanceMs: 200 });
    t.after(() => hub.close());
    assert.equal((await call(`${hub.url}/v1/health`)).status, 200);

    await cluster.stop();
    const down = await call(`${hub.url}/v1/health`);
    assert.equal(down.status, 503);
    const error = ErrorBodySchema.parse(down.body).error;
    assert.equal(error.code, 'DATABASE_UNAVAILABLE');
    assert.match(error.message, /cannot reach its database: \S/);
    assert.equal(down.headers.get('retry-after'), '2');

    // The same cluster, on the same port, back: the hub recovers without a restart.
    cluster = await startLocalPostgres({ dir, database: 'hub', unsafeFast: true, port });
    for (let i = 0; ; i++) {
      const r = await call(`${hub.url}/v1/health`);
      if (r.status === 200) break;
      assert.ok(i < 50, `still ${r.status} 10 s after the database came back`);
      await sleep(200);
    }
    assert.equal((await call(`${hub.url}/v1/jobs/job_0000000000000000`, { token: await hub.createCustomer('after') })).status, 404);
  });
});
