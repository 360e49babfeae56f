/** The engine API over HTTP and WebSocket on 127.0.0.1, with the real store and governor. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import WebSocket from 'ws';
import { DASHBOARD_CSP, DEFAULT_SETTINGS, EngineApiError, EngineEventSchema, createEngineClient, type EngineClient } from '../../protocol/index.js';
import type { ComputeHost } from '../compute/compute-host.js';
import { WorkerEngine } from '../engine.js';
import { HubClient } from '../hub-client.js';
import { Governor } from '../schedule/governor.js';
import { WorkerStore } from '../store/index.js';
import { NO_WALLET_REASON, WalletGate } from '../wallet/gate.js';
import { headlessPassphrase, WalletVault } from '../wallet/index.js';
import { BalanceWatcher } from '../wallet/watcher.js';
import { createHandlers, csvStream, dispatch, runningPrograms, snoozeUntil, statusView, type ApiContext } from './handlers.js';
import { startApiServer, type ApiServer } from './server.js';

const idleHost: ComputeHost = {
  adapter: { vendor: 'test', architecture: '', device: 'test', description: 'test adapter', software: true },
  run: () => Promise.reject(new Error('no tasks in this test')),
  close: async () => {},
};

describe('engine API server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-api-'));
  let store: WorkerStore;
  let governor: Governor;
  let server: ApiServer;
  let client: EngineClient;
  const hubUrl = 'http://127.0.0.1:9';

  // The API's clock stands still at the moment the ledger entries are stamped, so "today" and
  // "this hour" hold them even when the run crosses an hour or midnight.
  const at = new Date();

  before(async () => {
    store = WorkerStore.open(dir);
    store.ledger.upsertMany(hubUrl, [
      { id: '1', taskId: 'task_a', kind: 'matmul', amount: '1500000000000000000', status: 'verified', createdAt: at.toISOString() },
      { id: '2', taskId: 'task_b', kind: 'matmul', amount: '0', status: 'rejected', createdAt: at.toISOString() },
    ]);
    // A second hub whose address needs CSV quoting.
    store.ledger.upsertMany('http://127.0.0.1:9/"a,b"', [
      { id: '3', taskId: 'task_c', kind: 'matmul', amount: '250000000000000000', status: 'verified', createdAt: at.toISOString() },
    ]);
    governor = new Governor({
      settings: () => store.settings.get(),
      pause: () => store.settings.pause(),
      sources: {
        idleSeconds: async () => Infinity,
        onBattery: async () => false,
        runningPrograms: async () => [],
        gpuSensors: async () => ({ temperatureC: 61, utilizationPercent: 0 }),
      },
    });
    await governor.start();
    const wallet = Wallet.createRandom();
    const engine = new WorkerEngine({
      client: new HubClient({ hubUrl, wallet: new Wallet(wallet.privateKey) }),
      host: idleHost,
      store,
      gpus: [],
      governor,
      appVersion: 'test',
    });
    const vault = new WalletVault(dir, { passphrase: headlessPassphrase({ env: { IDLEFORGE_PASSPHRASE: 'api test passphrase' }, interactive: false }), scryptN: 1 << 14 });
    await vault.importSecret(wallet.privateKey);
    const gate = new WalletGate(vault);
    await gate.open();
    const balances = new BalanceWatcher({ rpc: () => null, address: wallet.address, token: () => null });
    const ctx: ApiContext = { engine, store, governor, vault, wallet: gate, balances: () => balances, hubUrl, gpus: () => [], now: () => at };
    const handlers = createHandlers(ctx);
    const files = new Map([
      ['/index.html', { body: Buffer.from('<!doctype html><title>dash</title>'), type: 'text/html; charset=utf-8', immutable: false }],
      ['/assets/main-ABC.js', { body: Buffer.from('console.log(1)'), type: 'text/javascript; charset=utf-8', immutable: true }],
      ['/build-info.json', { body: Buffer.from('{}'), type: 'application/json', immutable: false }],
    ]);
    server = await startApiServer({
      files,
      call: (m, p) => dispatch(handlers, m, p),
      csv: () => csvStream(ctx),
      subscribe: (send) => engine.onStatus(() => send({ type: 'status', status: statusView(ctx) })),
    });
    client = createEngineClient(async (method, params) => {
      const res = await fetch(`${server.origin}/api/v1/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: JSON.stringify(params),
      });
      const body: unknown = await res.json();
      if (!res.ok) throw Object.assign(new Error(JSON.stringify(body)), { status: res.status });
      return body;
    });
  });
  after(async () => {
    await server.close();
    governor.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a URL that carries the token in its fragment', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{64}$/);
  });

  it('refuses calls without the token, with a wrong one, or from another Host', async () => {
    const call = (headers: Record<string, string>) =>
      fetch(`${server.origin}/api/v1/getStatus`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    assert.equal((await call({})).status, 401);
    assert.equal((await call({ authorization: `Bearer ${'0'.repeat(64)}` })).status, 401);
    // A page on another name that resolves to 127.0.0.1 (DNS rebinding) is refused.
    const rebinding = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.origin}/api/v1/getStatus`, {
        method: 'POST',
        headers: { host: 'evil.example:80', authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(rebinding.status, 403);
    assert.deepEqual(Object.keys((JSON.parse(rebinding.body) as { error: object }).error), ['code', 'message']);
  });

  it('refuses a token in the query string on a method, even beside a good header', async () => {
    const call = (headers: Record<string, string>) =>
      fetch(`${server.origin}/api/v1/getStatus?token=${server.token}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
    for (const res of [await call({}), await call({ authorization: `Bearer ${server.token}` })]) {
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'TOKEN_IN_URL');
      assert.match(body.error.message, /Authorization: Bearer header/);
    }
    // The CSV download keeps taking it in the address (a link cannot carry a header), and a header.
    assert.equal((await fetch(`${server.origin}/api/v1/earnings.csv?token=${server.token}`)).status, 200);
    assert.equal((await fetch(`${server.origin}/api/v1/earnings.csv`, { headers: { authorization: `Bearer ${server.token}` } })).status, 200);
  });

  it('refuses a WebSocket opened by a page of another origin, even with the token', async () => {
    const events = `ws://127.0.0.1:${new URL(server.origin).port}/api/v1/events?token=${server.token}`;
    const refused = new WebSocket(events, { origin: 'http://evil.example' });
    const outcome = await new Promise<string>((resolve) => {
      refused.once('open', () => resolve('opened'));
      refused.once('error', (e) => resolve(e.message));
    });
    refused.close();
    assert.match(outcome, /Unexpected server response: 403/);
    for (const origin of [server.origin, server.origin.replace('127.0.0.1', 'localhost')]) {
      const own = new WebSocket(events, { origin });
      await new Promise((resolve, reject) => {
        own.once('open', resolve);
        own.once('error', reject);
      });
      own.close();
    }
  });

  it('answers status with earnings today, temperature and token', async () => {
    const s = await client.getStatus({});
    assert.equal(s.earnedToday, '1750000000000000000');
    assert.equal(s.temperatureC, 61);
    assert.equal(s.temperatureLimitC, 80);
    assert.deepEqual(s.token, { symbol: 'IDLE', decimals: 18 });
  });

  it('validates settings in plain words and keeps the good ones', async () => {
    await assert.rejects(client.updateSettings({ temperatureLimitC: 120 }), /INVALID_SETTINGS.*at most 100/);
    await assert.rejects(client.updateSettings({ intensity: 30 as 25 }), /INVALID_SETTINGS/);
    const { settings } = await client.updateSettings({ idleMinutes: 12, blockedPrograms: ['blender.exe'] });
    assert.equal(settings.idleMinutes, 12);
    assert.equal(store.settings.get().idleMinutes, 12);
    assert.equal((await client.getSettings({})).settings.temperatureLimitC, DEFAULT_SETTINGS.temperatureLimitC);
  });

  it('pages earnings newest first, filters, and exports CSV', async () => {
    const first = await client.getEarnings({ limit: 2 });
    assert.deepEqual(first.entries.map((e) => e.id), ['3', '2']);
    assert.ok(first.nextCursor);
    const second = await client.getEarnings({ limit: 2, cursor: first.nextCursor });
    assert.deepEqual(second.entries.map((e) => e.id), ['1']);
    assert.equal(second.nextCursor, null);
    assert.deepEqual((await client.getEarnings({ status: 'rejected' })).entries.map((e) => e.id), ['2']);
    assert.equal(first.totals.verified, '1750000000000000000');
    const csv = await fetch(`${server.origin}/api/v1/earnings.csv?token=${server.token}`);
    assert.match(csv.headers.get('content-disposition') ?? '', /attachment; filename="idleforge-earnings-/);
    const lines = (await csv.text()).trim().split('\r\n');
    assert.equal(lines[0], 'date,task,kind,status,amount_IDLE,amount_base_units,gpu_seconds,hub,entry');
    assert.equal(lines.length, 4);
    assert.ok(lines.some((l) => l.includes(',"http://127.0.0.1:9/""a,b""",') && l.includes(',0.25,')));
  });

  it('refuses unknown methods and bad parameters', async () => {
    const res = await fetch(`${server.origin}/api/v1/stealKeys`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 404);
    await assert.rejects(client.snooze({ for: '2h' as '1h' }), /INVALID_PARAMS/);
  });

  it('pushes status over the WebSocket when paused and snoozed; refuses a socket without the token', async () => {
    const refused = new WebSocket(`ws://127.0.0.1:${new URL(server.origin).port}/api/v1/events`);
    await new Promise<void>((resolve) => refused.once('error', () => resolve()));

    const ws = new WebSocket(`ws://127.0.0.1:${new URL(server.origin).port}/api/v1/events?token=${server.token}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const next = (): Promise<unknown> => new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()))));
    let event = next();
    await client.pause({});
    let parsed = EngineEventSchema.parse(await event);
    assert.equal(parsed.type === 'status' && parsed.status.reason, 'Paused by you');
    event = next();
    const { pause } = await client.snooze({ for: '30m' });
    parsed = EngineEventSchema.parse(await event);
    assert.equal(parsed.type === 'status' && parsed.status.blockedBy, 'snoozed');
    assert.equal(pause.kind, 'snoozed');
    await client.resume({});
    assert.deepEqual(store.settings.pause(), { kind: 'none' });
    ws.close();
  });

  it('pauses until the game that stops work closes, and says so when nothing is there to wait for', async () => {
    await assert.rejects(client.pauseUntilGone({}), /no game, fullscreen app or program on the GPU is stopping work now/);
    governor.update({ runningPrograms: ['Cyberpunk2077.exe'] });
    assert.equal((await client.getStatus({})).blocker, 'Cyberpunk2077.exe');
    const { pause } = await client.pauseUntilGone({});
    assert.deepEqual(pause, { kind: 'until-gone', program: 'Cyberpunk2077.exe' });
    assert.deepEqual(store.settings.pause(), pause, 'kept in the store across a restart');
    assert.equal(governor.decision.allowed ? '' : governor.decision.reason, 'Paused until Cyberpunk2077.exe closes');
    await client.resume({});
    governor.update({ runningPrograms: [] });
  });

  it('gives addresses and balances, never keys; the phrase only on a confirmed reveal', async () => {
    const w = await client.getWallet({});
    assert.equal(w.kind, 'key');
    assert.equal(w.hasPhrase, false);
    assert.deepEqual(await client.getBalance({}), { status: 'no-chain', message: 'no chain is configured: set the RPC address in the settings' });
    await assert.rejects(client.revealPhrase({ confirm: false as true }), /INVALID_PARAMS/);
    await assert.rejects(client.revealPhrase({ confirm: true }), /WALLET.*no recovery phrase/);
  });

  it('serves the dashboard without the token under a strict CSP, and nothing beside it', async () => {
    const index = await fetch(`${server.origin}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-security-policy'), DASHBOARD_CSP);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(await index.text(), /<title>dash<\/title>/);
    const script = await fetch(`${server.origin}/assets/main-ABC.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(script.headers.get('cache-control') ?? '', /immutable/);
    // Anything that is not a file of the build needs the token, like the API.
    assert.equal((await fetch(`${server.origin}/build-info.json`)).status, 401);
    assert.equal((await fetch(`${server.origin}/assets/../worker.db`)).status, 401);
    assert.equal((await fetch(`${server.origin}/api/v1/earnings.csv`)).status, 401);
  });

  it('answers earnings by hour, day and week, exact and without the rejected', async () => {
    const day = await client.getEarningsSeries({ bucket: 'day', count: 3 });
    assert.equal(day.points.length, 3);
    assert.deepEqual(day.points.map((p) => p.amount), ['0', '0', '1750000000000000000']);
    assert.equal(day.points[2]!.tasks, 2);
    assert.equal(Date.parse(day.points[2]!.start) - Date.parse(day.points[1]!.start), 86_400_000);
    const hours = await client.getEarningsSeries({ bucket: 'hour', utcOffsetMinutes: 0 });
    assert.equal(hours.points.length, 24);
    assert.match(hours.points[23]!.start, /T\d\d:00:00\.000Z$/);
    assert.equal(hours.points[23]!.amount, '1750000000000000000');
    const weeks = await client.getEarningsSeries({ bucket: 'week', count: 2, utcOffsetMinutes: 0 });
    assert.equal(new Date(weeks.points[1]!.start).getUTCDay(), 1, 'weeks start on Monday');
    await assert.rejects(client.getEarningsSeries({ bucket: 'month' as 'day' }), /INVALID_PARAMS/);
  });

  it('gives the ledger with GPU times and its kinds', async () => {
    store.taskTimes.record(hubUrl, { taskId: 'task_a', kind: 'matmul', startedAt: new Date().toISOString(), gpuMs: 1234 });
    const page = await client.getEarnings({ limit: 5 });
    assert.deepEqual(page.kinds, ['matmul']);
    assert.equal(page.entries.find((e) => e.taskId === 'task_a')?.gpuMs, 1234);
    assert.equal(page.entries.find((e) => e.taskId === 'task_b')?.gpuMs, null);
    const csv = await (await fetch(`${server.origin}/api/v1/earnings.csv?token=${server.token}`)).text();
    assert.ok(csv.split('\r\n').some((l) => l.includes(',task_a,') && l.includes(',1.234,')));
  });

  it('gives thumbnails of the latest rendered tiles, or of the tasks asked for, as 8-bit RGB', async () => {
    assert.deepEqual(await client.getTilePreviews({}), { previews: [] });
    const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0);
    store.previews.save({ hub: hubUrl, taskId: 'task_r1', kind: 'render', width: 2, height: 1, rgb, createdAt: at.toISOString() });
    const { previews } = await client.getTilePreviews({ limit: 5 });
    assert.deepEqual(previews, [{ taskId: 'task_r1', kind: 'render', width: 2, height: 1, rgb: Buffer.from(rgb).toString('base64'), createdAt: at.toISOString() }]);
    assert.deepEqual((await client.getTilePreviews({ taskIds: ['task_a'] })).previews, []);
    await assert.rejects(client.getTilePreviews({ limit: 1000 }), /limit: Too big/);
  });

  it('gives the payouts mirrored from the hub, with their hub', async () => {
    store.payouts.upsertMany(hubUrl, [{ id: 'p1', amount: '300000000000000', status: 'confirmed', txHash: `0x${'ab'.repeat(32)}`, createdAt: new Date().toISOString() }]);
    const { payouts } = await client.getPayouts({});
    assert.equal(payouts.length, 1);
    assert.equal(payouts[0]!.status, 'confirmed');
    assert.equal(payouts[0]!.txHash, `0x${'ab'.repeat(32)}`);
    assert.equal(payouts[0]!.hub, hubUrl);
  });

  it('pages the payouts newest first, each once', async () => {
    const t0 = Date.parse('2025-06-01T00:00:00Z');
    // Two at the same instant: ordered by id after their time.
    store.payouts.upsertMany(
      hubUrl,
      Array.from({ length: 7 }, (_, i) => ({ id: `q${i}`, amount: String(i + 1), status: 'confirmed' as const, txHash: null, createdAt: new Date(t0 + Math.min(i, 5) * 1000).toISOString() })),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.getPayouts({ limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.payouts.map((p) => p.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    const older = seen.filter((id) => id.startsWith('q'));
    assert.deepEqual(older, ['q6', 'q5', 'q4', 'q3', 'q2', 'q1', 'q0']);
    assert.equal(new Set(seen).size, seen.length, 'nothing twice');
    assert.equal(pages, Math.ceil(seen.length / 3));
    await assert.rejects(client.getPayouts({ limit: 0 }), /limit/);
  });

  it('lists running programs as the blocklist accepts them, and the readings behind the decision', async () => {
    assert.deepEqual(runningPrograms(['steam', 'kworker/0:1', 'Game.exe', 'game.EXE', 'C:\\x.exe', 'bash']), ['bash', 'Game.exe', 'steam']);
    assert.equal(runningPrograms(null), null);
    assert.deepEqual(await client.getRunningPrograms({}), { programs: [] });
    const d = await client.getDiagnostics({});
    assert.equal(d.idleSeconds, 'always');
    assert.equal(d.temperatureC, 61);
    assert.equal(d.resumeAtC, DEFAULT_SETTINGS.temperatureLimitC - DEFAULT_SETTINGS.hysteresisC);
    assert.equal(d.blockedProgram, null);
    const gpus = await client.getGpus({});
    assert.deepEqual(gpus, { gpus: [], computeDevice: null, score: null, temperatureC: 61 });
  });

  it('snoozes until 08:00 tomorrow for "until tomorrow"', () => {
    const until = snoozeUntil('tomorrow', new Date(2026, 10, 24, 22, 15));
    assert.deepEqual([until.getDate(), until.getHours(), until.getMinutes()], [25, 8, 0]);
  });
});

describe('first run: the wallet is set up from the dashboard', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-api-setup-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('waits in plain words, then one call creates the wallet and the engine may sign in', async () => {
    const store = WorkerStore.open(dir);
    const governor = new Governor({
      settings: () => store.settings.get(),
      pause: () => store.settings.pause(),
      sources: { idleSeconds: async () => Infinity, onBattery: async () => false, runningPrograms: async () => null, gpuSensors: async () => ({ temperatureC: null, utilizationPercent: null }) },
    });
    const vault = new WalletVault(dir, { passphrase: headlessPassphrase({ env: { IDLEFORGE_PASSPHRASE: 'setup test passphrase' }, interactive: false }), scryptN: 1 << 14 });
    const gate = new WalletGate(vault);
    const engine = new WorkerEngine({ client: new HubClient({ hubUrl: 'http://127.0.0.1:9', wallet: gate }), host: idleHost, store, gpus: [], governor, appVersion: 'test' });
    const ctx: ApiContext = { engine, store, governor, vault, wallet: gate, balances: () => null, hubUrl: 'http://127.0.0.1:9', gpus: () => [] };
    const handlers = createHandlers(ctx);
    const call = (method: string, params: unknown = {}): Promise<unknown> => dispatch(handlers, method, params);
    try {
      const waiting = statusView(ctx);
      assert.deepEqual([waiting.state, waiting.reason, waiting.blockedBy, waiting.address], ['waiting', NO_WALLET_REASON, 'no-wallet', null]);
      assert.deepEqual(await call('getBalance'), { status: 'no-chain', message: 'there is no wallet yet' });
      await assert.rejects(call('getWallet'), (e: unknown) => e instanceof EngineApiError && e.code === 'NO_WALLET');
      await assert.rejects(call('importWallet', { secret: 'not a phrase' }), /neither a valid recovery phrase/);
      await assert.rejects(call('watchWallet', { address: '0x123' }), (e: unknown) => e instanceof EngineApiError && e.code === 'INVALID_PARAMS');
      assert.equal(gate.ready, false);

      const ready = gate.waitUntilReady();
      const created = (await call('createWallet')) as { address: string; kind: string; hasPhrase: boolean };
      await ready;
      assert.equal(created.kind, 'key');
      assert.equal(created.hasPhrase, true);
      assert.equal(statusView(ctx).address, created.address);
      assert.notEqual(statusView(ctx).blockedBy, 'no-wallet');
      assert.equal(gate.address, created.address);
      assert.match(await gate.signMessage('hello'), /^0x[0-9a-f]{130}$/);
      await assert.rejects(call('createWallet'), /has a wallet already/);
      // The API answers with addresses, never the key.
      assert.ok(!JSON.stringify(await call('getWallet')).includes((await vault.unlock()).privateKey.slice(2)));
    } finally {
      governor.stop();
      store.close();
    }
  });
});
