/** Workers: identity (checksummed address), last heartbeat, and standing. */
import { stmt, type Sql } from './db.js';

export interface WorkerRow {
  address: string;
  first_seen: string;
  last_seen: string;
  last_heartbeat: string | null;
  tasks_accepted: number;
  tasks_rejected: number;
  leases_expired: number;
  consecutive_valid: number;
  strikes: number;
  suspended_at: string | null;
  suspended_reason: string | null;
}

const WORKER_COLUMNS =
  'address, first_seen, last_seen, last_heartbeat, tasks_accepted, tasks_rejected, leases_expired, consecutive_valid, strikes, suspended_at, suspended_reason';

/** Creates the worker on first sight, else refreshes last_seen. */
export async function touchWorker(db: Sql, address: string, now: string): Promise<void> {
  await stmt<[string, string, string]>(
    db,
    `INSERT INTO workers (address, first_seen, last_seen) VALUES (?, ?, ?)
     ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen`,
  ).run(address, now, now);
}

/** Where this worker's payouts go: its registered payout address, else its own. */
export async function payoutAddressOf(db: Sql, address: string): Promise<string> {
  const row = await stmt<[string], { payout_address: string | null }>(db, 'SELECT payout_address FROM workers WHERE address = ?').get(address);
  return row?.payout_address ?? address;
}

export async function setPayoutAddress(db: Sql, address: string, payout: string, now: string): Promise<void> {
  await stmt<[string, string, string, string]>(
    db,
    `INSERT INTO workers (address, first_seen, last_seen, payout_address) VALUES (?, ?, ?, ?)
     ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen, payout_address = excluded.payout_address`,
  ).run(address, now, now, payout);
}

export async function recordHeartbeat(db: Sql, address: string, heartbeatJson: string, now: string): Promise<void> {
  await stmt<[string, string, string, string, string]>(
    db,
    `INSERT INTO workers (address, first_seen, last_seen, last_heartbeat, heartbeat_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (address) DO UPDATE SET last_seen = excluded.last_seen, last_heartbeat = excluded.last_heartbeat, heartbeat_at = excluded.heartbeat_at`,
  ).run(address, now, now, heartbeatJson, now);
}

export async function getWorker(db: Sql, address: string): Promise<WorkerRow | undefined> {
  return await stmt<[string], WorkerRow>(db, `SELECT ${WORKER_COLUMNS} FROM workers WHERE address = ?`).get(address);
}

/**
 * One more valid result: the run of valid results grows, every `forgiveEvery` of them in a row
 * forgives one strike, and one lapsed lease is worked off.
 */
/** What a valid result does to its worker's row (`@every`: forgive a strike after that many in a row); shared with store/credit.ts. */
export const VALID_RESULT_SET = `tasks_accepted = tasks_accepted + 1,
       consecutive_valid = consecutive_valid + 1,
       strikes = CASE WHEN strikes > 0 AND (consecutive_valid + 1) % @every = 0 THEN strikes - 1 ELSE strikes END,
       lease_penalty = greatest(lease_penalty - 1, 0)`;

export async function recordValid(db: Sql, address: string, forgiveEvery: number): Promise<void> {
  await stmt<[{ every: number; address: string }]>(db, `UPDATE workers SET ${VALID_RESULT_SET} WHERE address = @address`).run({ every: forgiveEvery, address });
}

/** A rejected result: trust falls to nothing and a strike is added; returns the strikes now held. */
export async function recordRejected(db: Sql, address: string): Promise<number> {
  return (
    (
      await stmt<[string], { strikes: number }>(
        db,
        `UPDATE workers SET tasks_rejected = tasks_rejected + 1, consecutive_valid = 0, strikes = strikes + 1
         WHERE address = ? RETURNING strikes`,
      ).get(address)
    )?.strikes ?? 0
  );
}

export async function suspend(db: Sql, address: string, reason: string, now: string): Promise<void> {
  await stmt<[string, string, string]>(db, 'UPDATE workers SET suspended_at = ?, suspended_reason = ? WHERE address = ? AND suspended_at IS NULL').run(
    now,
    reason,
    address,
  );
}
