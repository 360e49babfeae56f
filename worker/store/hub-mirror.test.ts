import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { z } from 'zod';
import type { EarningEntry, PayoutSchema } from '../../protocol/index.js';
import { HubMirror } from './hub-mirror.js';
import { WorkerStore } from './index.js';

const hubUrl = 'http://127.0.0.1:9';
type Payout = z.infer<typeof PayoutSchema>;

describe('the hub mirror', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-hub-mirror-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A hub whose ledger and payouts the test sets, counting the reads of each. */
  const fakeHub = () => {
    const hub = {
      entries: [] as EarningEntry[],
      payouts: [] as Payout[],
      reachable: true,
      reads: { ledger: 0, payouts: 0 },
      source: {
        hubUrl,
        allEarnings: async (): Promise<{ entries: EarningEntry[] }> => {
          hub.reads.ledger++;
          return { entries: hub.entries };
        },
        payouts: async (): Promise<{ payouts: Payout[] }> => {
          hub.reads.payouts++;
          if (!hub.reachable) throw new Error('cannot reach the hub');
          return { payouts: hub.payouts };
        },
      },
    };
    return hub;
  };
  const settled = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
  };

  it('mirrors the hub’s payouts, once each, following their status', async () => {
    const store = WorkerStore.open(join(dir, 'payouts'));
    const hub = fakeHub();
    hub.payouts = [{ id: 'p1', amount: '300000000000000', status: 'pending', txHash: null, createdAt: new Date().toISOString() }];
    let changes = 0;
    const mirror = new HubMirror({ source: hub.source, store, ready: () => true });
    mirror.onChanged(() => changes++);
    try {
      await mirror.sync();
      await mirror.sync();
      assert.equal(changes, 1, 'an unchanged payout is not news');
      hub.payouts[0] = { ...hub.payouts[0]!, status: 'confirmed', txHash: `0x${'ab'.repeat(32)}` };
      await mirror.sync();
      assert.equal(changes, 2);
      hub.reachable = false;
      await mirror.sync();
      const payouts = store.payouts.list();
      assert.equal(payouts.length, 1);
      assert.equal(payouts[0]!.status, 'confirmed');
      assert.equal(payouts[0]!.txHash, `0x${'ab'.repeat(32)}`);
      assert.equal(payouts[0]!.hub, hubUrl);
    } finally {
      store.close();
    }
  });

  it('reads the ledger after changed payouts and the payouts after a changed ledger, never back again', async () => {
    const store = WorkerStore.open(join(dir, 'both'));
    const hub = fakeHub();
    const mirror = new HubMirror({ source: hub.source, store, ready: () => true });
    let changes = 0;
    mirror.onChanged(() => changes++);
    const at = new Date().toISOString();
    try {
      // A payout lands: the hub marked the entry it pays as paid.
      hub.payouts = [{ id: 'p1', amount: '5', status: 'pending', txHash: null, createdAt: at }];
      hub.entries = [{ id: '1', taskId: 't1', kind: 'matmul', amount: '5', status: 'paid', createdAt: at }];
      await mirror.sync();
      assert.deepEqual(hub.reads, { ledger: 1, payouts: 1 });
      assert.equal(changes, 2, 'one event for each copy that changed');
      assert.equal(store.ledger.page({ limit: 5 }).entries[0]?.status, 'paid');

      // The engine's reconcile finds a new entry: the payouts are read once more, the ledger not.
      hub.entries = [...hub.entries, { id: '2', taskId: 't2', kind: 'matmul', amount: '7', status: 'verified', createdAt: at }];
      hub.payouts = [...hub.payouts, { id: 'p2', amount: '7', status: 'pending', txHash: null, createdAt: at }];
      assert.equal(await mirror.reconcile(), 1);
      await settled(() => store.payouts.list().length === 2);
      assert.deepEqual(hub.reads, { ledger: 2, payouts: 2 });
      assert.equal(changes, 4);
      assert.equal(store.payouts.list().length, 2);
    } finally {
      store.close();
    }
  });

  it('reads no payouts before there is a wallet', async () => {
    const store = WorkerStore.open(join(dir, 'no-wallet'));
    const hub = fakeHub();
    const mirror = new HubMirror({ source: hub.source, store, ready: () => false });
    try {
      await mirror.sync();
      mirror.refreshIfStale();
      assert.deepEqual(hub.reads, { ledger: 0, payouts: 0 });
      assert.equal(mirror.syncedAt, null);
    } finally {
      store.close();
    }
  });
});
