/**
 * Customer balances and their ledger, job reservations, registered payment addresses and their
 * nonces, deposits seen on chain and the deposit watcher's cursor (see migration 0005).
 *
 * Amounts are `uint256` (NUMERIC) read back as decimal strings of base units; they are added and
 * compared as bigint in code (a JavaScript number, like a 64-bit integer, cannot hold 10 tokens of
 * 18 decimals exactly), and summed exactly by PostgreSQL. Every function here is one step of a
 * larger write transaction: the caller opens it (hub/billing.ts) and passes its `Sql`.
 */
import { stmt, type Sql } from './db.js';
import { jobDoneCount } from './jobs.js';

// ---- accounts ---------------------------------------------------------------------------------

export interface Account {
  available: bigint;
  reserved: bigint;
}

export async function account(db: Sql, customerId: string): Promise<Account> {
  const row = await stmt<[string], { available: string; reserved: string }>(db, 'SELECT available, reserved FROM customer_accounts WHERE customer_id = ? FOR UPDATE').get(customerId);
  return row ? { available: BigInt(row.available), reserved: BigInt(row.reserved) } : { available: 0n, reserved: 0n };
}

/** Writes a customer's balance (never negative: the caller checks, the table refuses). */
export async function setAccount(db: Sql, customerId: string, a: Account, now: string): Promise<void> {
  if (a.available < 0n || a.reserved < 0n) throw new RangeError(`customer ${customerId}'s balance would go negative`);
  await stmt<[string, string, string, string]>(
    db,
    `INSERT INTO customer_accounts (customer_id, available, reserved, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (customer_id) DO UPDATE SET available = excluded.available, reserved = excluded.reserved, updated_at = excluded.updated_at`,
  ).run(customerId, a.available.toString(), a.reserved.toString(), now);
}

export async function customerExists(db: Sql, customerId: string): Promise<boolean> {
  return (await stmt<[string], { one: number }>(db, 'SELECT 1 AS one FROM customers WHERE id = ?').get(customerId)) !== undefined;
}

// ---- ledger -----------------------------------------------------------------------------------

export type LedgerType = 'deposit' | 'credit' | 'reserve' | 'charge' | 'release';

export interface LedgerRow {
  id: number;
  customer_id: string;
  type: LedgerType;
  amount: string;
  job_id: string | null;
  task_id: string | null;
  deposit_id: number | null;
  ref: string | null;
  reason: string | null;
  created_at: string;
}

export interface NewLedgerEntry {
  customerId: string;
  type: LedgerType;
  amount: bigint;
  jobId?: string;
  taskId?: string;
  depositId?: number;
  ref?: string;
  reason?: string;
  createdAt: string;
}

/**
 * Appends an entry; returns its id, or null when the entry's unique key (a deposit, a task's
 * charge, a job's reserve or release, a credit's ref) is already in the ledger.
 */
