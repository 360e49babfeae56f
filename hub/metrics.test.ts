/**
 * The hub's metrics and structured log, on real hubs over real HTTP: counters move by exactly
 * what was done, gauges read the store at each scrape, the token guards /metrics on the hub's
 * port, a port of their own serves them; every request's id is in its log line and its answer;
 * no credential ever reaches the log.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { f32ToBase64, LeaseResponseSchema, ResultResponseSchema, toF32, type Task } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { main } from './cli.js';
import { bearerMatches } from './metrics.js';
import { createHubLogger } from './logging.js';
import { payoutsStore } from './store/index.js';
import { call, matmulJobBody, runHubCommand, signIn, startTestHub, tempDir, type HubCommandRun, type TestHub } from './testkit.js';
import { iso } from './util.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The one sample of `name` whose labels include `labels`. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.equal(hits.length, 1, `one sample of ${name} ${JSON.stringify(labels)}, found ${hits.length}`);
  return hits[0]!.value;
}

/** A request's log line is written once its answer has gone out: it may come a moment after the client has it. */
async function logged(log: string[], reqId: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!log.some((l) => l.includes(`"reqId":"${reqId}"`))) {
    if (Date.now() > end) throw new Error(`no log line for request ${reqId}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function scrape(url: string, token = METRICS_TOKEN): Promise<Sample[]> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

async function lease(url: string, token: string): Promise<Extract<Task, { kind: 'matmul' }>> {
  const r = await call(`${url}/v1/tasks/lease`, { token, body: { kinds: ['matmul'] } });
  assert.equal(r.status, 200);
  const task = LeaseResponseSchema.parse(r.body).task;
  assert.equal(task.kind, 'matmul');
  return task as Extract<Task, { kind: 'matmul' }>;
}

describe('hub metrics on the hub port, behind a token', () => {
  let t: TestHub;
  const log: string[] = [];
  before(async () => {
    // 8×8×8 in tasks of 4 rows: two tasks.
    t = await startTestHub({ matmulTaskMacs: 4 * 8 * 8, metrics: { token: METRICS_TOKEN }, logger: { write: (l) => log.push(l) } });
  });
  after(async () => t?.close());

  it('counts leases and results exactly, reads queue, leases and payouts from the store', async () => {
    const url = t.hub.url;
    assert.equal(t.hub.metricsUrl, `${url}/metrics`);
    const m0 = await scrape(`${url}/metrics`);
    for (const kind of ['matmul', 'hashsearch']) {
      assert.equal(valueOf(m0, 'idleforge_hub_leases_total', { kind }), 0);
      assert.equal(valueOf(m0, 'idleforge_hub_tasks_queued', { kind }), 0);
      for (const verdict of ['accepted', 'pending', 'rejected']) assert.equal(valueOf(m0, 'idleforge_hub_results_total', { kind, verdict }), 0);
    }
    assert.equal(valueOf(m0, 'idleforge_hub_oldest_lease_age_seconds'), 0);
    assert.equal(valueOf(m0, 'idleforge_hub_payout_lag_seconds'), 0);
    for (const state of ['pending', 'sent', 'confirmed', 'failed']) assert.equal(valueOf(m0, 'idleforge_hub_payouts', { state }), 0);
    // Default process metrics come along.
    assert.ok(m0.some((s) => s.name === 'process_cpu_user_seconds_total'));
    assert.ok(m0.some((s) => s.name === 'nodejs_eventloop_lag_seconds'));

    const customer = await t.hub.createCustomer('acme');
    const job = await call(`${url}/v1/jobs`, { token: customer, body: matmulJobBody(8, 8, 8, 3).body });
    assert.equal(job.status, 201);
    const m1 = await scrape(`${url}/metrics`);
    assert.equal(valueOf(m1, 'idleforge_hub_tasks_queued', { kind: 'matmul' }), 2);
    assert.equal(valueOf(m1, 'idleforge_hub_tasks_leased', { kind: 'matmul' }), 0);

    const wallet = Wallet.createRandom();
    const token = await signIn(url, wallet);
    const first = await lease(url, token);
    t.clock.advance(30_000);
    const second = await lease(url, token);
    t.clock.advance(12_000);
    const m2 = await scrape(`${url}/metrics`);
    assert.equal(valueOf(m2, 'idleforge_hub_leases_total', { kind: 'matmul' }), 2);
    assert.equal(valueOf(m2, 'idleforge_hub_leases_total', { kind: 'hashsearch' }), 0);
    assert.equal(valueOf(m2, 'idleforge_hub_tasks_queued', { kind: 'matmul' }), 0);
    assert.equal(valueOf(m2, 'idleforge_hub_tasks_leased', { kind: 'matmul' }), 2);
    assert.equal(valueOf(m2, 'idleforge_hub_oldest_lease_age_seconds'), 42, 'the first lease has been out 30 + 12 s');

    // One right answer, one wrong: accepted +1, rejected +1, the wrong one's task back in the queue.
    const c = matmul.matmulReference(first.params, toF32(first.inputs.a), toF32(first.inputs.b));
    const ok = await call(`${url}/v1/tasks/${first.id}/result`, { token, body: { output: { c: f32ToBase64(c) } } });
    assert.equal(ResultResponseSchema.parse(ok.body).status, 'accepted');
    const wrong = await call(`${url}/v1/tasks/${second.id}/result`, { token, body: { output: { c: f32ToBase64(new Float32Array(second.params.m * second.params.n).fill(7)) } } });
    assert.equal(ResultResponseSchema.parse(wrong.body).status, 'rejected');
    // A refused result (no lease any more) is judged by no one: only the request histogram sees it.
    assert.equal((await call(`${url}/v1/tasks/${first.id}/result`, { token, body: { output: { c: f32ToBase64(c) } } })).status, 409);

    // Payouts are read from the store: one pending 90 s old, one sent 20 s old, one confirmed.
    const at = (ago: number): string => iso(t.clock.now() - ago * 1000);
    const payout = (id: string, nonce: number, ago: number): Promise<void> =>
      payoutsStore.insertPayout(t.hub.db, { id, worker: wallet.address, to: wallet.address, amount: '5', chainId: 31337, token: '0xT', treasury: '0xTreasury', nonce, createdAt: at(ago) });
    await payout('pay_a', 0, 90);
    await payout('pay_b', 1, 20);
    await payoutsStore.storeSigned(t.hub.db, 'pay_b', '0x01', '0xab', at(19));
    await payoutsStore.markSent(t.hub.db, 'pay_b', at(19));
    await payout('pay_c', 2, 300);
    await payoutsStore.storeSigned(t.hub.db, 'pay_c', '0x02', '0xcd', at(299));
    await payoutsStore.markSent(t.hub.db, 'pay_c', at(299));
    await payoutsStore.markConfirmed(t.hub.db, 'pay_c', 7, at(290));

    const m3 = await scrape(`${url}/metrics`);
    assert.equal(valueOf(m3, 'idleforge_hub_results_total', { kind: 'matmul', verdict: 'accepted' }), 1);
    assert.equal(valueOf(m3, 'idleforge_hub_results_total', { kind: 'matmul', verdict: 'rejected' }), 1);
    assert.equal(valueOf(m3, 'idleforge_hub_results_total', { kind: 'matmul', verdict: 'pending' }), 0);
    assert.equal(valueOf(m3, 'idleforge_hub_leases_total', { kind: 'matmul' }), 2);
    assert.equal(valueOf(m3, 'idleforge_hub_tasks_queued', { kind: 'matmul' }), 1);
    assert.equal(valueOf(m3, 'idleforge_hub_tasks_leased', { kind: 'matmul' }), 0);
    assert.equal(valueOf(m3, 'idleforge_hub_oldest_lease_age_seconds'), 0);
    assert.equal(valueOf(m3, 'idleforge_hub_payouts', { state: 'pending' }), 1);
    assert.equal(valueOf(m3, 'idleforge_hub_payouts', { state: 'sent' }), 1);
    assert.equal(valueOf(m3, 'idleforge_hub_payouts', { state: 'confirmed' }), 1);
    assert.equal(valueOf(m3, 'idleforge_hub_payouts', { state: 'failed' }), 0);
    assert.equal(valueOf(m3, 'idleforge_hub_payout_lag_seconds'), 90);

    // Latency by route pattern and status class, never the raw URL.
    const route = '/v1/tasks/:id/result';
    assert.equal(valueOf(m3, 'idleforge_hub_http_request_duration_seconds_count', { method: 'POST', route, status_class: '2xx' }), 2);
    assert.equal(valueOf(m3, 'idleforge_hub_http_request_duration_seconds_count', { method: 'POST', route, status_class: '4xx' }), 1);
    assert.equal(valueOf(m3, 'idleforge_hub_http_request_duration_seconds_bucket', { method: 'POST', route, status_class: '2xx', le: '+Inf' }), 2);
    assert.equal(valueOf(m3, 'idleforge_hub_http_request_duration_seconds_count', { method: 'POST', route: '/v1/tasks/lease', status_class: '2xx' }), 2);
    assert.ok(!m3.some((s) => s.labels.route?.includes(first.id)), 'no task id in a label');
    await call(`${url}/v1/nowhere/${first.id}`);
    const m4 = await scrape(`${url}/metrics`);
    assert.equal(valueOf(m4, 'idleforge_hub_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status_class: '4xx' }), 1);
  });

  it('answers /metrics only to the token: 401 without it, with a wrong one, or another scheme', async () => {
    const url = `${t.hub.url}/metrics`;
    for (const authorization of [undefined, `Bearer ${METRICS_TOKEN.slice(0, -1)}x`, 'Bearer short', `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`, `Bearer  ${METRICS_TOKEN}`, `bearer ${METRICS_TOKEN}`]) {
      const r = await call(url, authorization === undefined ? {} : { headers: { authorization } });
      assert.equal(r.status, 401, String(authorization));
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="metrics"');
      assert.equal((r.body as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    }
    assert.equal((await call(url, { token: METRICS_TOKEN })).status, 200);
    assert.equal(bearerMatches(`Bearer ${METRICS_TOKEN}`, METRICS_TOKEN), true);
    assert.equal(bearerMatches(undefined, METRICS_TOKEN), false);
    assert.equal(bearerMatches('Bearer ', METRICS_TOKEN), false);
  });

  it('gives every request an id: a safe X-Request-Id is kept, anything else replaced; both logged and sent back', async () => {
    const url = `${t.hub.url}/v1/health`;
    const kept = await call(url, { headers: { 'x-request-id': 'proxy-7f3a.42' } });
    assert.equal(kept.headers.get('x-request-id'), 'proxy-7f3a.42');
    for (const bad of ['x'.repeat(129), 'a b', '"quoted"', 'a,b', '{}']) {
      const r = await call(url, { headers: { 'x-request-id': bad } });
      const id = r.headers.get('x-request-id') ?? '';
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, bad);
    }
    const fresh = await call(url);
    const freshId = fresh.headers.get('x-request-id') ?? '';
    assert.match(freshId, /^[0-9a-f-]{36}$/);
    // Refusals carry it too (a 404 and a 401 from a hook).
    assert.match((await call(`${t.hub.url}/v1/nowhere`)).headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal((await call(`${t.hub.url}/metrics`, { headers: { 'x-request-id': 'scrape-1' } })).headers.get('x-request-id'), 'scrape-1');
    await logged(log, 'scrape-1');

    const lines = log.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; req?: { url?: string }; statusCode?: number; route?: string | null; level?: number; time?: string });
    const keptLine = lines.find((l) => l.reqId === 'proxy-7f3a.42');
    assert.ok(keptLine, 'the request id is in the log');
    assert.equal(keptLine.msg, 'request');
    assert.equal(keptLine.req?.url, '/v1/health');
    assert.equal(keptLine.statusCode, 200);
    assert.equal(keptLine.route, '/v1/health');
    assert.equal(keptLine.level, 30);
    assert.match(keptLine.time ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.ok(lines.some((l) => l.reqId === freshId));
    assert.ok(lines.some((l) => l.reqId === 'scrape-1' && l.statusCode === 401));
    assert.ok(!log.some((l) => l.includes('x'.repeat(129))), 'a refused id is not logged');
  });

  it('logs no credential: bearer tokens, API keys, signatures, the metrics token', async () => {
    const url = t.hub.url;
    const wallet = Wallet.createRandom();
    const message = ((await call(`${url}/v1/auth/challenge`, { body: { address: wallet.address } })).body as { message: string }).message;
    const signature = await wallet.signMessage(message);
    const login = await call(`${url}/v1/auth/login`, { body: { message, signature } });
    const session = (login.body as { token: string }).token;
    const apiKey = await t.hub.createCustomer('secretive');
    await call(`${url}/v1/earnings`, { token: session });
    await call(`${url}/v1/earnings?after=x`, { token: session });
    await call(`${url}/v1/jobs/job_0000000000000000`, { token: apiKey });
    await call(`${url}/v1/jobs`, { token: apiKey, body: { kind: 'nope' } });
    await call(`${url}/v1/payouts`, { token: 'not-a-real-session-token-42' });
    await call(`${url}/metrics`, { token: METRICS_TOKEN });
    await call(`${url}/metrics`, { token: `${METRICS_TOKEN}-wrong`, headers: { 'x-request-id': 'last-of-secrets' } });
    await logged(log, 'last-of-secrets');
    // Whatever logs headers anyway gets them blanked.
    const own: string[] = [];
    createHubLogger({ write: (l) => own.push(l) }).info({ req: { headers: { authorization: `Bearer ${session}` } }, headers: { authorization: apiKey }, body: { signature, token: session } }, 'careless');
    const text = [...log, ...own].join('\n');
    assert.ok(own[0]?.includes('[redacted]'));
    for (const secret of [session, apiKey, signature, METRICS_TOKEN, 'not-a-real-session-token-42']) assert.ok(!text.includes(secret), `a secret reached the log: ${secret.slice(0, 8)}…`);
    assert.ok(log.length > 10);
    for (const line of log) assert.doesNotThrow(() => JSON.parse(line), line);
  });
});

describe('hub metrics on a port of their own', () => {
  let t: TestHub;
  before(async () => {
    t = await startTestHub({ metrics: { port: 0 } });
  });
  after(async () => t?.close());

  it('serves GET /metrics there without a token, and nothing at the hub port', async () => {
    const url = t.hub.metricsUrl;
    assert.ok(url);
    const u = new URL(url);
    assert.equal(u.hostname, '127.0.0.1');
    assert.notEqual(u.port, new URL(t.hub.url).port);
    assert.equal(u.pathname, '/metrics');
    await call(`${t.hub.url}/v1/health`);
    const samples = parseExposition(await (await fetch(url)).text());
    assert.equal(valueOf(samples, 'idleforge_hub_http_request_duration_seconds_count', { method: 'GET', route: '/v1/health', status_class: '2xx' }), 1);
    assert.equal((await call(`${t.hub.url}/metrics`, { token: METRICS_TOKEN })).status, 404);
    assert.equal((await fetch(`${u.origin}/other`)).status, 404);
    const post = await fetch(url, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('keeps hubs in one process apart: each counts its own', async () => {
    const other = await startTestHub({ metrics: { port: 0 } });
    try {
      await call(`${other.hub.url}/v1/health`);
      await call(`${other.hub.url}/v1/health`);
      const mine = parseExposition(await (await fetch(t.hub.metricsUrl!)).text());
      const theirs = parseExposition(await (await fetch(other.hub.metricsUrl!)).text());
      assert.equal(valueOf(mine, 'idleforge_hub_http_request_duration_seconds_count', { route: '/v1/health' }), 1);
      assert.equal(valueOf(theirs, 'idleforge_hub_http_request_duration_seconds_count', { route: '/v1/health' }), 2);
    } finally {
      await other.close();
    }
  });

  it('is refused with a clear error when asked for both ways, a bad port or a weak token', async () => {
    await assert.rejects(startTestHub({ metrics: { port: 0, token: METRICS_TOKEN } }), /not both/);
    await assert.rejects(startTestHub({ metrics: { port: 70000 } }), /0 to 65535/);
    await assert.rejects(startTestHub({ metrics: { token: 'short' } }), /16 to 256/);
    await assert.rejects(startTestHub({ metrics: { token: `${'a'.repeat(20)} b` } }), /without spaces/);
  });
});

describe('idleforge hub: metrics and log flags', () => {
  it('serves the metrics where asked, prints where, logs JSON lines, and refuses bad flags with code 2', async () => {
    const dir = await tempDir();
    let hub: HubCommandRun | null = null;
    try {
      hub = await runHubCommand(['hub', '--db', join(dir.path, 'hub.db'), '--metrics-port', '0'], /^metrics at /, {});
      const { io, err, out } = hub;
      const hubUrl = /^hub listening at (\S+)/.exec(hub.line(/^hub listening at/) ?? '')?.[1];
      const metricsUrl = /^metrics at (\S+)$/.exec(hub.line(/^metrics at /) ?? '')?.[1];
      assert.ok(hubUrl && metricsUrl);
      const health = await call(`${hubUrl}/v1/health`, { headers: { 'x-request-id': 'cli-check-1' } });
      assert.equal(health.headers.get('x-request-id'), 'cli-check-1');
      assert.equal((await fetch(metricsUrl)).status, 200);
      assert.equal(await hub.stop(), 0);
      const json = out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { reqId?: string; service?: string });
      assert.ok(json.some((l) => l.reqId === 'cli-check-1' && l.service === 'idleforge-hub'), out.join('\n'));
      assert.ok(!out.some((l) => /listening at/.test(l) && l.startsWith('{')), 'no JSON line looks like the line scripts read the URL from');

      const db = join(dir.path, 'x.db');
      const bad: [string[], NodeJS.ProcessEnv, RegExp][] = [
        [['--metrics-port', 'x'], {}, /--metrics-port must be a number/],
        [['--metrics-port', '70000'], {}, /0 to 65535/],
        [['--metrics-token', 'short'], {}, /16 to 256/],
        [[], { IDLEFORGE_METRICS_TOKEN: 'short' }, /IDLEFORGE_METRICS_TOKEN/],
        [['--metrics-port', '9100', '--metrics-token', METRICS_TOKEN], {}, /not both/],
        [['--log-level', 'loud'], {}, /--log-level must be one of/],
      ];
      for (const [flags, env, message] of bad) {
        err.length = 0;
        assert.equal(await main(['hub', '--db', db, ...flags], io, env), 2, flags.join(' '));
        assert.match(err.join('\n'), message);
      }
    } finally {
      await hub?.stop();
      await dir.remove();
    }
  });
});
