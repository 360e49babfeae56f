/**
 * Customers pay for what they order.
 *
 * A customer's balance (base units) is `available` plus `reserved`. It grows by deposits (token
 * transfers from an address the customer registered to the hub's treasury, see deposits.ts) and
 * by the operator's credits (`idleforge hub credit`). A job is accepted only when its price fits
 * in `available`; its price then moves to `reserved` in the same transaction that creates the
 * job. As each of its tasks is credited to a worker, the task's reward is charged (taken out of
 * `reserved` for good) by the same update that credits it (`tasks.charged_at`, set once), once
 * per task however many workers a replicated task pays: replication is the hub's cost, not the
 * customer's. When the job ends (done or failed) the ledger records what it was charged in all
 * and whatever it still holds goes back to `available`. Every change is an entry of the customer
 * ledger, each at most once (unique keys per deposit, job and credit id); see store/billing.ts
 * and migration 5. (A ledger row per task cost the hub a third of its write time per task.)
 *
 * A customer also has quotas: at most `openJobs` jobs and `openTasks` tasks not yet done.
 */
import { getAddress, verifyMessage } from 'ethers';
import {
  CustomerAddressChallengeRequestSchema,
  CustomerAddressRequestSchema,
  CustomerAddressSchema,
  CustomerBalanceSchema,
  formatCustomerAddressMessage,
  formatUnits,
  parseCustomerAddressMessage,
  type CustomerAddress,
  type CustomerBalance,
} from '../protocol/index.js';
import { NONCE_TTL_MS } from './auth.js';
import type { HubContext } from './context.js';
import { HubError, badRequest, checkOutput, conflict, forbidden, parseInput } from './errors.js';
import { billingStore, jobsStore, ROW_LOCKED_TX, type Sql } from './store/index.js';
import { iso, randomHex } from './util.js';

export interface CustomerQuotas {
  /** Most jobs one customer may have queued or running at once. */
  openJobs: number;
  /** Most tasks not yet done over all of one customer's open jobs. */
  openTasks: number;
}

export const DEFAULT_QUOTAS: CustomerQuotas = { openJobs: 100, openTasks: 100_000 };
/** Seconds a customer over a quota is told to wait (`Retry-After`). */
export const QUOTA_RETRY_AFTER_S = 5;
/** Deposits listed by `GET /v1/customers/balance`. */
export const BALANCE_DEPOSITS_SHOWN = 100;

export function checkQuotas(q: CustomerQuotas): void {
  for (const [name, v] of Object.entries(q)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`quota ${name} must be a whole number ≥ 1`);
  }
}

type BillingCtx = Pick<HubContext, 'now' | 'quotas' | 'token'>;

function tokens(ctx: Pick<HubContext, 'token'>, amount: bigint): string {
  return `${amount} base units (${formatUnits(amount, ctx.token.decimals, 6)} ${ctx.token.symbol})`;
}

/**
 * Admits and reserves a job: call inside the transaction that creates the job (`q`, that
 * transaction), right after its row is inserted (so the job counts in its customer's open work).
 * Throws, rolling the transaction back, when the customer is over a quota (429, or 403 for a job
 * that alone is over it) or its available balance is less than the price (402 INSUFFICIENT_BALANCE).
 */
