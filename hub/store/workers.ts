/** Workers: identity (checksummed address), last heartbeat and standing counters. */
import { stmt, type HubDb } from './db.js';

export interface WorkerRow {
  address: string;
  first_seen: string;
  last_seen: string;
  last_heartbeat: string | null;
  tasks_accepted: number;
  tasks_rejected: number;
  leases_expired: number;
}

/** Creates the worker on first sight, else refreshes last_seen. */
export function touchWorker(db: HubDb, address: string, now: string): void {
  stmt<[string, string, string]>(
    db,
    `INSERT INTO workers (address, first_seen, last_seen) VALUES (?, ?, ?)
     ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen`,
  ).run(address, now, now);
}

export function recordHeartbeat(db: HubDb, address: string, heartbeatJson: string, now: string): void {
  stmt<[string, string, string, string]>(
    db,
    `INSERT INTO workers (address, first_seen, last_seen, last_heartbeat) VALUES (?, ?, ?, ?)
     ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen, last_heartbeat = excluded.last_heartbeat`,
  ).run(address, now, now, heartbeatJson);
}

export function getWorker(db: HubDb, address: string): WorkerRow | undefined {
  return stmt<[string], WorkerRow>(
    db,
    'SELECT address, first_seen, last_seen, last_heartbeat, tasks_accepted, tasks_rejected, leases_expired FROM workers WHERE address = ?',
  ).get(address);
}

export function countAccepted(db: HubDb, address: string): void {
  stmt<[string]>(db, 'UPDATE workers SET tasks_accepted = tasks_accepted + 1 WHERE address = ?').run(address);
}

export function countRejected(db: HubDb, address: string): void {
  stmt<[string]>(db, 'UPDATE workers SET tasks_rejected = tasks_rejected + 1 WHERE address = ?').run(address);
}
