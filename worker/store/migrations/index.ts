import type { Migration } from '../../../lib/sqlite.js';
import { m0001 } from './0001-init.js';

export const WORKER_MIGRATIONS: readonly Migration[] = [m0001];
