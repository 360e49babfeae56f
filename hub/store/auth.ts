/** Customers (API keys), sign-in nonces and worker sessions. Secrets are stored as SHA-256 only. */
import { stmt, type HubDb } from './db.js';

export interface CustomerRow {
  id: string;
  name: string;
}

export function insertCustomer(db: HubDb, c: { id: string; name: string; apiKeyHash: string; createdAt: string }): void {
  stmt<[string, string, string, string]>(db, 'INSERT INTO customers (id, name, api_key_hash, created_at) VALUES (?, ?, ?, ?)').run(
    c.id,
    c.name,
    c.apiKeyHash,
    c.createdAt,
  );
}

export function findCustomerByKeyHash(db: HubDb, apiKeyHash: string): CustomerRow | undefined {
  return stmt<[string], CustomerRow>(db, 'SELECT id, name FROM customers WHERE api_key_hash = ?').get(apiKeyHash);
}

export interface NonceRow {
  nonce: string;
  address: string;
  issued_at: string;
  expires_at: string;
  used_at: string | null;
}

export function insertNonce(db: HubDb, n: { nonce: string; address: string; issuedAt: string; expiresAt: string }): void {
  stmt<[string, string, string, string]>(db, 'INSERT INTO auth_nonces (nonce, address, issued_at, expires_at) VALUES (?, ?, ?, ?)').run(
    n.nonce,
    n.address,
    n.issuedAt,
    n.expiresAt,
  );
}

export function getNonce(db: HubDb, nonce: string): NonceRow | undefined {
  return stmt<[string], NonceRow>(db, 'SELECT nonce, address, issued_at, expires_at, used_at FROM auth_nonces WHERE nonce = ?').get(nonce);
}

/** Marks a nonce used; false when it was already used (the caller lost a race). */
export function markNonceUsed(db: HubDb, nonce: string, usedAt: string): boolean {
  return stmt<[string, string]>(db, 'UPDATE auth_nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL').run(usedAt, nonce).changes === 1;
}

/**
 * Forgets nonces that expired before `before`. Safe: an unknown nonce is refused just like an
 * expired or used one, so a replay after the purge still fails.
 */
export function purgeNonces(db: HubDb, before: string): number {
  return stmt<[string]>(db, 'DELETE FROM auth_nonces WHERE expires_at < ?').run(before).changes;
}

export function insertSession(db: HubDb, s: { tokenHash: string; address: string; createdAt: string; expiresAt: string }): void {
  stmt<[string, string, string, string]>(db, 'INSERT INTO sessions (token_hash, address, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
    s.tokenHash,
    s.address,
    s.createdAt,
    s.expiresAt,
  );
}

/** The signed-in worker of a live session, and whether it was cut off, in one read. */
export function findSession(db: HubDb, tokenHash: string, now: string): { address: string; suspended_at: string | null; suspended_reason: string | null } | undefined {
  return stmt<[string, string], { address: string; suspended_at: string | null; suspended_reason: string | null }>(
    db,
    'SELECT s.address, w.suspended_at, w.suspended_reason FROM sessions s JOIN workers w ON w.address = s.address WHERE s.token_hash = ? AND s.expires_at > ?',
  ).get(tokenHash, now);
}

export function purgeSessions(db: HubDb, before: string): number {
  return stmt<[string]>(db, 'DELETE FROM sessions WHERE expires_at < ?').run(before).changes;
}
