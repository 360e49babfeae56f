/**
 * Carrying a hub's history over from SQLite: a data folder made before the hub moved to
 * PostgreSQL holds `hub.db`. On the first start on PostgreSQL its rows are copied, table by table
 * in one transaction, into the new database while that holds no rows yet; then the file is
 * renamed `hub.db.carried-over` (kept, never deleted) so that it is not read again. Ids keep their
 * values and the identity sequences continue after them, so entries the workers' mirrors hold
 * keep their ids and new ones never reuse an old id.
 */
import { existsSync, renameSync } from 'node:fs';
import type { Sql } from '../store/db.js';
import { openSqliteHubFile } from '../store/sqlite-file.js';

/** Tables in an order where every row's references come before it. */
const TABLES = [
  'customers',
  'workers',
  'auth_nonces',
  'sessions',
  'jobs',
  'job_inputs',
  'tasks',
  'task_inputs',
  'payouts',
  'earnings',
  'replicas',
  'worker_trust',
  'task_rejections',
  'customer_accounts',
  'customer_addresses',
  'customer_address_nonces',
  'deposits',
  'deposit_cursors',
  'job_reservations',
  'customer_ledger',
] as const;

/** Identity columns whose sequences continue after the copied ids. */
const IDENTITIES: readonly (readonly [string, string])[] = [
  ['tasks', 'seq'],
  ['earnings', 'id'],
  ['replicas', 'id'],
  ['deposits', 'id'],
  ['customer_ledger', 'id'],
];

export const CARRIED_OVER_SUFFIX = '.carried-over';

export interface CarryOverReport {
  /** Rows copied per table. */
  rows: Record<string, number>;
  /** Where the SQLite file now is. */
  keptAt: string;
}

const BATCH = 500;
const BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Copies the SQLite hub file at `path` into `db` (migrated, newest schema) when the file exists
 * and `db` holds no workers, jobs or customers yet; returns what was copied, or null when there
 * was nothing to do. A database that already holds data is never touched: the file is then left
 * as it is and an error says so.
 */
export async function carryOverSqliteHub(db: Sql, path: string): Promise<CarryOverReport | null> {
  if (!existsSync(path)) return null;
  const lite = openSqliteHubFile(path);
  let rows: Record<string, number>;
  try {
    rows = await db.tx(async (q) => {
      const used = await q.query<{ n: number }>('SELECT (SELECT count(*) FROM workers) + (SELECT count(*) FROM jobs) + (SELECT count(*) FROM customers) AS n');
      if (used.rows[0]!.n > 0) {
        throw new Error(`${path} is a hub database from before PostgreSQL, but the PostgreSQL database already holds a network: move one of them away`);
      }
      const copied: Record<string, number> = {};
      for (const table of TABLES) {
        const pgColumns = new Set(
          (await q.query<{ c: string }>('SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?', [table])).rows.map((r) => r.c),
        );
        const columns = (lite.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name).filter((c) => pgColumns.has(c));
        copied[table] = 0;
        if (columns.length === 0) continue;
        const tuple = `(${columns.map(() => '?').join(', ')})`;
        const insert = async (rows: unknown[][]): Promise<void> => {
          await q.query(
            `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) OVERRIDING SYSTEM VALUE VALUES ${rows.map(() => tuple).join(', ')}`,
            rows.flat().map((v) => (typeof v === 'bigint' ? v.toString() : v)),
          );
          copied[table]! += rows.length;
        };
        // Read a row at a time, sent in batches of at most BATCH rows or BATCH_BYTES of BLOBs
        // (a network's task inputs are megabytes each): memory stays flat whatever the file's size.
        let batch: unknown[][] = [];
        let bytes = 0;
        for (const row of lite.prepare(`SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM ${table}`).raw(true).iterate() as IterableIterator<unknown[]>) {
          batch.push(row);
          for (const v of row) if (Buffer.isBuffer(v)) bytes += v.length;
          if (batch.length >= BATCH || bytes >= BATCH_BYTES) {
            await insert(batch);
            batch = [];
            bytes = 0;
          }
        }
        if (batch.length > 0) await insert(batch);
      }
      for (const [table, column] of IDENTITIES) {
        await q.query(`SELECT setval(pg_get_serial_sequence('${table}', '${column}'), greatest((SELECT max(${column}) FROM ${table}), 0) + 1, false)`);
      }
      return copied;
    });
  } finally {
    lite.close();
  }
  const keptAt = `${path}${CARRIED_OVER_SUFFIX}`;
  renameSync(path, keptAt);
  for (const side of ['-wal', '-shm']) if (existsSync(`${path}${side}`)) renameSync(`${path}${side}`, `${keptAt}${side}`);
  return { rows, keptAt };
}