export async function reserveJob(q: Sql, ctx: BillingCtx, j: { customerId: string; jobId: string; price: bigint; tasks: number }): Promise<void> {
  const { openJobs, openTasks } = ctx.quotas;
  if (j.tasks > openTasks) {
    throw new HubError(403, 'JOB_TOO_LARGE', `this job has ${j.tasks} tasks, more than the ${openTasks} a customer may have open at once; split it into smaller jobs`, undefined, {
      limit: String(openTasks),
      tasks: String(j.tasks),
    });
  }
  const open = await billingStore.openWork(q, j.customerId);
  if (open.jobs > openJobs) {
    throw new HubError(429, 'TOO_MANY_OPEN_JOBS', `you have ${open.jobs - 1} open jobs, the most a customer may have; wait for some to finish`, QUOTA_RETRY_AFTER_S, {
      limit: String(openJobs),
      open: String(open.jobs - 1),
    });
  }
  if (open.tasks > openTasks) {
    const before = open.tasks - j.tasks;
    throw new HubError(
      429,
      'TOO_MANY_OPEN_TASKS',
      `your open jobs have ${before} tasks not done yet; this job's ${j.tasks} more would pass the limit of ${openTasks}; wait for some to finish`,
      QUOTA_RETRY_AFTER_S,
      { limit: String(openTasks), open: String(before), tasks: String(j.tasks) },
    );
  }
  const a = await billingStore.account(q, j.customerId);
  if (j.price > a.available) {
    const reserved = a.reserved - (await billingStore.chargedOnOpenJobs(q, j.customerId));
    throw new HubError(
      402,
      'INSUFFICIENT_BALANCE',
      `this job costs ${tokens(ctx, j.price)} but your available balance is ${tokens(ctx, a.available)}` +
        (reserved > 0n ? ` (${tokens(ctx, reserved)} more is reserved by your open jobs)` : '') +
        '; deposit tokens from your registered address, or ask the operator for credit',
      undefined,
      { needed: j.price.toString(), available: a.available.toString() },
    );
  }
  const now = iso(ctx.now());
  await billingStore.setAccount(q, j.customerId, { available: a.available - j.price, reserved: a.reserved + j.price }, now);
  await billingStore.insertReservation(q, { jobId: j.jobId, customerId: j.customerId, amount: j.price });
  if ((await billingStore.insertLedger(q, { customerId: j.customerId, type: 'reserve', amount: j.price, jobId: j.jobId, createdAt: now })) === null) {
    throw new Error(`job ${j.jobId} was reserved before`);
  }
}

/**
 * Settles a job that ended (done or failed): writes what its credited tasks were charged in all,
 * then releases what it still holds to its customer's available balance. Call it in the transaction
 * that marks the job failed (`q`; a job becoming done is settled by `jobsStore.countTaskDone`).
 * Idempotent; throws for a job still open. Returns what was released.
 */
export function settleJob(q: Sql, ctx: Pick<HubContext, 'now'>, jobId: string): Promise<bigint> {
  return billingStore.settleJob(q, jobId, iso(ctx.now()));
}

/**
 * Settles a job whose last task a single-statement credit counted (store/credit.ts: the job is
 * marked done there, settled here), and forgets its inputs. Idempotent: the leader's sweep
 * (`settleDoneJobs`) calls it again for a job whose hub died in between.
 */
export async function finishDoneJob(ctx: Pick<HubContext, 'now' | 'write'>, jobId: string): Promise<void> {
  await ctx.write(async (q) => {
    await settleJob(q, ctx, jobId);
    await jobsStore.deleteInputs(q, jobId);
  }, ROW_LOCKED_TX);
}

/**
 * After a credit that may have been its job's last (store/credit.ts `mayBeDone`), on its own so it
 * sees every credit committed before it: marks the job done if all its tasks are counted, then
 * settles it. Returns whether this call closed it (a job closed twice is settled once).
 */
export async function finishIfDone(ctx: Pick<HubContext, 'now' | 'write' | 'db'>, jobId: string): Promise<boolean> {
  if (!(await jobsStore.closeIfDone(ctx.db, jobId, iso(ctx.now())))) return false;
  await finishDoneJob(ctx, jobId);
  return true;
}

/**
 * The leader's sweep: closes and settles the jobs whose last credits each missed that they were
 * the last (store/jobs.ts `closeDoneJobs`), and settles jobs done at least `graceMs` ago but not settled (their hub died
 * between the credit of the last task and `finishDoneJob`). Returns how many it settled.
 */
