/**
 * "I forget to restart it after playing": the headless worker, as users run it
 * (`idleforge worker --hub … --json`, wallet made at start), against a real hub. A real process
 * named like a game starts and ends three times, at random moments of a task of each kind; each
 * time the worker must pause and then come back to work on its own within a few seconds of the
 * game ending. The same after `idleforge pause --for 30m` and `idleforge resume`: a paused
 * worker process stays alive, waiting, however long the pause lasts.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { f32ToBase64, JobCreatedSchema, type CliEvent } from '../protocol/index.js';
import { DEVNET_REPLICA_POLICY, DEVNET_REPLICATION, DEVNET_STANDING } from '../hub/devnet.js';
import { startHub, type Hub } from '../hub/server.js';
import { randomMatrix, runCli, startCli, tempDir, type CliRun } from './helpers.js';
import { testDatabaseUrl } from '../hub/postgres/testing.js';

type StateEvent = Extract<CliEvent, { event: 'state' }>;
const isState = (e: CliEvent): e is StateEvent => e.event === 'state';

/** A game: a copy of `sleep` whose argv[0] is a name on the built-in list of games. */
const GAME = 'EldenRing.exe';
/** A few seconds: the program list is read every 3 s, and the worker then leases at once. */
const BACK_WITHIN_MS = 10_000;

