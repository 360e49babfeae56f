/**
 * Rigs together on a real hub (PostgreSQL, HTTP): who is in a fleet (proof by pairing code or by
 * the payout key's signature, never by the payout address alone), who reads it, and which
 * commands the hub stores for whom.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Wallet, type Signer } from 'ethers';

type Key = Pick<Signer, 'signMessage'> & { address: string };
import {
  CommandsResponseSchema,
  FleetResponseSchema,
  PairingCodeResponseSchema,
  canonicalCommand,
  fleetJoinMessage,
  type HeartbeatRequest,
  type RigCommand,
} from '../protocol/index.js';
import { testDatabaseUrl } from './postgres/testing.js';
import { startHub } from './server.js';
import { call, errorOf, signIn, startTestHub, type TestHub } from './testkit.js';

describe('fleets: proof, reading, commands', () => {
  let t: TestHub;
  let url: string;
  // P pays to itself (it holds the payout key); B and C are watch-only rigs paying to P; D pays to itself.
  const p = Wallet.createRandom();
  const b = Wallet.createRandom();
  const c = Wallet.createRandom();
  const d = Wallet.createRandom();
  const tok: Record<string, string> = {};

  before(async () => {
    t = await startTestHub();
    url = t.hub.url;
    for (const [name, w] of Object.entries({ p, b, c, d })) tok[name] = await signIn(url, w);
    for (const name of ['b', 'c']) {
      const r = await call(`${url}/v1/workers/payout-address`, { token: tok[name]!, body: { address: p.address } });
      assert.equal(r.status, 200);
    }
  });
  after(() => t.close());

  const fleetOf = async (name: string): Promise<string[]> => {
    const r = await call(`${url}/v1/fleet`, { token: tok[name]! });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return FleetResponseSchema.parse(r.body).rigs.map((x) => x.address);
  };
  const command = (from: Key, target: string, over: Partial<RigCommand> = {}): RigCommand => ({
    target,
    action: 'pause',
    nonce: randomBytes(16).toString('hex'),
    expiresAt: new Date(t.clock.now() + 60_000).toISOString(),
    from: from.address,
    ...over,
  });
  const send = async (token: string, cmd: RigCommand, signer: Key) =>
    call(`${url}/v1/fleet/commands`, { token, body: { command: cmd, signature: await signer.signMessage(canonicalCommand(cmd)) } });

  it('a rig that only sets the payout address is in no fleet: it reads nothing and nobody sees it', async () => {
    const r = await call(`${url}/v1/fleet`, { token: tok.b! });
    assert.equal(r.status, 403);
    assert.equal(errorOf(r).code, 'NOT_IN_FLEET');
    assert.deepEqual(await fleetOf('p'), [p.address]);
    assert.deepEqual(await fleetOf('d'), [d.address]);
    // Nor can it be commanded, or command.
    assert.equal(errorOf(await send(tok.p!, command(p, b.address), p)).code, 'NOT_IN_FLEET');
    assert.equal(errorOf(await send(tok.b!, command(b, p.address), b)).code, 'NOT_IN_FLEET');
  });

  it('joins with a one-time pairing code from a rig of the fleet, and with the payout key\'s signature', async () => {
    // D pays to itself: P's code does not take it in, and stays unspent.
    const code = PairingCodeResponseSchema.parse((await call(`${url}/v1/fleet/pairing-codes`, { token: tok.p!, body: {} })).body).code;
    const wrongPayout = await call(`${url}/v1/fleet/join`, { token: tok.d!, body: { code } });
    assert.equal(wrongPayout.status, 409);
    assert.equal(errorOf(wrongPayout).code, 'PAYOUT_ADDRESS_DIFFERS');
    assert.equal((await call(`${url}/v1/fleet/join`, { token: tok.b!, body: { code: code.toLowerCase().replace(/-/g, '') } })).status, 200);
    const again = await call(`${url}/v1/fleet/join`, { token: tok.c!, body: { code } });
    assert.equal(again.status, 403, 'a code is used once');
    assert.equal(errorOf(again).code, 'BAD_PAIRING_CODE');
    // A signature by another key than the payout address's proves nothing.
    const forged = await call(`${url}/v1/fleet/join`, { token: tok.c!, body: { signature: await d.signMessage(fleetJoinMessage(p.address, c.address)) } });
    assert.equal(errorOf(forged).code, 'BAD_SIGNATURE');
    // P's signature for another rig does not admit C either.
    const otherRig = await call(`${url}/v1/fleet/join`, { token: tok.c!, body: { signature: await p.signMessage(fleetJoinMessage(p.address, b.address)) } });
    assert.equal(errorOf(otherRig).code, 'BAD_SIGNATURE');
    const signed = await call(`${url}/v1/fleet/join`, { token: tok.c!, body: { signature: await p.signMessage(fleetJoinMessage(p.address, c.address)) } });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    assert.deepEqual(await fleetOf('b'), [b.address, c.address, p.address].sort());
    assert.deepEqual(await fleetOf('d'), [d.address], 'a rig paying elsewhere sees none of them');
    // A code needs a fleet: B may hand one out now.
    assert.equal((await call(`${url}/v1/fleet/pairing-codes`, { token: tok.b!, body: {} })).status, 200);
  });

  it('keeps each rig\'s last heartbeat with what its fleet sees', async () => {
    const hb: HeartbeatRequest = {
      appVersion: '0.1.0',
      state: 'waiting',
      gpus: [{ vendor: 'nvidia', model: 'RTX 4090', vramMiB: 24564, driver: null, software: false }],
      rig: { name: 'desk-pc', reason: 'Too hot: 86 °C', blockedBy: 'too-hot', temperatureC: 86, day: '2026-12-07', tasksToday: 4, rejectedToday: 0, earnedToday: '1000', earnedWeek: '5000' },
    };
    assert.equal((await call(`${url}/v1/workers/heartbeat`, { token: tok.b!, body: hb })).status, 200);
    const r = FleetResponseSchema.parse((await call(`${url}/v1/fleet`, { token: tok.p! })).body);
    const seen = r.rigs.find((x) => x.address === b.address)!;
    assert.equal(seen.rig?.name, 'desk-pc');
    assert.equal(seen.state, 'waiting');
    assert.equal(seen.rig?.temperatureC, 86);
    assert.equal(seen.heartbeatAt, new Date(t.clock.now()).toISOString());
    assert.equal(r.rigs.find((x) => x.address === c.address)?.heartbeatAt, null, 'C never sent one');
  });

  it('stores a signed command for its target once; refuses forged, replayed, stale and outside commands', async () => {
    const cmd = command(p, b.address);
    const sent = await send(tok.p!, cmd, p);
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const replay = await send(tok.p!, cmd, p);
    assert.equal(replay.status, 409);
    assert.equal(errorOf(replay).code, 'NONCE_USED');
    // Signed by a key that is not the sender's.
    assert.equal(errorOf(await send(tok.p!, command(p, b.address), d)).code, 'BAD_SIGNATURE');
    // In another rig's name.
    assert.equal(errorOf(await send(tok.c!, command(p, b.address), p)).code, 'WRONG_SENDER');
    assert.equal(errorOf(await send(tok.p!, command(p, b.address, { expiresAt: new Date(t.clock.now() - 1).toISOString() }), p)).code, 'COMMAND_EXPIRED');
    assert.equal(errorOf(await send(tok.p!, command(p, b.address, { expiresAt: new Date(t.clock.now() + 3_600_000).toISOString() }), p)).code, 'COMMAND_TOO_LONG');
    // D is in no fleet with B: it cannot command it, whatever it signs.
    assert.equal(errorOf(await send(tok.d!, command(d, b.address), d)).code, 'NOT_IN_FLEET');

    const forB = CommandsResponseSchema.parse((await call(`${url}/v1/fleet/commands`, { token: tok.b! })).body).commands;
    assert.equal(forB.length, 1);
    assert.deepEqual(forB[0]!.command, cmd);
    assert.equal(CommandsResponseSchema.parse((await call(`${url}/v1/fleet/commands?after=${forB[0]!.id}`, { token: tok.b! })).body).commands.length, 0);
    assert.equal(CommandsResponseSchema.parse((await call(`${url}/v1/fleet/commands`, { token: tok.d! })).body).commands.length, 0);
    // Expired commands are no longer handed out, and are forgotten at the next command; the
    // expired command's nonce sent again is refused for its signed expiry.
    t.clock.advance(61_000);
    assert.equal(CommandsResponseSchema.parse((await call(`${url}/v1/fleet/commands`, { token: tok.b! })).body).commands.length, 0);
    assert.equal((await send(tok.p!, command(p, b.address), p)).status, 200);
    const kept = await t.hub.db.query<{ n: number }>('SELECT count(*)::int AS n FROM fleet_commands WHERE nonce = ?', [cmd.nonce]);
    assert.equal(kept.rows[0]!.n, 0);
    assert.equal(errorOf(await send(tok.p!, cmd, p)).code, 'COMMAND_EXPIRED');
  });

  it('a rig that pays elsewhere again leaves the fleet', async () => {
    assert.equal((await call(`${url}/v1/workers/payout-address`, { token: tok.c!, body: { address: d.address } })).status, 200);
    assert.deepEqual(await fleetOf('p'), [b.address, p.address].sort());
    assert.equal(errorOf(await call(`${url}/v1/fleet`, { token: tok.c! })).code, 'NOT_IN_FLEET');
  });
});

describe('fleets across hub processes on one database', () => {
  it('a code from one process admits at another, and a command sent to one is fetched from the other', async (t) => {
    const db = await testDatabaseUrl();
    const publicUrl = 'https://hub.example';
    const a = await startHub({ db, publicUrl, replicaPolicy: { loopbackDistinct: true } });
    t.after(() => a.close());
    const b = await startHub({ db, publicUrl, replicaPolicy: { loopbackDistinct: true } });
    t.after(() => b.close());
    const owner = Wallet.createRandom();
    const rig = Wallet.createRandom();
    const ownerToken = await signIn(a.url, owner);
    const rigToken = await signIn(b.url, rig);
    assert.equal((await call(`${b.url}/v1/workers/payout-address`, { token: rigToken, body: { address: owner.address } })).status, 200);
    const { code } = PairingCodeResponseSchema.parse((await call(`${a.url}/v1/fleet/pairing-codes`, { token: ownerToken, body: {} })).body);
    assert.equal((await call(`${b.url}/v1/fleet/join`, { token: rigToken, body: { code } })).status, 200);
    const cmd: RigCommand = { target: rig.address, action: 'snooze', until: new Date(Date.now() + 3_600_000).toISOString(), nonce: randomBytes(16).toString('hex'), expiresAt: new Date(Date.now() + 60_000).toISOString(), from: owner.address };
    const sent = await call(`${a.url}/v1/fleet/commands`, { token: ownerToken, body: { command: cmd, signature: await owner.signMessage(canonicalCommand(cmd)) } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const fetched = CommandsResponseSchema.parse((await call(`${b.url}/v1/fleet/commands`, { token: rigToken })).body).commands;
    assert.deepEqual(fetched.map((c) => c.command), [cmd]);
  });
});
