/**
 * Fleets: the workers proven to pay to one payout address, their pairing codes, and the signed
 * commands they send each other (migration 0007). A worker is in the fleet of the address it pays
 * to when that address is its own (it signs in with the payout key) or it proved the address
 * (`fleet_address`, by a pairing code or the address's signature) and still pays there.
 */
import { stmt, type Sql } from './db.js';

/** SQL: the worker row `w` is a proven member of the fleet of the address it pays to. */
const PROVEN = `(coalesce(w.payout_address, w.address) = w.address OR w.fleet_address = coalesce(w.payout_address, w.address))`;

export interface FleetRow {
  address: string;
  heartbeat_at: string | null;
  last_heartbeat: string | null;
}

/** The payout address whose fleet `worker` is proven to belong to; null when it is in none. */
export async function fleetOf(db: Sql, worker: string): Promise<string | null> {
  const row = await stmt<[string], { fleet: string }>(db, `SELECT coalesce(w.payout_address, w.address) AS fleet FROM workers w WHERE w.address = ? AND ${PROVEN}`).get(worker);
  return row?.fleet ?? null;
}

/** Where `worker` pays now (its own address when it registered none, or is unknown). */
export async function paysTo(db: Sql, worker: string): Promise<string> {
  const row = await stmt<[string], { pays: string }>(db, 'SELECT coalesce(payout_address, address) AS pays FROM workers WHERE address = ?').get(worker);
  return row?.pays ?? worker;
}

/** Every proven member of the fleet of `payout`, by address. */
export async function members(db: Sql, payout: string): Promise<FleetRow[]> {
  return await stmt<[string], FleetRow>(
    db,
    `SELECT w.address, w.heartbeat_at, w.last_heartbeat FROM workers w
     WHERE coalesce(w.payout_address, w.address) = ? AND ${PROVEN} ORDER BY w.address LIMIT 1000`,
  ).all(payout);
}

/** Records that `worker` proved it belongs to the fleet of `payout`. */
export async function prove(db: Sql, worker: string, payout: string): Promise<void> {
  await stmt<[string, string]>(db, 'UPDATE workers SET fleet_address = ? WHERE address = ?').run(payout, worker);
}

export async function addPairingCode(db: Sql, codeHash: string, fleet: string, issuedBy: string, expiresAt: string): Promise<void> {
  await stmt<[string, string, string, string]>(db, 'INSERT INTO fleet_pairing_codes (code_hash, fleet_address, issued_by, expires_at) VALUES (?, ?, ?, ?)').run(codeHash, fleet, issuedBy, expiresAt);
}

/**
 * Spends the pairing code: the fleet it admits to, once, while it lives; null when it is unknown,
 * used or expired (the row is locked, so two rigs racing with one code cannot both get in).
 */
export async function spendPairingCode(db: Sql, codeHash: string, worker: string, now: string): Promise<string | null> {
  const row = await stmt<[string, string, string, string], { fleet_address: string }>(
    db,
    'UPDATE fleet_pairing_codes SET used_by = ?, used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING fleet_address',
  ).get(worker, now, codeHash, now);
  return row?.fleet_address ?? null;
}

export interface CommandRow {
  id: number;
  command: string;
  signature: string;
  created_at: string;
}

/** Stores a command: its id; null when this sender used the nonce before. */
export async function addCommand(db: Sql, c: { sender: string; target: string; nonce: string; command: string; signature: string; expiresAt: string; now: string }): Promise<number | null> {
  const row = await stmt<[string, string, string, string, string, string, string], { id: number }>(
    db,
    `INSERT INTO fleet_commands (sender, target, nonce, command, signature, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (sender, nonce) DO NOTHING RETURNING id`,
  ).get(c.sender, c.target, c.nonce, c.command, c.signature, c.expiresAt, c.now);
  return row?.id ?? null;
}

/** The live commands for `target` after the id `after`, oldest first. */
export async function commandsFor(db: Sql, target: string, after: number, now: string): Promise<CommandRow[]> {
  return await stmt<[string, number, string], CommandRow>(
    db,
    'SELECT id, command, signature, created_at FROM fleet_commands WHERE target = ? AND id > ? AND expires_at > ? ORDER BY id LIMIT 100',
  ).all(target, after, now);
}

/**
 * Forgets up to 100 expired commands and pairing codes: what the hub hands out is live only. An
 * expired command's nonce may then be sent again, and is refused for its signed expiry.
 */
export async function pruneExpired(db: Sql, now: string): Promise<void> {
  await stmt<[string]>(db, 'DELETE FROM fleet_commands WHERE id IN (SELECT id FROM fleet_commands WHERE expires_at <= ? ORDER BY id LIMIT 100)').run(now);
  await stmt<[string]>(db, 'DELETE FROM fleet_pairing_codes WHERE code_hash IN (SELECT code_hash FROM fleet_pairing_codes WHERE expires_at <= ? LIMIT 100)').run(now);
}