export async function settleDoneJobs(ctx: Pick<HubContext, 'now' | 'write' | 'db' | 'log'>, graceMs = 10_000, limit = 64): Promise<number> {
  const closed = await jobsStore.closeDoneJobs(ctx.db, iso(ctx.now()), limit);
  for (const jobId of closed) await finishDoneJob(ctx, jobId);
  if (closed.length > 0) ctx.log(`closed ${closed.length} job${closed.length === 1 ? '' : 's'} whose tasks were all done (their last credits came together)`);
  const done = await billingStore.doneUnsettled(ctx.db, iso(ctx.now() - graceMs), limit);
  for (const jobId of done) await finishDoneJob(ctx, jobId);
  if (done.length > 0) ctx.log(`settled ${done.length} done job${done.length === 1 ? '' : 's'} left unsettled (a hub stopped between a job's last credit and its settlement)`);
  return done.length;
}

export interface CreditInput {
  customerId: string;
  /** Base units, > 0. */
  amount: bigint;
  /** Why, in plain words (kept in the ledger). */
  reason: string;
  /** Makes the credit idempotent: a second credit with this id changes nothing. */
  id?: string;
}

export interface CreditOutcome {
  entryId: number;
  /** false when a credit with this id was already in the ledger (nothing changed). */
  credited: boolean;
  available: bigint;
  reserved: bigint;
}

/**
 * The operator's credit: adds `amount` to a customer's available balance, as a ledger entry with
 * its reason. With an `id`, at most once: the same id again changes nothing (and is refused when
 * it named another customer or amount). Runs in its own transaction (a savepoint inside one).
 */
export async function creditCustomer(db: Sql, input: CreditInput, nowMs = Date.now()): Promise<CreditOutcome> {
  if (input.amount <= 0n) throw new RangeError('a credit must be a positive number of base units');
  const reason = input.reason.trim();
  if (reason === '') throw new RangeError('a credit needs a reason');
  if (input.id !== undefined && !/^[\x21-\x7e]{1,128}$/.test(input.id)) throw new RangeError('a credit id is 1 to 128 printable characters without spaces');
  return db.tx(async (q): Promise<CreditOutcome> => {
    if (!(await billingStore.customerExists(q, input.customerId))) throw new RangeError(`there is no customer ${input.customerId}`);
    if (input.id !== undefined) {
      const before = await billingStore.creditByRef(q, input.id);
      if (before) {
        if (before.customer_id !== input.customerId || BigInt(before.amount) !== input.amount) {
          throw new RangeError(`credit id ${input.id} was already used for ${before.amount} base units to ${before.customer_id}`);
        }
        return { entryId: before.id, credited: false, ...(await billingStore.account(q, input.customerId)) };
      }
    }
    const now = iso(nowMs);
    const entryId = await billingStore.insertLedger(q, { customerId: input.customerId, type: 'credit', amount: input.amount, reason, createdAt: now, ...(input.id !== undefined ? { ref: input.id } : {}) });
    if (entryId === null) throw new Error(`credit id ${input.id ?? ''} is already in the ledger`);
    const a = await billingStore.account(q, input.customerId);
    const next = { available: a.available + input.amount, reserved: a.reserved };
    await billingStore.setAccount(q, input.customerId, next, now);
    return { entryId, credited: true, ...next };
  });
}

// ---- payment addresses ------------------------------------------------------------------------

/** The message that proves `address` is the customer's: single-use nonce, 5 minutes to sign it. */
export async function issueAddressChallenge(ctx: HubContext, customerId: string, body: unknown): Promise<{ message: string }> {
  const { address } = parseInput(CustomerAddressChallengeRequestSchema, body);
  const now = ctx.now();
  const nonce = randomHex(16);
  const fields = { hub: ctx.uri, customer: customerId, address: getAddress(address), chainId: ctx.chainId, nonce, issuedAt: iso(now), expirationTime: iso(now + NONCE_TTL_MS) };
  await ctx.write(async (q) => {
    await billingStore.purgeAddressNonces(q, fields.issuedAt);
    await billingStore.insertAddressNonce(q, { nonce, customerId, address: fields.address, issuedAt: fields.issuedAt, expiresAt: fields.expirationTime });
  });
  return { message: formatCustomerAddressMessage(fields) };
}

