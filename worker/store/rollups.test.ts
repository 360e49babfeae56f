/** The ledger's sums by hour and day stay exact through inserts and status changes (checked against bigint sums of the entries in JS). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { EarningEntry, EarningStatus, SeriesBucket } from '../../protocol/index.js';
import { earningsSeries, seriesFromSums } from '../api/series.js';
import { WorkerStore } from './index.js';
import { DAY_MS, HOUR_MS, rebuildRollups } from './rollups.js';

const dir = mkdtempSync(join(tmpdir(), 'idleforge-rollups-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small deterministic generator (the test is the same on every run). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const HUB = 'http://127.0.0.1:9';
const T0 = Date.parse('2026-03-01T00:00:00Z');

/** What the sums must be: the entries themselves, summed in JS. */
function expectedSums(entries: Iterable<EarningEntry>, fromMs: number, toMs: number): Record<EarningStatus, { amount: bigint; entries: number }> {
  const s = { pending: { amount: 0n, entries: 0 }, verified: { amount: 0n, entries: 0 }, paid: { amount: 0n, entries: 0 }, rejected: { amount: 0n, entries: 0 } };
  for (const e of entries) {
    const t = Date.parse(e.createdAt);
    if (t < fromMs || t >= toMs) continue;
    s[e.status].amount += BigInt(e.amount);
    s[e.status].entries += 1;
  }
  return s;
}

/** Writes `t` with an offset other than Z half the time: the sums go by the instant, not the text. */
function iso(t: number, withOffset: boolean): string {
  if (!withOffset) return new Date(t).toISOString();
  const local = new Date(t + 5.5 * HOUR_MS).toISOString().slice(0, 23);
  return `${local}+05:30`;
}

