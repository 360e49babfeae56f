/**
 * The history's pages: the hub's entries and the runs that earned none, merged newest first, each
 * row on exactly one page whatever the page size, ties in time included; filters by a hub status
 * or a run's outcome, and by kind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EarningStatus, HistoryRow } from '../../protocol/index.js';
import { WorkerStore } from './index.js';

describe('the history, a page at a time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-history-'));
  let store: WorkerStore;
  const at = (minute: number): string => new Date(Date.UTC(2026, 0, 5, 10, minute)).toISOString();
  before(() => {
    store = WorkerStore.open(dir);
    // Entries at minutes 0, 1, 1, 2, 3, 3, 3; runs at minutes 1, 1, 3, 4, 5 (ties on both sides).
    const statuses: EarningStatus[] = ['verified', 'paid', 'rejected', 'pending', 'verified', 'verified', 'rejected'];
    store.ledger.upsertMany(
      'h',
      [0, 1, 1, 2, 3, 3, 3].map((m, i) => ({ id: String(i + 1), taskId: `e${i + 1}`, kind: i % 2 ? 'hashsearch' : 'matmul', amount: '1', status: statuses[i]!, createdAt: at(m) })),
    );
    const run = store.db.prepare("INSERT INTO task_attempts (hub, task_id, kind, at, at_ms, outcome, reason) VALUES ('h', ?, ?, ?, ?, ?, 'why')");
    [
      [1, 'given-back'],
      [1, 'lapsed'],
      [3, 'failed'],
      [4, 'given-back'],
      [5, 'refused'],
    ].forEach(([m, outcome], i) => run.run(`r${i + 1}`, i % 2 ? 'hashsearch' : 'matmul', at(m as number), Date.parse(at(m as number)), outcome));
  });
  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const pages = (q: { limit: number; status?: HistoryRow['status']; kind?: string }): HistoryRow[] => {
    const out: HistoryRow[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 100; i++) {
      const p = store.ledger.page({ ...q, ...(cursor === undefined ? {} : { cursor }) });
      out.push(...p.entries);
      if (p.nextCursor === null) return out;
      cursor = p.nextCursor;
    }
    throw new Error('the pages never end');
  };

  it('merges entries and runs newest first: an entry before a run of the same time, the later row first', () => {
    assert.deepEqual(
      pages({ limit: 100 }).map((e) => e.taskId),
      ['r5', 'r4', 'e7', 'e6', 'e5', 'r3', 'e4', 'e3', 'e2', 'r2', 'r1', 'e1'],
    );
  });

  it('puts every row on exactly one page, whatever the page size', () => {
    const all = pages({ limit: 100 }).map((e) => e.id);
    for (const limit of [1, 2, 3, 4, 5, 11]) assert.deepEqual(pages({ limit }).map((e) => e.id), all, `pages of ${limit}`);
  });

  it('filters by a hub status, by a run’s outcome and by kind, across pages', () => {
    assert.deepEqual(pages({ limit: 1, status: 'verified' }).map((e) => e.taskId), ['e6', 'e5', 'e1']);
    assert.deepEqual(pages({ limit: 1, status: 'given-back' }).map((e) => e.taskId), ['r4', 'r1']);
    assert.deepEqual(pages({ limit: 2, kind: 'hashsearch' }).map((e) => e.taskId), ['r4', 'e6', 'e4', 'e2', 'r2']);
    assert.deepEqual(store.ledger.kinds(), ['hashsearch', 'matmul']);
  });
});