const refused = (message: string, code: string): HubError => forbidden(message, code);

/** Registers the address a signed challenge names as one this customer pays from. */
export async function registerAddress(ctx: HubContext, customerId: string, body: unknown): Promise<CustomerAddress> {
  const { message, signature } = parseInput(CustomerAddressRequestSchema, body);
  const f = parseCustomerAddressMessage(message);
  if (!f) throw badRequest('the message is not a payment-address message this hub issues; ask for one at /v1/customers/address/challenge', 'INVALID_MESSAGE');
  if (f.hub !== ctx.uri) throw refused(`the message is for the hub at ${f.hub}, but this hub is ${ctx.uri}`, 'WRONG_HUB');
  if (f.chainId !== ctx.chainId) throw refused(`the message is for chain ${f.chainId}, but this hub uses chain ${ctx.chainId}`, 'WRONG_CHAIN');
  if (f.customer !== customerId) throw refused('the message was issued to another customer', 'WRONG_CUSTOMER');
  const address = getAddress(f.address);
  let signer: string;
  try {
    signer = getAddress(verifyMessage(message, signature));
  } catch {
    throw refused('the signature is not a valid Ethereum signature', 'BAD_SIGNATURE');
  }
  if (signer !== address) throw refused(`the message was not signed by ${address}`, 'BAD_SIGNATURE');
  const now = ctx.now();
  const nowIso = iso(now);
  if (Date.parse(f.expirationTime) <= now) throw refused('the message has expired; ask for a new challenge', 'NONCE_EXPIRED');
  const registered = await ctx.write(async (q): Promise<billingStore.AddressRow> => {
    const n = await billingStore.getAddressNonce(q, f.nonce);
    if (!n) throw refused('this hub did not issue that nonce, or it expired long ago; ask for a new challenge', 'UNKNOWN_NONCE');
    if (n.used_at !== null) throw refused('that nonce was already used; ask for a new challenge', 'NONCE_USED');
    if (n.expires_at <= nowIso) throw refused('that nonce has expired; ask for a new challenge', 'NONCE_EXPIRED');
    if (n.customer_id !== customerId || n.address !== address) throw refused('that nonce was issued for another customer or address', 'NONCE_MISMATCH');
    const owner = await billingStore.addressOwner(q, address);
    if (owner && owner.customer_id !== customerId) throw conflict(`${address} is already registered by another customer`, 'ADDRESS_TAKEN');
    if (!(await billingStore.useAddressNonce(q, n.nonce, nowIso))) throw refused('that nonce was already used; ask for a new challenge', 'NONCE_USED');
    if (owner) return owner;
    await billingStore.insertAddress(q, { address, customerId, registeredAt: nowIso });
    return { address, customer_id: customerId, registered_at: nowIso };
  });
  return checkOutput(CustomerAddressSchema, { address: registered.address, registeredAt: registered.registered_at });
}

export async function customerBalance(ctx: Pick<HubContext, 'db'>, customerId: string): Promise<CustomerBalance> {
  // One transaction, so that the balance and what its open jobs were charged are of one moment.
  const { a, charged, addresses, deposits } = await ctx.db.tx(async (q) => ({
    a: await billingStore.account(q, customerId),
    charged: await billingStore.chargedOnOpenJobs(q, customerId),
    addresses: await billingStore.addressesOf(q, customerId),
    deposits: await billingStore.depositsOf(q, customerId, BALANCE_DEPOSITS_SHOWN),
  }));
  return checkOutput(CustomerBalanceSchema, {
    available: a.available.toString(),
    // Reserved: what the open jobs set aside, less what their credited tasks were charged so far.
    reserved: (a.reserved - charged).toString(),
    addresses: addresses.map((r) => ({ address: r.address, registeredAt: r.registered_at })),
    deposits: deposits.map((d) => ({
      txHash: d.tx_hash,
      logIndex: d.log_index,
      blockNumber: d.block_number,
      from: d.from_address,
      amount: d.amount,
      createdAt: d.created_at,
    })),
  });
}