export async function insertLedger(db: Sql, e: NewLedgerEntry): Promise<number | null> {
  const r = await stmt<[string, string, string, string | null, string | null, number | null, string | null, string | null, string], { id: number }>(
    db,
    `INSERT INTO customer_ledger (customer_id, type, amount, job_id, task_id, deposit_id, ref, reason, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
  ).run(e.customerId, e.type, e.amount.toString(), e.jobId ?? null, e.taskId ?? null, e.depositId ?? null, e.ref ?? null, e.reason ?? null, e.createdAt);
  return r.changes === 1 ? r.rows[0]!.id : null;
}

export async function creditByRef(db: Sql, ref: string): Promise<LedgerRow | undefined> {
  return stmt<[string], LedgerRow>(db, "SELECT * FROM customer_ledger WHERE ref = ? AND type = 'credit'").get(ref);
}

export async function ledgerOf(db: Sql, customerId: string, limit: number): Promise<LedgerRow[]> {
  return stmt<[string, number], LedgerRow>(db, 'SELECT * FROM customer_ledger WHERE customer_id = ? ORDER BY id DESC LIMIT ?').all(customerId, limit);
}

// ---- job reservations ------------------------------------------------------------------------

export interface ReservationRow {
  job_id: string;
  customer_id: string;
  amount: string;
  remaining: string;
  settled_at: string | null;
}

export async function insertReservation(db: Sql, r: { jobId: string; customerId: string; amount: bigint }): Promise<void> {
  await stmt<[string, string, string, string]>(db, 'INSERT INTO job_reservations (job_id, customer_id, amount, remaining) VALUES (?, ?, ?, ?)').run(
    r.jobId,
    r.customerId,
    r.amount.toString(),
    r.amount.toString(),
  );
}

export async function reservation(db: Sql, jobId: string): Promise<ReservationRow | undefined> {
  return stmt<[string], ReservationRow>(db, 'SELECT job_id, customer_id, amount, remaining, settled_at FROM job_reservations WHERE job_id = ? FOR UPDATE').get(jobId);
}

export async function setRemaining(db: Sql, jobId: string, remaining: bigint, settledAt: string | null): Promise<void> {
  await stmt<[string, string | null, string]>(db, 'UPDATE job_reservations SET remaining = ?, settled_at = coalesce(settled_at, ?) WHERE job_id = ?').run(
    remaining.toString(),
    settledAt,
    jobId,
  );
}

export async function jobStatus(db: Sql, jobId: string): Promise<string | undefined> {
  return (await stmt<[string], { status: string }>(db, 'SELECT status FROM jobs WHERE id = ?').get(jobId))?.status;
}

/** A customer's open (queued or running) jobs and their tasks not yet done. */
export async function openWork(db: Sql, customerId: string): Promise<{ jobs: number; tasks: number }> {
  const r = await stmt<[string], { jobs: number; tasks: number | null }>(
    db,
    `SELECT count(*) AS jobs, sum(tasks_total - ${jobDoneCount('jobs')})::bigint AS tasks FROM jobs WHERE customer_id = ? AND status IN ('queued', 'running')`,
  ).get(customerId);
  return { jobs: r?.jobs ?? 0, tasks: r?.tasks ?? 0 };
}

// ---- payment addresses ------------------------------------------------------------------------

export async function insertAddressNonce(db: Sql, n: { nonce: string; customerId: string; address: string; issuedAt: string; expiresAt: string }): Promise<void> {
  await stmt<[string, string, string, string, string]>(
    db,
    'INSERT INTO customer_address_nonces (nonce, customer_id, address, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)',
  ).run(n.nonce, n.customerId, n.address, n.issuedAt, n.expiresAt);
}

export interface AddressNonceRow {
  nonce: string;
  customer_id: string;
  address: string;
  expires_at: string;
  used_at: string | null;
}

export async function getAddressNonce(db: Sql, nonce: string): Promise<AddressNonceRow | undefined> {
  return stmt<[string], AddressNonceRow>(db, 'SELECT nonce, customer_id, address, expires_at, used_at FROM customer_address_nonces WHERE nonce = ?').get(nonce);
}

/** Marks a nonce used; false when it was already used. */
export async function useAddressNonce(db: Sql, nonce: string, usedAt: string): Promise<boolean> {
  return (await stmt<[string, string]>(db, 'UPDATE customer_address_nonces SET used_at = ? WHERE nonce = ? AND used_at IS NULL').run(usedAt, nonce)).changes === 1;
}

/** Forgets nonces that expired before `before` (an unknown nonce is refused like a used one). */
export async function purgeAddressNonces(db: Sql, before: string): Promise<number> {
  return (await stmt<[string]>(db, 'DELETE FROM customer_address_nonces WHERE expires_at < ?').run(before)).changes;
}

export interface AddressRow {
  address: string;
  customer_id: string;
  registered_at: string;
}

export async function addressOwner(db: Sql, address: string): Promise<AddressRow | undefined> {
  return stmt<[string], AddressRow>(db, 'SELECT address, customer_id, registered_at FROM customer_addresses WHERE address = ?').get(address);
}

export async function insertAddress(db: Sql, a: { address: string; customerId: string; registeredAt: string }): Promise<void> {
  await stmt<[string, string, string]>(db, 'INSERT INTO customer_addresses (address, customer_id, registered_at) VALUES (?, ?, ?)').run(a.address, a.customerId, a.registeredAt);
}

export async function addressesOf(db: Sql, customerId: string): Promise<AddressRow[]> {
  return stmt<[string], AddressRow>(db, 'SELECT address, customer_id, registered_at FROM customer_addresses WHERE customer_id = ? ORDER BY registered_at, address').all(customerId);
}

// ---- deposits ---------------------------------------------------------------------------------

export interface DepositRow {
  id: number;
  chain_id: number;
  token: string;
  tx_hash: string;
  log_index: number;
  block_number: number;
  from_address: string;
  to_address: string;
  amount: string;
  customer_id: string | null;
  created_at: string;
}

export interface NewDeposit {
  chainId: number;
  token: string;
  txHash: string;
  logIndex: number;
  blockNumber: number;
  from: string;
  to: string;
  amount: bigint;
  customerId: string | null;
  createdAt: string;
}

/** Records a transfer; returns its id, or null when (tx hash, log index) was recorded before. */
export async function insertDeposit(db: Sql, d: NewDeposit): Promise<number | null> {
  const r = await stmt<[number, string, string, number, number, string, string, string, string | null, string], { id: number }>(
    db,
    `INSERT INTO deposits (chain_id, token, tx_hash, log_index, block_number, from_address, to_address, amount, customer_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tx_hash, log_index) DO NOTHING RETURNING id`,
  ).run(d.chainId, d.token, d.txHash, d.logIndex, d.blockNumber, d.from, d.to, d.amount.toString(), d.customerId, d.createdAt);
  return r.changes === 1 ? r.rows[0]!.id : null;
}

export async function depositsOf(db: Sql, customerId: string, limit: number): Promise<DepositRow[]> {
  return stmt<[string, number], DepositRow>(db, 'SELECT * FROM deposits WHERE customer_id = ? ORDER BY id DESC LIMIT ?').all(customerId, limit);
}

/** Transfers from addresses no customer had registered when they were seen. */
export async function unmatchedDeposits(db: Sql, limit: number): Promise<DepositRow[]> {
  return stmt<[number], DepositRow>(db, 'SELECT * FROM deposits WHERE customer_id IS NULL ORDER BY id DESC LIMIT ?').all(limit);
}

export interface CursorKey {
  chainId: number;
  token: string;
  treasury: string;
}

export async function cursor(db: Sql, k: CursorKey): Promise<number | undefined> {
  return (await stmt<[number, string, string], { next_block: number }>(db, 'SELECT next_block FROM deposit_cursors WHERE chain_id = ? AND token = ? AND treasury = ?').get(k.chainId, k.token, k.treasury))
    ?.next_block;
}

export async function setCursor(db: Sql, k: CursorKey, nextBlock: number, now: string): Promise<void> {
  await stmt<[number, string, string, number, string]>(
    db,
    `INSERT INTO deposit_cursors (chain_id, token, treasury, next_block, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (chain_id, token, treasury) DO UPDATE SET next_block = excluded.next_block, updated_at = excluded.updated_at`,
  ).run(k.chainId, k.token, k.treasury, nextBlock, now);
}

// ---- charging and settling (steps of the caller's write transaction) ---------------------------

/**
 * What a job's credited tasks cost so far: the sum of their rewards. A task is charged by the
 * update that credits it (`tasks.charged_at`, set once, in store/tasks.ts), so charging costs the
 * hub no write of its own; a replicated task that pays two workers is charged once.
 */
export async function chargedSoFar(db: Sql, jobId: string): Promise<bigint> {
  const r = await stmt<[string], { sum: string }>(db, 'SELECT coalesce(sum(reward), 0) AS sum FROM tasks WHERE job_id = ? AND charged_at IS NOT NULL').get(jobId);
  return BigInt(r?.sum ?? 0);
}

/** What the customer's open jobs were charged so far (their reserved balance shrinks by it). */
export async function chargedOnOpenJobs(db: Sql, customerId: string): Promise<bigint> {
  const r = await stmt<[string], { sum: string }>(
    db,
    `SELECT coalesce(sum(t.reward), 0) AS sum FROM job_reservations r JOIN tasks t ON t.job_id = r.job_id
     WHERE r.customer_id = ? AND r.settled_at IS NULL AND t.charged_at IS NOT NULL`,
  ).get(customerId);
  return BigInt(r?.sum ?? 0);
}

/**
 * Jobs done before `before` with their reservation not settled yet: a job whose last task was
 * credited by a hub that died before settling it (store/credit.ts). Oldest first. (A failed job
 * is settled in the transaction that fails it.)
 */
export async function doneUnsettled(db: Sql, before: string, limit: number): Promise<string[]> {
  const rows = await stmt<[string, number], { job_id: string }>(
    db,
    `SELECT r.job_id FROM job_reservations r JOIN jobs j ON j.id = r.job_id
     WHERE r.settled_at IS NULL AND j.status = 'done' AND j.done_at < ? ORDER BY j.done_at, r.job_id LIMIT ?`,
  ).all(before, limit);
  return rows.map((r) => r.job_id);
}

/**
 * Settles an ended (done or failed) job: charges its done tasks not charged yet, then releases
 * what it still holds to the customer's available balance. Once per job; returns what was
 * released (0n when settled before or the job has no reservation).
 */
export async function settleJob(db: Sql, jobId: string, now: string): Promise<bigint> {
  const r = await reservation(db, jobId);
  if (!r || r.settled_at !== null) return 0n;
  const status = await jobStatus(db, jobId);
  if (status !== 'done' && status !== 'failed') throw new Error(`job ${jobId} is ${status ?? 'missing'}: only a job that ended (done or failed) is settled`);
  const amount = BigInt(r.amount);
  const charged = await chargedSoFar(db, jobId);
  // Never more than was reserved: the reservation is the sum of the tasks' rewards.
  const spent = charged < amount ? charged : amount;
  const rest = amount - spent;
  await insertLedger(db, { customerId: r.customer_id, type: 'charge', amount: spent, jobId, createdAt: now });
  await insertLedger(db, { customerId: r.customer_id, type: 'release', amount: rest, jobId, createdAt: now });
  await setRemaining(db, jobId, 0n, now);
  const a = await account(db, r.customer_id);
  await setAccount(db, r.customer_id, { available: a.available + rest, reserved: a.reserved - amount }, now);
  return rest;
}
