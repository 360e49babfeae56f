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
  const stores: WorkerStore[] = [];
  after(() => {
    for (const store of stores) store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A hub whose ledger and payouts the test sets, counting the reads of each, and a mirror of it counting its events. */
  const mirrored = (name: string, ready = true) => {
    const store = WorkerStore.open(join(dir, name));
    stores.push(store);
    const hub = {
      entries: [] as EarningEntry[],
      payouts: [] as Payout[],
      reachable: true,
      reads: { ledger: 0, payouts: 0 },
      changes: 0,
    };
    const source = {
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
    };
    const mirror = new HubMirror({ source, store, ready: () => ready });
    mirror.onChanged(() => hub.changes++);
    return { store, hub, mirror };
  };
  const settled = async (done: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
  };

  it('mirrors the hub’s payouts, once each, following their status', async () => {
    const { store, hub, mirror } = mirrored('payouts');
    hub.payouts = [{ id: 'p1', amount: '300000000000000', status: 'pending', txHash: null, createdAt: new Date().toISOString() }];
    await mirror.sync();
    await mirror.sync();
    assert.equal(hub.changes, 1, 'an unchanged payout is not news');
    hub.payouts[0] = { ...hub.payouts[0]!, status: 'confirmed', txHash: `0x${'ab'.repeat(32)}` };
    await mirror.sync();
    assert.equal(hub.changes, 2);
    hub.reachable = false;
    await mirror.sync();
    const payouts = store.payouts.list();
    assert.equal(payouts.length, 1);
    assert.equal(payouts[0]!.status, 'confirmed');
    assert.equal(payouts[0]!.txHash, `0x${'ab'.repeat(32)}`);
    assert.equal(payouts[0]!.hub, hubUrl);
  });

  it('reads the ledger after changed payouts and the payouts after a changed ledger, never back again', async () => {
    const { store, hub, mirror } = mirrored('both');
    const at = new Date().toISOString();
    // A payout lands: the hub marked the entry it pays as paid.
    hub.payouts = [{ id: 'p1', amount: '5', status: 'pending', txHash: null, createdAt: at }];
    hub.entries = [{ id: '1', taskId: 't1', kind: 'matmul', amount: '5', status: 'paid', createdAt: at }];
    await mirror.sync();
    assert.deepEqual(hub.reads, { ledger: 1, payouts: 1 });
    assert.equal(hub.changes, 2, 'one event for each copy that changed');
    assert.equal(store.ledger.page({ limit: 5 }).entries[0]?.status, 'paid');
    assert.ok(mirror.ledgerReadAt > 0);

    // The engine's reconcile finds a new entry: the payouts are read once more, the ledger not.
    hub.entries = [...hub.entries, { id: '2', taskId: 't2', kind: 'matmul', amount: '7', status: 'verified', createdAt: at }];
    hub.payouts = [...hub.payouts, { id: 'p2', amount: '7', status: 'pending', txHash: null, createdAt: at }];
    assert.equal(await mirror.reconcile(), 1);
    await settled(() => store.payouts.list().length === 2);
    assert.deepEqual(hub.reads, { ledger: 2, payouts: 2 });
    assert.equal(hub.changes, 4);
  });

  it('reads no payouts before there is a wallet', async () => {
    const { hub, mirror } = mirrored('no-wallet', false);
    await mirror.sync();
    mirror.refreshIfStale();
    assert.deepEqual(hub.reads, { ledger: 0, payouts: 0 });
    assert.equal(mirror.syncedAt, null);
  });

  it('reads only what changed since its cursor, status changes included, a page at a time, and keeps the cursor across restarts', async () => {
    const store = WorkerStore.open(join(dir, 'changes'));
    stores.push(store);
    const at = '2026-03-01T10:00:00.000Z';
    // The hub's ledger: each entry with the change number of its last change.
    const ledger = new Map<string, { entry: EarningEntry; seq: number }>();
    let seq = 0;
    const put = (entry: EarningEntry): void => void ledger.set(entry.id, { entry, seq: ++seq });
    const asked: string[] = [];
    let numbered = true;
    const source = {
      hubUrl,
      allEarnings: async () => ({ entries: [...ledger.values()].map((x) => x.entry) }),
      earningsChanges: async (after: string) => {
        asked.push(after);
        if (!numbered) return { entries: [], changeCursor: null, more: false };
        const rows = [...ledger.values()].filter((x) => x.seq > Number(after)).sort((a, b) => a.seq - b.seq);
        const page = rows.slice(0, 2);
        const reached = page.length > 0 ? page[page.length - 1]!.seq : Math.min(Number(after), seq);
        return { entries: page.map((x) => x.entry), changeCursor: String(reached), more: rows.length > 2 };
      },
      payouts: async () => ({ payouts: [] }),
    };
    const mirror = new HubMirror({ source, store, ready: () => false });
    for (let i = 1; i <= 5; i++) put({ id: String(i), taskId: `t${i}`, kind: 'matmul', amount: '10', status: 'pending', createdAt: at });
    assert.equal(await mirror.reconcile(), 5);
    assert.deepEqual(asked, ['0', '2', '4'], 'a page at a time, each from where the last ended');
    assert.equal(store.ledger.changeCursor(hubUrl), '5');
    asked.length = 0;
    assert.equal(await mirror.reconcile(), 0);
    assert.deepEqual(asked, ['5'], 'nothing new: one small read');

    // Old entries change status: they come back, and the sums follow.
    put({ ...ledger.get('1')!.entry, status: 'verified' });
    put({ ...ledger.get('2')!.entry, status: 'rejected', amount: '0' });
    asked.length = 0;
    assert.equal(await mirror.reconcile(), 2);
    assert.deepEqual(asked, ['5']);
    assert.deepEqual(store.ledger.totals(), { pending: 30n, verified: 10n, paid: 0n });

    // A restart keeps the cursor.
    const reopened = WorkerStore.open(join(dir, 'changes'));
    stores.push(reopened);
    assert.equal(reopened.ledger.changeCursor(hubUrl), '7');

    // A hub whose ledger is behind the cursor (a new database): read again from the start.
    ledger.clear();
    seq = 0;
    put({ id: '1', taskId: 'n1', kind: 'matmul', amount: '3', status: 'verified', createdAt: at });
    asked.length = 0;
    assert.equal(await mirror.reconcile(), 1);
    assert.deepEqual(asked, ['7', '0']);
    assert.equal(store.ledger.changeCursor(hubUrl), '1');

    // A hub that does not number its changes: the whole ledger.
    numbered = false;
    put({ id: '9', taskId: 't9', kind: 'matmul', amount: '4', status: 'verified', createdAt: at });
    assert.equal(await mirror.reconcile(), 1);
    assert.equal(store.ledger.page({ limit: 1 }).entries[0]?.id, '9');
  });

  it('reads the payouts a page at a time, newest first, until a page changes nothing and no open payout is older', async () => {
    const store = WorkerStore.open(join(dir, 'payout-pages'));
    stores.push(store);
    const t0 = Date.parse('2026-03-01T00:00:00Z');
    // Newest first, as the hub pages them: p24 … p0.
    const payouts: Payout[] = Array.from({ length: 25 }, (_, i) => ({ id: `p${24 - i}`, amount: '1', status: 'confirmed' as const, txHash: null, createdAt: new Date(t0 + (24 - i) * 1000).toISOString() }));
    const asked: Array<string | null> = [];
    const source = {
      hubUrl,
      allEarnings: async () => ({ entries: [] }),
      payouts: async () => ({ payouts }),
      payoutsPage: async (before: string | null) => {
        asked.push(before);
        const start = before === null ? 0 : payouts.findIndex((p) => p.id === before) + 1;
        const page = payouts.slice(start, start + 10);
        return { payouts: page, nextCursor: start + 10 < payouts.length ? page[page.length - 1]!.id : null };
      },
    };
    const mirror = new HubMirror({ source, store, ready: () => true });
    mirror.onChanged(() => undefined);
    await mirror.sync();
    assert.deepEqual(asked, [null, 'p15', 'p5'], 'the first read takes every page');
    assert.equal(store.payouts.page({ limit: 100 }).payouts.length, 25);
    asked.length = 0;
    await mirror.sync();
    assert.deepEqual(asked, [null], 'then one page, when nothing changed');
    // An old payout still open here (sent, not yet confirmed): the pages are followed down to it.
    store.payouts.upsertMany(hubUrl, [{ ...payouts[22]!, status: 'sent' }]);
    asked.length = 0;
    await mirror.sync();
    assert.deepEqual(asked, [null, 'p15', 'p5']);
    assert.equal(store.payouts.oldestOpenAt(hubUrl), null, 'its confirmation was read');
  });
});
