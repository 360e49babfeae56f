/**
 * The rigs' link on a real hub (PostgreSQL, HTTP) and a real worker store: a command from a rig of
 * the fleet is applied once; one a compromised hub forges or replays (written straight into its
 * database) is refused by the rig itself and recorded as refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { canonicalCommand, DEFAULT_SETTINGS, fleetJoinMessage, type RigCommand } from '../protocol/index.js';
import { call, signIn, startTestHub, type TestHub } from '../hub/testkit.js';
import { HubClient } from '../worker/hub-client.js';
import type { PauseState } from '../worker/schedule/conditions.js';
import { WorkerStore, type RigCommandRecord } from '../worker/store/index.js';
import { FleetLink } from '../worker/rigs/link.js';

describe('the rigs link applies what its fleet signed, once, and nothing else', () => {
  let t: TestHub;
  let store: WorkerStore;
  let dir: string;
  const owner = Wallet.createRandom();
  const rig = Wallet.createRandom();
  const stranger = Wallet.createRandom();
  const pauses: PauseState[] = [];
  const records: RigCommandRecord[] = [];
  let link: FleetLink;
  let client: HubClient;

  before(async () => {
    t = await startTestHub();
    dir = mkdtempSync(join(tmpdir(), 'idleforge-link-'));
    store = WorkerStore.open(dir);
    client = new HubClient({ hubUrl: t.hub.url, wallet: rig });
    // The rig pays to the owner's address and joins with the owner's signature.
    await client.registerPayoutAddress(owner.address);
    await client.joinFleet({ signature: await owner.signMessage(fleetJoinMessage(owner.address, rig.address)) });
    link = new FleetLink({
      client,
      store,
      settings: () => DEFAULT_SETTINGS,
      ready: () => true,
      setPause: (p) => pauses.push(p),
      ownName: () => 'garage',
      onAlert: () => undefined,
      onCommand: (r) => records.push(r),
      log: () => undefined,
      now: () => t.clock.now(),
    });
  });
  after(async () => {
    client.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  const command = (over: Partial<RigCommand> = {}): RigCommand => ({
    target: rig.address,
    action: 'pause',
    nonce: randomBytes(16).toString('hex'),
    expiresAt: new Date(t.clock.now() + 60_000).toISOString(),
    from: owner.address,
    ...over,
  });
  /** What a compromised hub could do: put any row in its table of commands. */
  const plant = async (cmd: RigCommand, signature: string): Promise<void> => {
    await t.hub.db.query('INSERT INTO fleet_commands (sender, target, nonce, command, signature, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      cmd.from,
      cmd.target,
      cmd.nonce,
      canonicalCommand(cmd),
      signature,
      cmd.expiresAt,
      new Date(t.clock.now()).toISOString(),
    ]);
  };

  it('applies a command the owner\'s rig signed and sent, and says so', async () => {
    const ownerToken = await signIn(t.hub.url, owner);
    const cmd = command();
    const sent = await call(`${t.hub.url}/v1/fleet/commands`, { token: ownerToken, body: { command: cmd, signature: await owner.signMessage(canonicalCommand(cmd)) } });
    assert.equal(sent.status, 200);
    await link.tick(true);
    const senderName = `${owner.address.slice(0, 6)}…${owner.address.slice(-4)}`;
    assert.deepEqual(pauses, [{ kind: 'paused', from: senderName }], 'the pause says who sent it');
    assert.deepEqual(records.map((r) => [r.action, r.outcome, r.senderName]), [['pause', 'applied', senderName]]);
    assert.deepEqual(link.view().commands.map((c) => c.outcome), ['applied']);
    // Asked again: nothing new.
    await link.tick();
    assert.equal(pauses.length, 1);
  });

  it('refuses a command the hub forged or replayed', async () => {
    // Signed by a stranger in the owner's name.
    const forged = command({ action: 'resume' });
    await plant(forged, await stranger.signMessage(canonicalCommand(forged)));
    // The nonce of the owner's command from before, used again (under a new id).
    const first = store.rigs.recent(1)[0]!;
    const replayed = command({ nonce: first.nonce });
    await t.hub.db.query('DELETE FROM fleet_commands WHERE nonce = ?', [first.nonce]);
    await plant(replayed, await owner.signMessage(canonicalCommand(replayed)));
    await link.tick();
    assert.equal(pauses.length, 1, 'nothing more applied');
    assert.deepEqual(
      records.slice(1).map((r) => [r.action, r.outcome, r.reason]),
      [
        ['resume', 'refused', "its signature is not its sender's"],
        ['pause', 'refused', 'it was applied or refused before (a replay)'],
      ],
    );
  });
});
