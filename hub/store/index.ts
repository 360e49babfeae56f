export { openHubDb, stmt, type HubDb, type OpenHubDbOptions } from './db.js';
export { BUSY_TIMEOUT_MS } from '../../lib/sqlite.js';
export { migrate, schemaVersion, HUB_MIGRATIONS, HUB_SCHEMA_VERSION, type Migration } from './migrations/index.js';
export * as authStore from './auth.js';
export * as workersStore from './workers.js';
export * as jobsStore from './jobs.js';
export * as tasksStore from './tasks.js';
export * as earningsStore from './earnings.js';
export * as payoutsStore from './payouts.js';
