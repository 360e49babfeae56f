/**
 * `idleforge bench ui`'s seeded year: a rig's year of ledger entries (3 million by default) in the
 * worker's store and in a hub's PostgreSQL, the same entries on both sides, and what the mirror's
 * reconcile with nothing new costs on each side at that size.
 *
 * Entry i (1…n) is the same on both sides: id i, task `task_i`, created `step` ms apart up to
 * now, `hashsearch` every third, amount 0.05 token plus i gwei (exact bigints, past 2^53),
 * rejected (amount 0) every fiftieth, the last 20 pending, the 2,000 before them verified, the
 * rest paid. Both sides are seeded in one statement or one transaction of prepared inserts; the
 * hub's without its triggers (`session_replication_role = replica`, so no foreign keys either:
 * the entries' tasks are not there, and nothing measured reads them), its change numbers and
 * balance row written as migration 7 would have left them.
 */
import { Wallet } from 'ethers';
import pg from 'pg';
import { startHub, type Hub } from '../hub/server.js';
import { startLocalHubDatabase } from '../hub/postgres/local-hub.js';
import { HubClient } from '../worker/hub-client.js';
import { HubMirror } from '../worker/store/hub-mirror.js';
import type { WorkerStore } from '../worker/store/index.js';
import { RollupChanges } from '../worker/store/rollups.js';
import type { EarningStatus } from '../protocol/index.js';
import { quantileOf } from './stats.js';

const median = (xs: readonly number[]): number => quantileOf(xs, 0.5);

export const YEAR_MS = 365 * 24 * 3_600_000;
export const DEFAULT_YEAR_ENTRIES = 3_000_000;
const TOKEN_PART = 50_000_000_000_000_000n;
const GWEI = 1_000_000_000n;

/** Entry i of a seeded year of n entries ending at `nowMs` (the same on the hub: see seedHubYear's SQL). */
export function yearEntry(i: number, n: number, nowMs: number): { kind: string; amount: bigint; status: EarningStatus; createdMs: number } {
  const step = Math.floor(YEAR_MS / n);
  const status: EarningStatus = i % 50 === 0 ? 'rejected' : i > n - 20 ? 'pending' : i > n - 2020 ? 'verified' : 'paid';
  return {
    kind: i % 3 === 1 ? 'hashsearch' : 'matmul',
    amount: status === 'rejected' ? 0n : TOKEN_PART + BigInt(i) * GWEI,
    status,
    createdMs: nowMs - (n - i) * step,
  };
}

/**
 * Writes a year into the worker's store: one transaction of prepared inserts (no read before
 * each, as a mirror's upsert does), the sums by hour and day gathered on the way and written
 * once, and the mirror's cursor at the last change. Returns the milliseconds it took.
 */