describe('a headless worker gives the GPU to a game and comes back when it ends', () => {
  const dir = tempDir('game');
  const data = join(dir.path, 'worker');
  const gameBinary = join(dir.path, GAME);
  let hub: Hub;
  let customerKey: string;
  let worker: CliRun;

  const submit = async (body: Record<string, unknown>): Promise<void> => {
    const res = await fetch(`${hub.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${customerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, await res.clone().text());
    JobCreatedSchema.parse(await res.json());
  };
  // Full-size tasks: 512³ multiply-adds (about 0.1 s on SwiftShader here), or 2²⁰ nonces (about 1 s).
  const jobs = {
    matmul: (seed: number) => ({ kind: 'matmul', m: 8 * 512, n: 512, k: 512, a: f32ToBase64(randomMatrix(8 * 512, 512, seed)), b: f32ToBase64(randomMatrix(512, 512, seed + 1)) }),
    hashsearch: (seed: number) => ({ kind: 'hashsearch', header: seed.toString(16).padStart(64, '0'), target: `0000${'f'.repeat(60)}`, start: String(seed * 2 ** 24), count: 4 * 2 ** 20 }),
  };
  /** A moment within the first task, in ms after it started. */
  const within = { matmul: 100, hashsearch: 1000 };

  /** The index of the first event from `from` on that `match` accepts, waiting up to `ms`. */
  const nextState = async (from: number, match: (e: StateEvent) => boolean, ms: number, what: string): Promise<number> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = worker.events.findIndex((e, j) => j >= from && isState(e) && match(e));
      if (i >= 0) return i;
      if (worker.child.exitCode !== null) assert.fail(`the worker exited (${worker.child.exitCode}) while waiting for ${what}; stderr:\n${worker.stderr.slice(-20).join('\n')}`);
      if (Date.now() > deadline) assert.fail(`no ${what} within ${ms} ms; last states: ${JSON.stringify(worker.events.filter(isState).slice(-5))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const working = (kind?: string) => (e: StateEvent) => e.state === 'working' && (kind === undefined ? /^Working on a/.test(e.reason) : e.reason.startsWith(`Working on a ${kind} task`));

  /** Once the worker has drained what came before, queues a job of `kind` and waits until it works on it. */
  const startWork = async (kind: keyof typeof jobs, seed: number): Promise<number> => {
    const drained = (): boolean => worker.events.filter(isState).at(-1)?.reason === 'Waiting: the hub has no work right now';
    for (const deadline = Date.now() + 120_000; !drained(); await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() > deadline) assert.fail(`the worker did not run out of work in 120 s; last states: ${JSON.stringify(worker.events.filter(isState).slice(-5))}`);
    }
    const from = worker.events.length;
    await submit(jobs[kind](seed));
    return nextState(from, working(kind), 60_000, `a ${kind} task`);
  };

  before(async () => {
    copyFileSync('/bin/sleep', gameBinary);
    chmodSync(gameBinary, 0o755);
    // The devnet's rules: one lone worker on 127.0.0.1, its hashsearch results checked by the hub.
    hub = await startHub({
      db: await testDatabaseUrl(),
      port: 0,
      customerStartingBalance: 10n ** 30n,
      standing: DEVNET_STANDING,
      replicaPolicy: DEVNET_REPLICA_POLICY,
      replication: DEVNET_REPLICATION,
    });
    customerKey = await hub.createCustomer('game test');
    worker = startCli(['worker', '--hub', hub.url, '--data', data, '--json', '--idle-minutes', '0']);
  });
  after(async () => {
    if (worker.child.exitCode === null) {
      worker.child.kill('SIGINT');
      await worker.exit;
    }
    await hub.close();
    dir.remove();
  });

  const kinds = ['matmul', 'hashsearch', Math.random() < 0.5 ? 'matmul' : 'hashsearch'] as const;
  for (const [round, kind] of kinds.entries()) {
    it(`round ${round + 1}: a game starts at a random moment of a ${kind} task; the worker pauses, then works again once it ends`, async () => {
      const started = await startWork(kind, round + 1);
      // Somewhere in the task.
      await new Promise((r) => setTimeout(r, Math.random() * within[kind]));

      const beforeGame = worker.events.length;
      const gameStarted = Date.now();
      const game: ChildProcess = spawn(gameBinary, ['600'], { stdio: 'ignore' });
      try {
        const paused = await nextState(beforeGame, (e) => e.reason.includes(GAME), 15_000, 'a pause for the game');
        const pausedAfter = Date.now() - gameStarted;
        assert.notEqual((worker.events[paused] as StateEvent).state, 'working');
        process.stderr.write(`round ${round + 1} (${kind}, task started at event ${started}): paused ${pausedAfter} ms after the game started\n`);
        // The game goes on a while: the worker must stay, paused, the whole time (it exited here).
        await new Promise((r) => setTimeout(r, 5000));
        assert.equal(worker.child.exitCode, null, `the worker exited while the game ran; stderr:\n${worker.stderr.slice(-10).join('\n')}`);
        const during = worker.events.slice(paused + 1).filter((e) => isState(e) && e.state === 'working');
        assert.deepEqual(during, [], 'no work while the game runs');
        // Work waits for it, whatever of the first job the worker finished before it noticed.
        await submit(jobs[kind](round + 11));
      } finally {
        game.kill('SIGKILL');
      }
      await new Promise<void>((r) => (game.exitCode !== null || game.signalCode !== null ? r() : game.once('exit', () => r())));
      const gameEnded = Date.now();
      const afterGame = worker.events.length;
      await nextState(afterGame, working(), BACK_WITHIN_MS, 'work after the game ended');
      process.stderr.write(`round ${round + 1}: back at work ${Date.now() - gameEnded} ms after the game ended\n`);
    });
  }

  it('`idleforge pause --for 30m` pauses the running worker, which stays up and comes back on `idleforge resume`', async () => {
    await startWork('matmul', 9);
    const from = worker.events.length;
    const paused = await runCli(['pause', '--for', '30m', '--data', data]);
    assert.equal(paused.code, 0, paused.stderr);
    await nextState(from, (e) => e.state === 'paused', 10_000, 'the pause');
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(worker.child.exitCode, null, `the worker exited while paused; stderr:\n${worker.stderr.slice(-10).join('\n')}`);
    await submit(jobs.matmul(19));
    const resumedAt = worker.events.length;
    const resumed = await runCli(['resume', '--data', data]);
    assert.equal(resumed.code, 0, resumed.stderr);
    await nextState(resumedAt, working(), BACK_WITHIN_MS, 'work after resume');
  });
});
