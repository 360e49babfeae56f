import type { Migration } from '../../../lib/sqlite.js';
import { m0001 } from './0001-init.js';
import { m0002 } from './0002-hubs.js';
import { m0003 } from './0003-settings.js';
import { m0004 } from './0004-payouts-task-times.js';
import { m0005 } from './0005-result-files.js';
import { m0006 } from './0006-schedule-presets.js';
import { m0007 } from './0007-handoff.js';
import { m0008 } from './0008-receipts.js';
import { m0009 } from './0009-ledger-rollups.js';
import { m0010 } from './0010-energy.js';
import { m0011 } from './0011-rig-commands.js';
import { m0012 } from './0012-tile-previews.js';

/** Numbered migrations of worker.db; append new versions, never edit old ones. */
export const WORKER_MIGRATIONS: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005, m0006, m0007, m0008, m0009, m0010, m0011, m0012];
