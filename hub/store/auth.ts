/** Customers (API keys), sign-in nonces and worker sessions. Secrets are stored as SHA-256 only. */
import { stmt, type Sql } from './db.js';

export interface CustomerRow {
  id: string;
  name: string;
}

export async function insertCustomer(db: Sql, c: { id: string; name: string; apiKeyHash: string; createdAt: string }): Promise<void> {
  await stmt<[string, string, string, string]>(db, 'INSERT INTO customers (id, name, api_key_hash, created_at) VALUES (?, ?, ?, ?)').run(
    c.id,
    c.name,
    c.apiKeyHash,
    c.createdAt,
  );
}

export async function findCustomerByKeyHash(db: Sql, apiKeyHash: string): Promise<CustomerRow | undefined> {
  return await stmt<[string], CustomerRow>(db, 'SELECT id, name FROM customers WHERE api_key_hash = ?').get(apiKeyHash);
}

export interface NonceRow {
  nonce: string;
  address: string;
  issued_at: string;
  expires_at: string;
  used_at: string | null;
}

export async function insertNonce(db: Sql, n: { nonce: string; address: string; issuedAt: string; expiresAt: string }): Promise<void> {
  await stmt<[string, string, string, string]>(db, 'INSERT INTO auth_nonces (nonce, address, issued_at, expires_at) VALUES (?, ?, ?, ?)').run(
    n.nonce,
    n.address,
    n.issuedAt,
    n.expiresAt,
  );
}

export async function getNonce(db: Sql, nonce: string): Promise<NonceRow | undefined> {
  return await stmt<[string], NonceRow>(db, 'SELECT nonce, address, issued_at, expires_at, used_at FROM auth_nonces WHERE nonce = ?').get(nonce);
}

/** Marks a nonce used; false when it was already used (the caller lost a race). */
export async function markNonceUsed(db: Sql, nonce: string, usedAt: string): Promise<boolean> {
  return (await stmt<[string, string]>(db, 'UPDATE auth_nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL').run(usedAt, nonce)).changes === 1;
}

/**
 * Forgets nonces that expired before `before`. Safe: an unknown nonce is refused just like an
 * expired or used one, so a replay after the purge still fails.
 */
export async function purgeNonces(db: Sql, before: string): Promise<number> {
  return (await stmt<[string]>(db, 'DELETE FROM auth_nonces WHERE expires_at < ?').run(before)).changes;
}

export async function insertSession(db: Sql, s: { tokenHash: string; address: string; createdAt: string; expiresAt: string }): Promise<void> {
  await stmt<[string, string, string, string]>(db, 'INSERT INTO sessions (token_hash, address, created_at, expires_at) VALUES (?, ?, ?, ?)').run(
    s.tokenHash,
    s.address,
    s.createdAt,
    s.expiresAt,
  );
}

/** The signed-in worker of a live session, and whether it was cut off, in one read. */
export async function findSession(
  db: Sql,
  tokenHash: string,
  now: string,
): Promise<{ address: string; expires_at: string; suspended_at: string | null; suspended_reason: string | null } | undefined> {
  return await stmt<[string, string], { address: string; expires_at: string; suspended_at: string | null; suspended_reason: string | null }>(
    db,
    'SELECT s.address, s.expires_at, w.suspended_at, w.suspended_reason FROM sessions s JOIN workers w ON w.address = s.address WHERE s.token_hash = ? AND s.expires_at > ?',
  ).get(tokenHash, now);
}

export async function purgeSessions(db: Sql, before: string): Promise<number> {
  return (await stmt<[string]>(db, 'DELETE FROM sessions WHERE expires_at < ?').run(before)).changes;
}