export function seedWorkerYear(store: WorkerStore, hub: string, n: number, nowMs: number): number {
  const start = performance.now();
  const db = store.db;
  // The ledger's own indexes are built once at the end, each by one sort, instead of taking 3
  // million inserts each in random order (the entry ids are text: '1', '10', '100'…).
  const indexes = db
    .prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'earnings' AND sql IS NOT NULL")
    .all();
  const insert = db.prepare(
    `INSERT INTO earnings (hub, entry_id, task_id, kind, amount, status, created_at, created_ms, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const now = new Date(nowMs).toISOString();
  const cache = db.pragma('cache_size', { simple: true }) as number;
  db.pragma('cache_size = -262144');
  try {
    db.transaction(() => {
      for (const ix of indexes) db.exec(`DROP INDEX ${ix.name}`);
      const sums = new RollupChanges();
      for (let i = 1; i <= n; i++) {
        const e = yearEntry(i, n, nowMs);
        insert.run(hub, String(i), `task_${i}`, e.kind, e.amount.toString(), e.status, new Date(e.createdMs).toISOString(), e.createdMs, now);
        sums.add(e.createdMs, e.status, e.amount, 1);
      }
      sums.apply(store.ledger.rollups);
      for (const ix of indexes) db.exec(ix.sql);
    })();
  } finally {
    db.pragma(`cache_size = ${cache}`);
  }
  store.ledger.upsertMany(hub, [], String(n));
  return performance.now() - start;
}

/** The same year in the hub's database for `worker`, by generate_series. Returns the milliseconds it took. */
export async function seedHubYear(url: string, worker: string, n: number, nowMs: number): Promise<number> {
  const start = performance.now();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL session_replication_role = replica');
    // As in the worker's store: the indexes built once at the end, each by one sort.
    const indexes = (await c.query<{ name: string; def: string }>("SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'earnings' AND indexname != 'earnings_pkey'")).rows;
    for (const ix of indexes) await c.query(`DROP INDEX ${ix.name}`);
    await c.query("SET LOCAL maintenance_work_mem = '256MB'");
    const step = Math.floor(YEAR_MS / n);
    await c.query(
      `INSERT INTO earnings (id, task_id, worker, kind, amount, status, created_at, change_seq) OVERRIDING SYSTEM VALUE
       SELECT i, 'task_' || i, $1,
         CASE WHEN i % 3 = 1 THEN 'hashsearch' ELSE 'matmul' END,
         CASE WHEN i % 50 = 0 THEN 0 ELSE $2::numeric + i * $3::numeric END,
         CASE WHEN i % 50 = 0 THEN 'rejected' WHEN i > $4 - 20 THEN 'pending' WHEN i > $4 - 2020 THEN 'verified' ELSE 'paid' END,
         to_char(to_timestamp(($5::bigint - ($4 - i) * $6::bigint) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         i
       FROM generate_series(1, $4::bigint) AS i`,
      [worker, TOKEN_PART.toString(), GWEI.toString(), n, nowMs, step],
    );
    await c.query(
      `INSERT INTO ledger_heads (worker, seq, pending, verified, paid)
       SELECT worker, max(change_seq),
         coalesce(sum(amount) FILTER (WHERE status = 'pending'), 0),
         coalesce(sum(amount) FILTER (WHERE status = 'verified'), 0),
         coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0)
       FROM earnings WHERE worker = $1 GROUP BY worker
       ON CONFLICT (worker) DO UPDATE SET seq = excluded.seq, pending = excluded.pending, verified = excluded.verified, paid = excluded.paid`,
      [worker],
    );
    for (const ix of indexes) await c.query(ix.def);
    await c.query("SELECT setval(pg_get_serial_sequence('earnings', 'id'), $1)", [n]);
    await c.query('COMMIT');
    await c.query('ANALYZE earnings');
  } catch (error) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await c.end();
  }
  return performance.now() - start;
}

export interface YearReconcile {
  entries: number;
  seedWorkerMs: number;
  seedHubMs: number;
  /** GET /v1/earnings?changedAfter=<the latest> from the worker's client: the hub's side, its HTTP included (median). */
  hubMs: number;
  /** What the hub's answer to the old read (`after`, with the balance summed over the ledger) cost before: that sum alone (median). */
  oldBalanceSumMs: number;
  /** The mirror's whole reconcile with nothing new (median), and its part on the worker (that less its wait on the hub). */
  reconcileMs: number;
  workerMs: number;
  /** Entries the reconciles with nothing new wrote (0 when the cursor works). */
  changed: number;
}

/**
 * Starts a hub on a PostgreSQL of its own in `dir`, signs a worker in, seeds the same year on
 * both sides, and times `runs` reconciles with nothing new (after one to warm both up).
 */
export async function measureYearReconcile(o: { dir: string; store: WorkerStore; entries: number; nowMs: number; runs: number }): Promise<YearReconcile> {
  const database = await startLocalHubDatabase({ dataDir: o.dir });
  let hub: Hub | null = null;
  try {
    hub = await startHub({ db: database.url, dbConnections: 2 });
    const client = new HubClient({ hubUrl: hub.url, wallet: Wallet.createRandom() });
    await client.signIn();
    const worker = (await hub.db.query<{ address: string }>('SELECT address FROM workers')).rows[0]!.address;
    const seedHubMs = await seedHubYear(database.url, worker, o.entries, o.nowMs);
    const seedWorkerMs = seedWorkerYear(o.store, hub.url, o.entries, o.nowMs);

    let waited = 0;
    const source = {
      hubUrl: hub.url,
      allEarnings: () => client.allEarnings(),
      payouts: () => client.payouts(),
      earningsChanges: async (after: string) => {
        const t = performance.now();
        try {
          return await client.earningsChanges(after);
        } finally {
          waited += performance.now() - t;
        }
      },
    };
    const mirror = new HubMirror({ source, store: o.store, ready: () => false });
    let changed = await mirror.reconcile();
    const total: number[] = [];
    const local: number[] = [];
    const hubSide: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      waited = 0;
      const t = performance.now();
      changed += await mirror.reconcile();
      const ms = performance.now() - t;
      total.push(ms);
      local.push(ms - waited);
      hubSide.push(waited);
    }
    const old: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await hub.db.query("SELECT status, sum(amount) AS amount FROM earnings WHERE worker = ? AND status IN ('pending', 'verified', 'paid') GROUP BY status", [worker]);
      old.push(performance.now() - t);
    }
    return {
      entries: o.entries,
      seedWorkerMs,
      seedHubMs,
      hubMs: median(hubSide),
      oldBalanceSumMs: median(old),
      reconcileMs: median(total),
      workerMs: median(local),
      changed,
    };
  } finally {
    await hub?.close();
    await database.stop();
  }
}
