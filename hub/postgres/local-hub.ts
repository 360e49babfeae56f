/**
 * The hub's database where no URL is given (`npm start`, `idleforge devnet`, `idleforge hub`
 * without `--db postgres://…`): a PostgreSQL cluster of this machine in `<dataDir>/postgres`,
 * started as anvil is (see local.ts), holding the database `hub`, migrated, with a `hub.db`
 * left in `dataDir` by a version before PostgreSQL carried over on the first start.
 */
import { join } from 'node:path';
import { openHubDb } from '../store/db.js';
import { carryOverSqliteHub, type CarryOverReport } from './carry-over.js';
import { startLocalPostgres, type LocalPostgres } from './local.js';

export const LOCAL_CLUSTER_DIR = 'postgres';
export const LOCAL_HUB_DATABASE = 'hub';
/** The file a hub kept its data in before PostgreSQL. */
export const LEGACY_DB_FILE = 'hub.db';

export interface LocalHubDatabase {
  /** postgres://… of the hub's database. */
  readonly url: string;
  readonly cluster: LocalPostgres;
  /** What came over from `hub.db` at this start, or null. */
  readonly carriedOver: CarryOverReport | null;
  stop(): Promise<void>;
}

export interface LocalHubDatabaseOptions {
  dataDir: string;
  /** The SQLite file to carry over; default `<dataDir>/hub.db`. */
  legacyFile?: string;
  log?: (line: string) => void;
}

export async function startLocalHubDatabase(opts: LocalHubDatabaseOptions): Promise<LocalHubDatabase> {
  const cluster = await startLocalPostgres({ dir: join(opts.dataDir, LOCAL_CLUSTER_DIR), database: LOCAL_HUB_DATABASE });
  try {
    const db = await openHubDb(cluster.url, { max: 1 });
    let carriedOver: CarryOverReport | null;
    try {
      carriedOver = await carryOverSqliteHub(db, opts.legacyFile ?? join(opts.dataDir, LEGACY_DB_FILE));
    } finally {
      await db.close();
    }
    if (carriedOver) {
      const n = Object.values(carriedOver.rows).reduce((a, b) => a + b, 0);
      opts.log?.(`carried ${n} rows of the hub's history over to PostgreSQL; the old file is kept at ${carriedOver.keptAt}`);
    }
    return { url: cluster.url, cluster, carriedOver, stop: () => cluster.stop() };
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