describe('ledger sums by hour and day', () => {
  it('stay exact through inserts, status changes, rejections and payouts, and match a rebuild from the entries', () => {
    const store = WorkerStore.open(join(dir, 'exact'));
    try {
      const rnd = random(18);
      const truth = new Map<string, EarningEntry>();
      const write = (batch: EarningEntry[]): void => {
        store.ledger.upsertMany(HUB, batch);
        for (const e of batch) truth.set(e.id, e);
      };
      const check = (label: string): void => {
        const all = expectedSums(truth.values(), -Infinity, Infinity);
        const t = store.ledger.totals();
        assert.deepEqual(t, { pending: all.pending.amount, verified: all.verified.amount, paid: all.paid.amount }, `${label}: totals`);
        for (let i = 0; i < 40; i++) {
          // Ranges that start and end anywhere: mid-minute, on hours, on days, across weeks.
          const a = T0 - DAY_MS + Math.floor(rnd() * 70 * DAY_MS);
          const b = a + Math.floor(rnd() * (i % 2 ? 3 * HOUR_MS : 20 * DAY_MS));
          const from = i % 5 === 0 ? Math.floor(a / DAY_MS) * DAY_MS : a;
          assert.deepEqual(store.ledger.sumsBetween(from, b), expectedSums(truth.values(), from, b), `${label}: [${new Date(from).toISOString()}, ${new Date(b).toISOString()})`);
        }
        const since = new Date(T0 + 30 * DAY_MS + 7 * 60_000 + 13).toISOString();
        const s = expectedSums(truth.values(), Date.parse(since), Infinity);
        assert.deepEqual(store.ledger.totals(since), { pending: s.pending.amount, verified: s.verified.amount, paid: s.paid.amount }, `${label}: totals since`);
        const now = new Date(T0 + 62 * DAY_MS + 3 * HOUR_MS + 17 * 60_000);
        for (const bucket of ['hour', 'day', 'week'] as SeriesBucket[]) {
          for (const utcOffsetMinutes of [0, 330, -300, 60]) {
            const q = { bucket, count: bucket === 'hour' ? 30 : 12, now, utcOffsetMinutes };
            const reference = earningsSeries(
              [...truth.values()].filter((e) => e.status !== 'rejected'),
              q,
            );
            assert.deepEqual(seriesFromSums((f, to) => store.ledger.sumsBetween(f, to), q), reference, `${label}: series by ${bucket} at ${utcOffsetMinutes}`);
          }
        }
      };

      // Amounts past 2^64 and 2^53: what SQL's SUM would overflow or round.
      const amount = (): string => (BigInt(Math.floor(rnd() * 1e6)) * 10n ** 18n + BigInt(Math.floor(rnd() * 1e9))).toString();
      let id = 0;
      const fresh = (n: number): EarningEntry[] =>
        Array.from({ length: n }, () => {
          id++;
          const status: EarningStatus = rnd() < 0.3 ? 'pending' : rnd() < 0.1 ? 'rejected' : 'verified';
          return {
            id: String(id),
            taskId: `t${id}`,
            kind: rnd() < 0.5 ? 'matmul' : 'hashsearch',
            amount: status === 'rejected' ? '0' : amount(),
            status,
            createdAt: iso(T0 + Math.floor(rnd() * 63 * DAY_MS), rnd() < 0.5),
          };
        });
      write(fresh(1500));
      check('after inserts');

      // Status changes as the hub makes them: pending → verified or rejected (amount 0), verified → paid.
      const changes: EarningEntry[] = [];
      for (const e of truth.values()) {
        const r = rnd();
        if (e.status === 'pending' && r < 0.6) changes.push({ ...e, status: 'verified' });
        else if (e.status === 'pending' && r < 0.8) changes.push({ ...e, status: 'rejected', amount: '0' });
        else if (e.status === 'verified' && r < 0.5) changes.push({ ...e, status: 'paid' });
      }
      assert.ok(changes.length > 300);
      write(changes);
      check('after status changes');

      // The same entries again change nothing; a batch mixing new ones, changes and a repeat within it.
      assert.equal(store.ledger.upsertMany(HUB, [...truth.values()].slice(0, 200)), 0);
      const mixed = [...fresh(300), ...[...truth.values()].filter((e) => e.status === 'verified').slice(0, 100).map((e) => ({ ...e, status: 'paid' as const }))];
      write([...mixed, ...mixed.slice(0, 50)]);
      check('after a mixed batch');

      // The sums kept on every write are the sums of a rebuild from the entries.
      const tables = (): unknown => [store.db.prepare('SELECT * FROM earnings_hourly ORDER BY hour, status').all(), store.db.prepare('SELECT * FROM earnings_daily ORDER BY day, status').all()];
      const kept = tables();
      rebuildRollups(store.db);
      assert.deepEqual(tables(), kept);
    } finally {
      store.close();
    }
  });

  it('reads the sums, not the entries: a range of whole days touches no entry', () => {
    const store = WorkerStore.open(join(dir, 'plan'));
    try {
      const plan = store.db
        .prepare<[number, number], { detail: string }>('EXPLAIN QUERY PLAN SELECT status, amount FROM earnings WHERE created_ms >= ? AND created_ms < ?')
        .all(0, 1)
        .map((r) => r.detail)
        .join('; ');
      assert.match(plan, /USING INDEX earnings_created_ms/);
      store.ledger.upsertMany(HUB, [{ id: '1', taskId: 't1', kind: 'matmul', amount: '5', status: 'verified', createdAt: '2026-03-02T10:00:00.000Z' }]);
      // The entry's row is gone from under the sums: whole days still answer from the sums alone.
      store.db.prepare('DELETE FROM earnings').run();
      assert.equal(store.ledger.sumsBetween(Date.parse('2026-03-01T00:00:00Z'), Date.parse('2026-03-04T00:00:00Z')).verified.amount, 5n);
      assert.equal(store.ledger.sumsBetween(Date.parse('2026-03-02T09:30:00Z'), Date.parse('2026-03-02T10:30:00Z')).verified.amount, 0n, 'the minutes at the edges come from the entries');
    } finally {
      store.close();
    }
  });
});
