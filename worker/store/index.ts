/** The worker's local store: one SQLite file, `worker.db`, in the data directory, and `results/` for outputs not yet handed over. */
import { join } from 'node:path';
import { openDatabase, type Db } from '../../lib/sqlite.js';
import { HubStore } from './hubs.js';
import { LedgerStore } from './ledger.js';
import { WORKER_MIGRATIONS } from './migrations/index.js';
import { PayoutStore } from './payouts.js';
import { PreviewStore } from './previews.js';
import { ResultStore } from './results.js';
import { SentinelStore } from './sentinel.js';
import { EnergyStore } from './energy.js';
import { RigStore } from './rigs.js';
import { SettingsStore } from './settings.js';
import { StateLog } from './state-log.js';
import { TaskTimes } from './task-times.js';

export const WORKER_DB_FILE = 'worker.db';
/** Saved binary outputs not yet handed to the hub (store/results.ts), beside worker.db. */
export const RESULTS_DIR = 'results';

export class WorkerStore {
  readonly ledger: LedgerStore;
  readonly results: ResultStore;
  readonly stateLog: StateLog;
  readonly hubs: HubStore;
  readonly settings: SettingsStore;
  readonly payouts: PayoutStore;
  readonly taskTimes: TaskTimes;
  readonly sentinel: SentinelStore;
  readonly energy: EnergyStore;
  readonly rigs: RigStore;
  readonly previews: PreviewStore;

  private constructor(readonly db: Db, resultsDir: string | null) {
    this.ledger = new LedgerStore(db);
    this.results = new ResultStore(db, resultsDir);
    this.stateLog = new StateLog(db);
    this.hubs = new HubStore(db);
    this.settings = new SettingsStore(db);
    this.payouts = new PayoutStore(db);
    this.taskTimes = new TaskTimes(db);
    this.sentinel = new SentinelStore(db);
    this.energy = new EnergyStore(db);
    this.rigs = new RigStore(db);
    this.previews = new PreviewStore(db);
  }

  static open(dataDir: string): WorkerStore {
    return new WorkerStore(openDatabase(join(dataDir, WORKER_DB_FILE), WORKER_MIGRATIONS), join(dataDir, RESULTS_DIR));
  }

  close(): void {
    this.db.close();
  }
}

export type { EarningRow, LocalEarning } from './ledger.js';
export type { LocalPayout, PayoutStatus } from './payouts.js';
export { DEFAULT_TOKEN, type TokenInfo } from './hubs.js';
export { SettingsError } from './settings.js';
export type { SavedResult } from './results.js';
export type { StateChange } from './state-log.js';
export type { RigCommandRecord, RigFigures } from './rigs.js';
export type { TilePreviewRow } from './previews.js';
