/**
 * Worker sign-in with EIP-4361 (Sign-In with Ethereum) and bearer-token checks for workers
 * (session tokens) and customers (API keys). Only SHA-256 of any secret is stored.
 */
import { getAddress, verifyMessage } from 'ethers';
import { formatSiweMessage, parseSiweMessage, type LoginResponse } from '../protocol/index.js';
import type { HubContext } from './context.js';
import { unauthorized } from './errors.js';
import { originOf } from './replica-assign.js';
import { authStore, trustStore, workersStore, type Sql } from './store/index.js';
import { iso, newId, randomHex, sha256Hex } from './util.js';

export const NONCE_TTL_MS = 5 * 60_000;
export const SESSION_TTL_MS = 60 * 60_000;
export const SIGN_IN_STATEMENT = 'Sign in to the Idleforge hub to lease compute tasks and earn rewards.';

/** Builds the exact message a worker must sign, and remembers its single-use nonce. */
export async function issueChallenge(ctx: HubContext, address: string): Promise<string> {
  const now = ctx.now();
  const checksummed = getAddress(address);
  const nonce = randomHex(16);
  const issuedAt = iso(now);
  const expiresAt = iso(now + NONCE_TTL_MS);
  await ctx.write(async (q) => {
    await authStore.purgeNonces(q, issuedAt);
    await authStore.insertNonce(q, { nonce, address: checksummed, issuedAt, expiresAt });
  });
  return formatSiweMessage({
    domain: ctx.domain,
    address: checksummed,
    statement: SIGN_IN_STATEMENT,
    uri: ctx.uri,
    version: '1',
    chainId: ctx.chainId,
    nonce,
    issuedAt,
    expirationTime: expiresAt,
  });
}

function recoverSigner(message: string, signature: string): string | null {
  try {
    return getAddress(verifyMessage(message, signature));
  } catch {
    return null;
  }
}

/** Checks a signed EIP-4361 message and opens a session; every refusal is a 401. */
export async function login(ctx: HubContext, message: string, signature: string, clientIp?: string): Promise<LoginResponse> {
  const fields = parseSiweMessage(message);
  if (!fields) throw unauthorized('the message is not an EIP-4361 sign-in message', 'INVALID_MESSAGE');
  if (fields.domain !== ctx.domain) throw unauthorized(`the message signs in to ${fields.domain}, but this hub is ${ctx.domain}`, 'WRONG_DOMAIN');
  if (fields.uri !== ctx.uri) throw unauthorized(`the message is for ${fields.uri}, but this hub is ${ctx.uri}`, 'WRONG_URI');
  if (fields.chainId !== ctx.chainId) throw unauthorized(`the message is for chain ${fields.chainId}, but this hub uses chain ${ctx.chainId}`, 'WRONG_CHAIN');
  const address = getAddress(fields.address);
  const signer = recoverSigner(message, signature);
  if (signer === null) throw unauthorized('the signature is not a valid Ethereum signature', 'BAD_SIGNATURE');
  if (signer !== address) throw unauthorized(`the message was not signed by ${address}`, 'BAD_SIGNATURE');

  const now = ctx.now();
  const nowIso = iso(now);
  if (fields.expirationTime !== undefined && Date.parse(fields.expirationTime) <= now) {
    throw unauthorized('the sign-in message has expired; ask for a new challenge', 'NONCE_EXPIRED');
  }
  const expiresAt = iso(now + SESSION_TTL_MS);
  const token = randomHex(32);
  await ctx.write(async (q) => {
    const n = await authStore.getNonce(q, fields.nonce);
    if (!n) throw unauthorized('this hub did not issue that nonce, or it expired long ago; ask for a new challenge', 'UNKNOWN_NONCE');
    if (n.used_at !== null) throw unauthorized('that nonce was already used; ask for a new challenge', 'NONCE_USED');
    if (n.expires_at <= nowIso) throw unauthorized('that nonce has expired; ask for a new challenge', 'NONCE_EXPIRED');
    if (n.address !== address) throw unauthorized('that nonce was issued to another address', 'NONCE_MISMATCH');
    if (!(await authStore.markNonceUsed(q, n.nonce, nowIso))) throw unauthorized('that nonce was already used; ask for a new challenge', 'NONCE_USED');
    await workersStore.touchWorker(q, address, nowIso);
    // Where the worker signs in from: replicas never go to two workers of one network.
    await trustStore.recordOrigin(q, address, originOf(clientIp, ctx.replicaPolicy.loopbackDistinct));
    await authStore.purgeSessions(q, nowIso);
    await authStore.insertSession(q, { tokenHash: sha256Hex(token), address, createdAt: nowIso, expiresAt });
  });
  return { token, expiresAt };
}

function bearer(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer +([\x21-\x7e]{16,512})$/i.exec(header.trim());
  return m?.[1] ?? null;
}

/** The signed-in worker's checksummed address, or a 401. */
export async function requireWorker(ctx: HubContext, authorization: string | string[] | undefined): Promise<string> {
  return (await requireSession(ctx, authorization)).address;
}

/** The signed-in worker and, when it was cut off, when and why (a 401 without a live session). */
export async function requireSession(
  ctx: HubContext,
  authorization: string | string[] | undefined,
): Promise<{ address: string; suspension: { at: string; reason: string } | null }> {
  const token = bearer(authorization);
  if (token === null) throw unauthorized('sign in first: send Authorization: Bearer <token> from /v1/auth/login', 'NOT_SIGNED_IN');
  const hash = sha256Hex(token);
  const nowMs = ctx.now();
  const nowIso = iso(nowMs);
  const cached = ctx.sessions.get(hash, nowMs, nowIso);
  if (cached) return cached;
  const s = await authStore.findSession(ctx.db, hash, nowIso);
  if (s === undefined) throw unauthorized('the session token is unknown or expired; sign in again', 'SESSION_EXPIRED');
  const session = { address: s.address, expiresAt: s.expires_at, suspension: s.suspended_at === null ? null : { at: s.suspended_at, reason: s.suspended_reason ?? '' } };
  ctx.sessions.set(hash, session, nowMs);
  return session;
}

/** The customer owning the API key, or a 401. */
export async function requireCustomer(ctx: HubContext, authorization: string | string[] | undefined): Promise<authStore.CustomerRow> {
  const key = bearer(authorization);
  if (key === null) throw unauthorized('send your customer API key as Authorization: Bearer <key>', 'NO_API_KEY');
  const customer = await authStore.findCustomerByKeyHash(ctx.db, sha256Hex(key));
  if (!customer) throw unauthorized('the API key is not valid', 'BAD_API_KEY');
  return customer;
}

/** Creates a customer and returns its API key; only the key's SHA-256 is stored. */
export async function createCustomer(db: Sql, name: string, nowMs: number): Promise<{ id: string; apiKey: string }> {
  const id = newId('cus');
  const apiKey = `idf_${randomHex(24)}`;
  await authStore.insertCustomer(db, { id, name, apiKeyHash: sha256Hex(apiKey), createdAt: iso(nowMs) });
  return { id, apiKey };
}
