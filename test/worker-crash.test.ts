/**
 * Never losing a result: the worker is killed with SIGKILL at random moments of its task loop,
 * 100 times, against a real hub. Afterwards its SQLite file is intact, it carries on, and its
 * local ledger equals the hub's, each task once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { f32ToBase64, JobCreatedSchema } from '../protocol/index.js';
import { startHub, type Hub } from '../hub/server.js';
import { HubClient } from '../worker/hub-client.js';
import { headlessVault } from '../worker/wallet/index.js';
import { WORKER_DB_FILE } from '../worker/store/index.js';
import { build } from 'esbuild';
import { randomMatrix, ROOT, runCli, tempDir } from './helpers.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';

const KILLS = Number(process.env.IDLEFORGE_CRASH_KILLS ?? 100);

describe('worker crash safety', () => {
  const dir = tempDir('crash');
  const data = join(dir.path, 'worker');
  let hub: Hub;
  let customerKey: string;

  const addJobs = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const [m, n, k] = [48 + (i % 5) * 7, 40, 56];
      const res = await fetch(`${hub.url}/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${customerKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'matmul', m, n, k, a: f32ToBase64(randomMatrix(m, k, i + 1)), b: f32ToBase64(randomMatrix(k, n, i + 7)) }),
      });
      JobCreatedSchema.parse(await res.json());
    }
  };

  // The worker as one bundled file (the same code, without compiling TypeScript at every start):
  // a hundred starts cost half as much. It sits under node_modules so its packages resolve.
  const bundle = join(ROOT, 'node_modules', '.cache', 'idleforge-test', `idleforge-${process.pid}.mjs`);

  before(async () => {
    await build({
      stdin: { contents: "import { run } from './cli/main.ts';\nprocess.exit(await run(process.argv.slice(2)));\n", resolveDir: ROOT, loader: 'ts', sourcefile: 'entry.ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: bundle,
      logLevel: 'warning',
    });
    // Short leases, so tasks held by a killed worker soon go back to the queue.
    hub = await startHub({ db: await testDatabaseUrl(), port: 0, leaseSeconds: 4, customerStartingBalance: 10n ** 30n, quotas: { openJobs: 1000 } });
    customerKey = await hub.createCustomer('crash test');
    await addJobs(200);
  });
  after(async () => {
    await hub.close();
    dir.remove();
    rmSync(bundle, { force: true });
  });

  it(`survives ${KILLS} SIGKILLs at random moments of the task loop`, { timeout: 15 * 60_000 }, async () => {
    // A first clean run measures the GPU (once, a few seconds) and credits a task.
    const first = await runCli(['worker', '--hub', hub.url, '--data', data, '--once', '1', '--json', '--idle-minutes', '0']);
    assert.equal(first.code, 0, first.stderr);
    let killedWhileWorking = 0;
    for (let i = 0; i < KILLS; i++) {
      const child = spawn(process.execPath, [bundle, 'worker', '--hub', hub.url, '--data', data, '--json', '--idle-minutes', '0'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // A worker that neither signs in nor exits fails the test rather than holding it.
      let stuck = false;
      const guard = setTimeout(() => {
        stuck = true;
        child.kill('SIGKILL');
      }, 60_000);
      // Wait until the loop runs (signed in), then kill at a random moment of it.
      await new Promise<void>((resolve) => {
        const lines = createInterface({ input: child.stdout });
        let armed = false;
        let working = false;
        lines.on('line', (line) => {
          if (line.includes('"event":"state"')) working = line.includes('"state":"working"');
          if (!armed && line.includes('"event":"signed-in"')) {
            armed = true;
            setTimeout(() => {
              if (working) killedWhileWorking++;
              child.kill('SIGKILL');
              resolve();
            }, Math.random() * 500);
          }
        });
        void exited.then(() => resolve());
      });
      await exited;
      clearTimeout(guard);
      if (stuck) throw new Error(`worker ${i + 1} of ${KILLS} neither signed in nor exited in 60 s`);
    }
    assert.ok(killedWhileWorking > 0, 'some kills landed while a task was running');

    // It carries on: a normal run after all that credits more tasks and exits cleanly.
    const finalRun = await runCli(['worker', '--hub', hub.url, '--data', data, '--once', '3', '--json', '--idle-minutes', '0']);
    assert.equal(finalRun.code, 0, finalRun.stderr);

    const db = new Database(join(data, WORKER_DB_FILE), { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();

    const local = await runCli(['earnings', '--data', data, '--json']);
    const localEntries = (JSON.parse(local.stdout) as { entries: Array<{ id: string; taskId: string; amount: string; status: string }> }).entries;
    const remote = await new HubClient({ hubUrl: hub.url, wallet: await headlessVault(data).unlock() }).allEarnings();
    assert.deepEqual(
      localEntries.map(({ id, taskId, amount, status }) => ({ id, taskId, amount, status })).sort((a, b) => Number(a.id) - Number(b.id)),
      remote.entries.map(({ id, taskId, amount, status }) => ({ id, taskId, amount, status })),
    );
    const credited = remote.entries.filter((e) => e.status === 'verified').map((e) => e.taskId);
    assert.equal(new Set(credited).size, credited.length, 'no task credited twice');
    assert.ok(credited.length >= 3);
  });
});
