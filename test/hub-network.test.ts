/**
 * One network, several hub processes: three `idleforge hub` processes on one PostgreSQL database
 * behind HAProxy (deploy/haproxy.cfg), eight real `idleforge worker` processes going through the
 * proxy, customer jobs of both kinds, payouts on anvil. One hub process is killed with SIGKILL
 * mid-run, later the one that leads the network (it pays). Then: every job completes with the
 * right result, no task is credited twice, each worker's local mirror of the ledger equals the
 * hub's, and every payout is one Transfer on the chain, each Transfer a payout.
 *
 * Skipped, with the reason, where `haproxy` is not installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { JobCreatedSchema, JobStatusSchema, f32ToBase64 } from '../protocol/index.js';
import { hashsearch, matmul } from '../kernels/index.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';
import { call, startTestChain, type TestChain } from '../hub/testkit.js';
import { renderHaproxyConfig } from './haproxy.js';
import { freePort, randomMatrix, ROOT, runCli, startCli, tempDir, until, type CliRun } from './helpers.js';

const haproxyMissing = spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).error !== undefined;
const skip = haproxyMissing ? 'haproxy is not installed (apt-get install haproxy; .ci/run installs it)' : false;

const HUBS = 3;
const WORKERS = 8;

interface HubProcess {
  name: string;
  port: number;
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  customerKey: string | null;
}

describe('three hub processes on one PostgreSQL behind HAProxy, eight workers, two hubs killed', { skip, timeout: 8 * 60_000 }, () => {
  const dir = tempDir('network');
  let chain: TestChain;
  let db: pg.Pool;
  let dbUrl = '';
  let proxy: ChildProcess | null = null;
  let publicUrl = '';
  const hubs: HubProcess[] = [];
  const workers: CliRun[] = [];

  const startHubProcess = (name: string, port: number, withCustomer: boolean): Promise<HubProcess> => {
    const args = ['--import', 'tsx', join(ROOT, 'hub/cli.ts'), 'hub', '--host', '127.0.0.1', '--port', String(port), '--public-url', publicUrl, '--trust-proxy', '127.0.0.1'];
    args.push('--rpc', chain.rpcUrl, '--token', chain.token, '--payout-threshold', '1', '--replica-timeout', '2', '--lease-seconds', '20');
    if (withCustomer) args.push('--customer', 'acme', '--customer-credit', (10n ** 30n).toString());
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, IDLEFORGE_HUB_DB: dbUrl, IDLEFORGE_HUB_TREASURY_KEY: chain.treasuryKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const h: HubProcess = { name, port, child, stdout: [], stderr: [], exit, customerKey: null };
    createInterface({ input: child.stderr! }).on('line', (l) => h.stderr.push(l));
    return new Promise((resolve, reject) => {
      let listening = false;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        h.stdout.push(line);
        listening ||= line.startsWith('hub listening at');
        h.customerKey ??= /^customer key for acme: (\S+)$/.exec(line)?.[1] ?? null;
        if (listening && (!withCustomer || h.customerKey)) resolve(h);
      });
      void exit.then(({ code, signal }) => reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${h.stderr.join('\n')}`)));
    });
  };

  before(async () => {
    chain = await startTestChain();
    dbUrl = await testDatabaseUrl();
    db = new pg.Pool({ connectionString: dbUrl, max: 2 });
    const front = await freePort();
    publicUrl = `http://127.0.0.1:${front}`;
    const ports: number[] = [];
    for (let i = 0; i < HUBS; i++) ports.push(await freePort());
    // The first process migrates the database, makes the customer and, its loops running first, leads.
    hubs.push(await startHubProcess('hub1', ports[0]!, true));
    await sleep(500);
    for (let i = 1; i < HUBS; i++) hubs.push(await startHubProcess(`hub${i + 1}`, ports[i]!, false));
    const cfg = join(dir.path, 'haproxy.cfg');
    writeFileSync(cfg, renderHaproxyConfig(readFileSync(join(ROOT, 'deploy/haproxy.cfg'), 'utf8'), front, ports, join(dir.path, 'haproxy.sock')));
    proxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
    await until('HAProxy to answer', async () => (await call(`${publicUrl}/v1/health`)).status === 200, 20_000);
  });

  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    for (const h of hubs) h.child.kill('SIGKILL');
    proxy?.kill('SIGKILL');
    await db?.end();
    await chain?.stop();
    dir.remove();
  });

  it('completes every job correctly, credits each task once, mirrors equal the ledger, one Transfer per payout', async () => {
    const key = hubs[0]!.customerKey!;
    // Customer jobs of both kinds, through the proxy: matmul in several tasks each, hashsearch replicated.
    const matmuls: { id: string; m: number; n: number; k: number; a: Float32Array; b: Float32Array }[] = [];
    for (let i = 0; i < 4; i++) {
      const [m, n, k] = [256, 192, 128];
      const a = randomMatrix(m, k, 11 + i);
      const b = randomMatrix(k, n, 111 + i);
      const r = await call(`${publicUrl}/v1/jobs`, { token: key, body: { kind: 'matmul', m, n, k, a: f32ToBase64(a), b: f32ToBase64(b) } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      matmuls.push({ id: JobCreatedSchema.parse(r.body).id, m, n, k, a, b });
    }
    const searches: { id: string; spec: { header: string; target: string; start: bigint; count: number } }[] = [];
    for (let i = 0; i < 3; i++) {
      const spec = { header: (i + 1).toString(16).padStart(2, '0').repeat(40), target: `000${'f'.repeat(61)}`, start: BigInt(i) << 32n, count: 2 ** 19 };
      const r = await call(`${publicUrl}/v1/jobs`, { token: key, body: { kind: 'hashsearch', ...spec, start: spec.start.toString() } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      searches.push({ id: JobCreatedSchema.parse(r.body).id, spec });
    }
    const allJobs = [...matmuls.map((j) => j.id), ...searches.map((j) => j.id)];
    const totalTasks = (await db.query<{ n: string }>('SELECT count(*) AS n FROM tasks')).rows[0]!.n;

    for (let i = 0; i < WORKERS; i++) {
      const data = join(dir.path, `worker${i}`);
      mkdirSync(data, { recursive: true });
      workers.push(startCli(['worker', '--hub', publicUrl, '--data', data, '--json', '--idle-minutes', '0']));
    }
    // What the network looks like, for a failure's message.
    const picture = async (): Promise<string> => {
      const tasks = await db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM tasks GROUP BY status');
      const lines = [`tasks: ${tasks.rows.map((r) => `${r.status} ${r.n}`).join(', ')}`];
      workers.forEach((w, i) => lines.push(`worker ${i}: ${w.events.slice(-3).map((e) => JSON.stringify(e)).join(' ')} ${w.stderr.slice(-2).join(' ')}`));
      return lines.join('\n');
    };
    const progress = async (what: string, share: number): Promise<void> => {
      try {
        await until(what, async () => (await doneTasks()) >= share * Number(totalTasks), 180_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${await picture()}`);
      }
    };
    const doneTasks = async (): Promise<number> => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM tasks WHERE status = 'done'")).rows[0]!.n);

    // A third of the way: SIGKILL hub2 (it does not lead). Two thirds: SIGKILL hub1, the leader.
    await progress('a third of the tasks done', 1 / 3);
    hubs[1]!.child.kill('SIGKILL');
    await progress('two thirds of the tasks done', 2 / 3);
    assert.ok(hubs[0]!.stdout.some((l) => l.includes('now leads the network')), 'hub1 led');
    const led = (h: HubProcess): boolean => h.stdout.some((l) => l.includes('now leads the network'));
    assert.deepEqual([led(hubs[1]!), led(hubs[2]!)], [false, false], 'one leader at a time');
    hubs[0]!.child.kill('SIGKILL');
    assert.equal((await hubs[0]!.exit).signal, 'SIGKILL');

    // Every job completes, read through the proxy (only hub3 is left).
    await until(
      'every job to complete',
      async () => {
        for (const id of allJobs) {
          const s = JobStatusSchema.parse((await call(`${publicUrl}/v1/jobs/${id}`, { token: key })).body);
          if (s.status !== 'done') return false;
        }
        return true;
      },
      240_000,
    ).catch(async (error: unknown) => {
      throw new Error(`${(error as Error).message}\n${await picture()}`);
    });
    // hub3 takes the lead at its loops' next round after hub1's connection ended.
    await until('hub3 to take the lead', async () => hubs[2]!.stdout.some((l) => l.includes('now leads the network')), 30_000);

    for (const j of matmuls) {
      const r = await call(`${publicUrl}/v1/jobs/${j.id}/result`, { token: key });
      assert.equal(r.status, 200);
      const c = new Float32Array((r.body as Uint8Array).slice().buffer);
      const want = matmul.matmulReference({ m: j.m, n: j.n, k: j.k }, j.a, j.b);
      assert.equal(c.length, want.length);
      for (let i = 0; i < c.length; i++) assert.ok(Math.abs(c[i]! - want[i]!) <= 1e-3 * (1 + Math.abs(want[i]!)), `matmul ${j.id} element ${i}`);
    }
    for (const s of searches) {
      const r = await call(`${publicUrl}/v1/jobs/${s.id}/result`, { token: key });
      assert.equal(r.status, 200);
      const want = hashsearch.hashsearchReference(s.spec).nonces.map(String);
      assert.deepEqual((r.body as { nonces: string[] }).nonces, want, `hashsearch ${s.id}`);
    }

    // No task credited twice: one credited entry per task and worker, no more than the quorum per task.
    const twice = await db.query(
      "SELECT e.task_id, count(*) AS n, max(t.quorum) AS quorum FROM earnings e JOIN tasks t ON t.id = e.task_id WHERE e.status <> 'rejected' GROUP BY e.task_id HAVING count(*) > max(t.quorum) OR count(DISTINCT e.worker) < count(*)",
    );
    assert.deepEqual(twice.rows, []);

    // Payouts: let hub3 pay what is owed, then every payout is one Transfer and every Transfer a payout.
    await until(
      'payouts to settle',
      async () => {
        const open = await db.query("SELECT 1 FROM payouts WHERE status NOT IN ('confirmed', 'failed') LIMIT 1");
        return open.rowCount === 0;
      },
      60_000,
    );
    const payouts = (await db.query<{ id: string; to_address: string; amount: string; tx_hash: string; status: string }>("SELECT id, to_address, amount, tx_hash, status FROM payouts ORDER BY id")).rows;
    assert.ok(payouts.length > 0, 'workers were paid');
    assert.deepEqual(payouts.filter((p) => p.status !== 'confirmed'), []);
    const addresses = [...new Set(payouts.map((p) => p.to_address))];
    const transfers = (await Promise.all(addresses.map((a) => chain.transfersTo(a)))).flat().filter((t) => t.from.toLowerCase() === chain.treasury.toLowerCase());
    assert.equal(transfers.length, payouts.length, 'one Transfer per payout');
    assert.deepEqual(
      transfers.map((t) => `${t.txHash}:${t.to.toLowerCase()}:${t.value}`).sort(),
      payouts.map((p) => `${p.tx_hash}:${p.to_address.toLowerCase()}:${p.amount}`).sort(),
    );

    // Each worker's mirror equals the hub's ledger: stopped, started once more to reconcile at sign-in.
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exit));
    for (let i = 0; i < WORKERS; i++) {
      const data = join(dir.path, `worker${i}`);
      const again = startCli(['worker', '--hub', publicUrl, '--data', data, '--json', '--idle-minutes', '0']);
      workers.push(again);
      await again.waitFor((e): e is Extract<typeof e, { event: 'signed-in' }> => e.event === 'signed-in', 60_000);
      const address = again.events.find((e) => e.event === 'signed-in')!;
      await sleep(1000);
      again.child.kill('SIGTERM');
      await again.exit;
      const local = JSON.parse((await runCli(['earnings', '--data', data, '--json'])).stdout) as { entries: { id: string; taskId: string; amount: string; status: string }[] };
      const hubSide = (await db.query<{ id: string; task_id: string; amount: string; status: string }>('SELECT id, task_id, amount, status FROM earnings WHERE worker = $1 ORDER BY id', ['address' in address ? address.address : ''])).rows;
      assert.deepEqual(
        local.entries.map((e) => ({ id: Number(e.id), taskId: e.taskId, amount: e.amount, status: e.status })).sort((x, y) => x.id - y.id),
        hubSide.map((e) => ({ id: Number(e.id), taskId: e.task_id, amount: e.amount, status: e.status })),
        `worker ${i}'s mirror`,
      );
    }
  });
});
