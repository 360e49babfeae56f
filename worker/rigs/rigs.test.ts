/**
 * A rig's own checks of the commands the hub relays (a forged, replayed, stale or misdirected one
 * is refused even if the hub relays it), and the alerts decided from consecutive fleet readings.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { canonicalCommand, type DeliveredCommand, type FleetResponse, type RigCommand } from '../../protocol/index.js';
import { WorkerStore } from '../store/index.js';
import { AlertWatch } from './alerts.js';
import { refusal } from './check.js';

const desk = Wallet.createRandom();
const rig = Wallet.createRandom();
const stranger = Wallet.createRandom();
const NOW = Date.parse('2026-12-07T12:00:00.000Z');

async function delivered(signer: { signMessage(m: string): Promise<string> }, over: Partial<RigCommand> = {}): Promise<DeliveredCommand> {
  const command: RigCommand = { target: rig.address, action: 'pause', nonce: 'ab'.repeat(16), expiresAt: new Date(NOW + 60_000).toISOString(), from: desk.address, ...over };
  return { id: '1', command, signature: await signer.signMessage(canonicalCommand(command)), createdAt: new Date(NOW).toISOString() };
}

describe('a rig checks each command itself', () => {
  const members = new Set([desk.address, rig.address]);
  const check = { self: rig.address, members, now: NOW, seen: () => false };

  it('applies a command signed by a rig of its fleet, for it, live and new', async () => {
    assert.equal(refusal(await delivered(desk), check), null);
  });

  it('refuses a forged, misdirected, outside, expired or replayed command', async () => {
    assert.match(refusal(await delivered(stranger), check)!, /signature/);
    // The signature of another command does not carry over to this one.
    const good = await delivered(desk);
    assert.match(refusal({ ...good, command: { ...good.command, action: 'resume' } }, check)!, /signature/);
    assert.match(refusal(await delivered(desk, { target: stranger.address }), check)!, /another rig/);
    assert.match(refusal(await delivered(stranger, { from: stranger.address }), check)!, /not one of your rigs/);
    assert.match(refusal(await delivered(desk, { expiresAt: new Date(NOW - 1).toISOString() }), check)!, /expired/);
    assert.match(refusal(await delivered(desk, { expiresAt: new Date(NOW + 3_600_000).toISOString() }), check)!, /too long/);
    assert.match(refusal(await delivered(desk), { ...check, seen: () => true })!, /replay/);
  });

  it('records a command once per sender and nonce, in the SQLite store', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idleforge-rigs-'));
    const store = WorkerStore.open(dir);
    try {
      const r = { sender: desk.address, nonce: 'ab'.repeat(16), hub: 'http://127.0.0.1:1', action: 'pause', senderName: 'desk-pc', outcome: 'applied' as const, reason: null, at: new Date(NOW).toISOString() };
      assert.equal(store.rigs.seen(desk.address, r.nonce), false);
      assert.equal(store.rigs.record(r), true);
      assert.equal(store.rigs.record({ ...r, outcome: 'refused', reason: 'again' }), false);
      assert.equal(store.rigs.seen(desk.address, r.nonce), true);
      assert.deepEqual(store.rigs.recent().map((x) => x.outcome), ['applied']);
      assert.equal(store.rigs.cursor(r.hub), '0');
      store.rigs.setCursor(r.hub, '42');
      assert.equal(store.rigs.cursor(r.hub), '42');
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alerts from fleet readings', () => {
  const reading = (nowMs: number, beats: Record<string, { at: number; hot?: boolean; rejected?: number }>): FleetResponse => ({
    payoutAddress: desk.address,
    now: new Date(nowMs).toISOString(),
    rigs: Object.entries(beats).map(([address, b]) => ({
      address,
      heartbeatAt: new Date(b.at).toISOString(),
      state: 'working',
      gpus: [],
      rig: { name: address === rig.address ? 'garage' : 'desk-pc', reason: b.hot ? 'Too hot: 90 °C' : 'Working', blockedBy: b.hot ? 'too-hot' : null, temperatureC: 60, day: '2026-12-07', tasksToday: 1, rejectedToday: b.rejected ?? 0, earnedToday: '1', earnedWeek: '1' },
    })),
  });

  it('says once that another rig went quiet, came back, got too hot or had results rejected; never about itself', () => {
    const w = new AlertWatch();
    assert.deepEqual(w.next(reading(NOW, { [desk.address]: { at: NOW }, [rig.address]: { at: NOW } }), desk.address, 120), [], 'the first reading sets the scene');
    assert.deepEqual(w.next(reading(NOW + 119_000, { [desk.address]: { at: NOW + 119_000 }, [rig.address]: { at: NOW } }), desk.address, 120), []);
    const gone = w.next(reading(NOW + 121_000, { [desk.address]: { at: NOW + 121_000 }, [rig.address]: { at: NOW } }), desk.address, 120);
    assert.deepEqual(gone.map((a) => [a.kind, a.name]), [['offline', 'garage']]);
    assert.match(gone[0]!.message, /2 minutes/);
    assert.deepEqual(w.next(reading(NOW + 150_000, { [desk.address]: { at: NOW + 150_000 }, [rig.address]: { at: NOW } }), desk.address, 120), [], 'said once');
    const back = w.next(reading(NOW + 160_000, { [desk.address]: { at: NOW + 160_000 }, [rig.address]: { at: NOW + 159_000, hot: true, rejected: 2 } }), desk.address, 120);
    assert.deepEqual(back.map((a) => a.kind), ['online', 'too-hot', 'wrong-results']);
    // The desk's own silence is not an alert on the desk.
    assert.deepEqual(w.next(reading(NOW + 400_000, { [desk.address]: { at: NOW }, [rig.address]: { at: NOW + 399_000, hot: true, rejected: 2 } }), desk.address, 120), []);
  });
});
