/**
 * Rigs together, end to end on one devnet: three real `idleforge worker` processes paying to one
 * address (alpha holds the payout key; beta and gamma are watch-only rigs that join, one with a
 * pairing code, one with the payout key's signature) and delta paying elsewhere. Then: a rig that
 * merely set the payout address sees nothing; a remote pause takes effect on its rig within 10 s,
 * also shown in its history; gamma is killed and the others report it offline within the interval;
 * delta sees none of them and cannot command them; a replayed or forged command is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { HDNodeWallet } from 'ethers';
import { canonicalCommand, RigsViewSchema, type CliEvent, type RigCommand, type RigsView } from '../protocol/index.js';
import { call, errorOf, signIn } from '../hub/testkit.js';
import { runCli, startCli, tempDir, until, type CliRun } from './helpers.js';

/** Short for the test: heartbeats every 2 s, offline after 8 s without one. */
const OFFLINE_AFTER_S = 8;

type Rig = 'alpha' | 'beta' | 'gamma' | 'delta';

describe('rigs on one devnet: three paying to one address, one elsewhere', { timeout: 6 * 60_000 }, () => {
  const dir = tempDir('rigs');
  const data = (rig: Rig): string => join(dir.path, rig);
  let devnet: CliRun;
  let hub = '';
  let payout = '';
  const address: Partial<Record<Rig, string>> = {};
  const workers: Partial<Record<Rig, CliRun>> = {};

  const cli = async (args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> => runCli(args, {}, input, 120_000);
  const ok = async (args: string[], input?: string): Promise<string> => {
    const r = await cli(args, input);
    assert.equal(r.code, 0, `idleforge ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const rigsOf = async (rig: Rig): Promise<{ code: number; view: RigsView }> => {
    const r = await cli(['rigs', '--data', data(rig), '--hub', hub, '--json']);
    return { code: r.code, view: RigsViewSchema.parse(JSON.parse(r.stdout)) };
  };
  const keyOf = async (rig: Rig): Promise<HDNodeWallet> => HDNodeWallet.fromPhrase((JSON.parse(await ok(['wallet', 'reveal', '--yes', '--data', data(rig), '--json'])) as { phrase: string }).phrase);
  const isAlert = (rig: string) => (e: CliEvent): e is Extract<CliEvent, { event: 'rig-alert' }> => e.event === 'rig-alert' && e.alert === 'offline' && e.rig === rig;

  before(async () => {
    devnet = startCli(['devnet', '--json', '--data', join(dir.path, 'devnet')]);
    const ready = await devnet.waitFor((e): e is Extract<CliEvent, { event: 'ready' }> => e.event === 'ready', 120_000);
    hub = ready.hub;
    payout = (JSON.parse(await ok(['wallet', 'create', '--data', data('alpha'), '--json'])) as { address: string }).address;
    address.alpha = payout;
    for (const rig of ['beta', 'gamma'] as const) address[rig] = (JSON.parse(await ok(['wallet', 'watch', payout, '--data', data(rig), '--json'])) as { address: string }).address;
    address.delta = (JSON.parse(await ok(['wallet', 'create', '--data', data('delta'), '--json'])) as { address: string }).address;
    for (const rig of ['alpha', 'beta', 'gamma', 'delta'] as const) {
      await ok(['settings', 'set', `rigName="${rig}"`, `rigOfflineAfterS=${OFFLINE_AFTER_S}`, '--data', data(rig)]);
      // Only beta works (a pause must stop real work); the others wait paused, and still heartbeat and take commands.
      if (rig !== 'beta') await ok(['pause', '--data', data(rig)]);
      workers[rig] = startCli(['worker', '--hub', hub, '--data', data(rig), '--json', '--idle-minutes', '0', '--intensity', '25']);
    }
    for (const rig of ['alpha', 'beta', 'gamma', 'delta'] as const) await workers[rig]!.waitFor((e): e is Extract<CliEvent, { event: 'signed-in' }> => e.event === 'signed-in', 120_000);
  });

  after(async () => {
    for (const w of Object.values(workers)) w.child.kill('SIGKILL');
    devnet?.child.kill('SIGINT');
    await devnet?.exit;
    dir.remove();
  });

  it('a rig that only sets the payout address sees nothing, and nobody sees it', async () => {
    const beta = await rigsOf('beta');
    assert.equal(beta.code, 1);
    assert.equal(beta.view.status, 'not-in-fleet');
    assert.match(beta.view.message ?? '', /pairing code/);
    assert.deepEqual(beta.view.rigs, []);
    const alpha = await rigsOf('alpha');
    assert.deepEqual(alpha.view.rigs.map((r) => r.name), ['alpha']);
    // Nor can the fleet command it by name, nor it the fleet.
    const r = await cli(['rigs', 'pause', 'beta', '--data', data('alpha'), '--hub', hub]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no other rig of yours is called beta/);
    const back = await cli(['rigs', 'pause', address.alpha!, '--data', data('beta'), '--hub', hub]);
    assert.notEqual(back.code, 0);
    assert.match(back.stderr, /has not proven/);
  });

  it('beta joins with a pairing code from alpha, gamma with the payout key\'s signature; all three see each other', async () => {
    const { code } = JSON.parse(await ok(['rigs', 'pair', '--data', data('alpha'), '--hub', hub, '--json'])) as { code: string };
    await ok(['rigs', 'join', code, '--data', data('beta'), '--hub', hub]);
    const { message } = JSON.parse(await ok(['rigs', 'join-message', '--data', data('gamma'), '--json'])) as { message: string };
    const signature = await (await keyOf('alpha')).signMessage(message);
    await ok(['rigs', 'join', '--signature', signature, '--data', data('gamma'), '--hub', hub]);
    const all = await until(
      'the fleet to list three rigs online',
      async () => {
        const { view } = await rigsOf('alpha');
        return view.rigs.length === 3 && view.rigs.every((r) => r.online && r.state !== null) ? view : null;
      },
      60_000,
      500,
    );
    assert.deepEqual(all.rigs.map((r) => r.name), ['alpha', 'beta', 'gamma']);
    assert.equal(all.payoutAddress, payout);
    const delta = await rigsOf('delta');
    assert.deepEqual(delta.view.rigs.map((r) => r.address), [address.delta], 'the rig paying elsewhere sees none of them');
  });

  it('a remote pause takes effect on its rig within 10 s, and shows in its history', async () => {
    const beta = workers.beta!;
    await beta.waitFor((e): e is Extract<CliEvent, { event: 'state' }> => e.event === 'state' && e.state === 'working', 120_000);
    const sent = Date.now();
    await ok(['rigs', 'pause', 'beta', '--data', data('alpha'), '--hub', hub]);
    const applied = await beta.waitFor((e): e is Extract<CliEvent, { event: 'rig-command' }> => e.event === 'rig-command', 15_000);
    assert.equal(applied.outcome, 'applied');
    assert.equal(applied.from, address.alpha);
    assert.equal(applied.fromName, 'alpha');
    const paused = await beta.waitFor((e): e is Extract<CliEvent, { event: 'state' }> => e.event === 'state' && e.state === 'paused', 15_000);
    assert.ok(Date.now() - sent < 10_000, `paused ${Date.now() - sent} ms after the command was sent`);
    assert.equal(paused.reason, 'Paused from alpha', 'its status says who paused it');
    // In beta's history: its state log ("Why am I not earning?") and its commands, as Rigs shows them.
    const db = new Database(join(data('beta'), 'worker.db'), { readonly: true });
    try {
      const logged = db.prepare<[], { state: string; reason: string }>("SELECT state, reason FROM state_log WHERE reason LIKE '%from alpha'").all();
      assert.deepEqual(logged, [{ state: 'paused', reason: 'Paused from alpha' }]);
    } finally {
      db.close();
    }
    const history = (await rigsOf('beta')).view.commands;
    assert.deepEqual(history.map((c) => [c.action, c.fromName, c.outcome]), [['pause', 'alpha', 'applied']]);
    // The fleet sees it paused, at beta's next heartbeat.
    await until('alpha to see beta paused', async () => (await rigsOf('alpha')).view.rigs.find((r) => r.name === 'beta')?.state === 'paused', 20_000, 500);
  });

  it('delta cannot command them, and a forged or replayed command is refused', async () => {
    const r = await cli(['rigs', 'resume', 'beta', '--data', data('delta'), '--hub', hub]);
    assert.notEqual(r.code, 0);
    // Straight to the hub, with delta's own key: not one of its rigs.
    const delta = await keyOf('delta');
    const deltaToken = await signIn(hub, delta);
    const command = (from: string, over: Partial<RigCommand> = {}): RigCommand => ({
      target: address.beta!,
      action: 'resume',
      nonce: randomBytes(16).toString('hex'),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      from,
      ...over,
    });
    const own = command(delta.address);
    const refused = await call(`${hub}/v1/fleet/commands`, { token: deltaToken, body: { command: own, signature: await delta.signMessage(canonicalCommand(own)) } });
    assert.equal(refused.status, 403);
    assert.equal(errorOf(refused).code, 'NOT_IN_FLEET');
    // In alpha's name, signed by delta: forged.
    const forged = command(address.alpha!);
    const f = await call(`${hub}/v1/fleet/commands`, { token: deltaToken, body: { command: forged, signature: await delta.signMessage(canonicalCommand(forged)) } });
    assert.equal(f.status, 403);
    // Alpha's real command, sent again: a replay.
    const alpha = await keyOf('alpha');
    const alphaToken = await signIn(hub, alpha);
    const real = command(alpha.address);
    const body = { command: real, signature: await alpha.signMessage(canonicalCommand(real)) };
    assert.equal((await call(`${hub}/v1/fleet/commands`, { token: alphaToken, body })).status, 200);
    const replay = await call(`${hub}/v1/fleet/commands`, { token: alphaToken, body });
    assert.equal(replay.status, 409);
    assert.equal(errorOf(replay).code, 'NONCE_USED');
    // The real one resumes beta, once.
    await workers.beta!.waitFor((e): e is Extract<CliEvent, { event: 'rig-command' }> => e.event === 'rig-command' && e.action === 'resume', 15_000);
    assert.equal(workers.beta!.events.filter((e) => e.event === 'rig-command' && e.action === 'resume').length, 1);
  });

  it('gamma is killed: alpha and beta report it offline within the interval', async (t) => {
    workers.gamma!.child.kill('SIGKILL');
    const killed = Date.now();
    const [a, b] = await Promise.all([workers.alpha!.waitFor(isAlert(address.gamma!), 40_000), workers.beta!.waitFor(isAlert(address.gamma!), 40_000)]);
    const took = Date.now() - killed;
    // The interval, plus at most a heartbeat's gap before the kill (2 s), a reading of the fleet
    // after it (2 s) and slack for a loaded machine's slow requests.
    t.diagnostic(`gamma reported offline ${took} ms after it was killed (offline after ${OFFLINE_AFTER_S} s)`);
    assert.ok(took > (OFFLINE_AFTER_S - 2) * 1000, `reported ${took} ms after the kill: too early`);
    assert.ok(took < (OFFLINE_AFTER_S + 2 + 2 + 6) * 1000, `reported ${took} ms after the kill`);
    assert.equal(a.name, 'gamma');
    assert.match(b.message, /not been heard from for 8 seconds/);
    const { view } = await rigsOf('alpha');
    assert.equal(view.rigs.find((r) => r.name === 'gamma')?.online, false);
    assert.equal(view.rigs.find((r) => r.name === 'beta')?.online, true);
    assert.equal(workers.delta!.events.filter((e) => e.event === 'rig-alert').length, 0, 'delta hears nothing of them');
  });
});
