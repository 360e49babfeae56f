/**
 * Request and response bodies of the v1 HTTP API (see docs/PROTOCOL.md).
 * Both the hub and the worker parse with these; nothing crosses the wire unparsed.
 */
import { z } from 'zod';
import { AddressSchema, AmountSchema, IdSchema, IsoTimeSchema } from './common.js';
import { KIND_WIRES, type JobKind, type KindWire } from './kinds/index.js';

// ---- health ----------------------------------------------------------------------------------
export const HealthSchema = z.object({
  ok: z.boolean(),
  version: z.string(),
  chainId: z.number().int().positive(),
  token: z.object({
    /** null while the network has no token contract (a hub without a chain). */
    address: AddressSchema.nullable(),
    symbol: z.string(),
    decimals: z.number().int().min(0).max(36),
  }),
  /**
   * Extension: the address the hub pays from (its treasury), so a worker can read its payouts'
   * Transfer events on chain; null while the hub has no chain. Absent from hubs that predate it.
   */
  treasury: AddressSchema.nullable().optional(),
});
export type Health = z.infer<typeof HealthSchema>;

// ---- sign-in ---------------------------------------------------------------------------------
export const ChallengeRequestSchema = z.object({ address: AddressSchema });
export const ChallengeResponseSchema = z.object({ message: z.string().min(1).max(4096) });
export const LoginRequestSchema = z.object({
  message: z.string().min(1).max(4096),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a signature is 65 bytes of 0x-prefixed hex'),
});
export const LoginResponseSchema = z.object({ token: z.string().min(16), expiresAt: IsoTimeSchema });
export type LoginResponse = z.infer<typeof LoginResponseSchema>;

// ---- heartbeat -------------------------------------------------------------------------------
export const WorkerStateSchema = z.enum(['starting', 'working', 'waiting', 'paused', 'offline', 'error']);
export type WorkerState = z.infer<typeof WorkerStateSchema>;

export const GpuReportSchema = z.object({
  vendor: z.string().max(200),
  model: z.string().max(200),
  vramMiB: z.number().int().min(0).nullable(),
  driver: z.string().max(200).nullable(),
  software: z.boolean(),
});
export type GpuReport = z.infer<typeof GpuReportSchema>;

/** The name an owner gives a rig: shown to the other rigs, so printable and short. */
export const RigNameSchema = z
  .string()
  .trim()
  .min(1, 'give the rig a name')
  .max(40, 'at most 40 characters')
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'a rig name is plain text, without control characters');

/**
 * What a rig adds to its heartbeat for its fleet (`rig` in `POST /v1/workers/heartbeat`): its name,
 * why it is in its state, its temperature, and what it did today and this week by its own clock
 * (`day`: the rig's local date, so a reader does not show yesterday's numbers as today's).
 */
export const RigHeartbeatSchema = z.object({
  name: RigNameSchema,
  reason: z.string().max(300),
  /** Why work is stopped, when a scheduling condition stops it (the engine's code). */
  blockedBy: z.string().max(40).nullable(),
  temperatureC: z.number().min(-50).max(200).nullable(),
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  tasksToday: z.number().int().min(0),
  rejectedToday: z.number().int().min(0),
  earnedToday: AmountSchema,
  earnedWeek: AmountSchema,
});
export type RigHeartbeat = z.infer<typeof RigHeartbeatSchema>;

export const HeartbeatRequestSchema = z.object({
  appVersion: z.string().min(1).max(64),
  state: WorkerStateSchema,
  gpus: z.array(GpuReportSchema).max(64),
  /**
   * The device's benchmark (kernels/benchmark): matmul GFLOP/s, hashsearch MH/s and, an
   * extension, `renderGflops`: the render kernel's speed in the operations render is paid by
   * (pixel-samples a second of the box scene × its operations per sample, as the hub counts
   * them), which the hub sizes render tasks from until it has seen results.
   */
  benchmark: z.object({ gflops: z.number().nonnegative().optional(), mhs: z.number().nonnegative().optional(), renderGflops: z.number().nonnegative().optional() }).optional(),
  /** Extension: what the rig's fleet sees of it (protocol/rigs.ts). */
  rig: RigHeartbeatSchema.optional(),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequestSchema>;
export const OkSchema = z.object({ ok: z.literal(true) });

/** Extension: `POST /v1/workers/payout-address` — pay a watch-only address (null: the worker's own). */
export const PayoutAddressRequestSchema = z.object({ address: AddressSchema.nullable() });
export const PayoutAddressResponseSchema = z.object({ ok: z.literal(true), payoutAddress: AddressSchema });

// ---- tasks -----------------------------------------------------------------------------------
export const LeaseRequestSchema = z.object({ kinds: z.array(z.string().min(1).max(32)).min(1).max(16) });
export type LeaseRequest = z.infer<typeof LeaseRequestSchema>;

type Wires = typeof KIND_WIRES;
type TaskObjects<T extends readonly KindWire[]> = { -readonly [I in keyof T]: T[I]['task'] };
type JobRequests<T extends readonly KindWire[]> = { -readonly [I in keyof T]: T[I]['job'] };
export const TaskSchema = z.discriminatedUnion('kind', KIND_WIRES.map((w) => w.task) as TaskObjects<Wires>);
export type Task = z.infer<typeof TaskSchema>;
/** A leased task of kind `K`. */
export type TaskOf<K extends JobKind> = Extract<Task, { kind: K }>;
export const LeaseResponseSchema = z.object({ task: TaskSchema });

/** Result bodies, per kind; the hub picks the schema by the task's kind. */
export const ResultRequestSchemas = Object.fromEntries(KIND_WIRES.map((w) => [w.kind, z.object({ output: w.output })])) as {
  readonly [W in KindWire as W['kind']]: z.ZodObject<{ output: W['output'] }>;
};
export const ResultRequestSchema = z.object({ output: z.record(z.string(), z.unknown()) });
export type ResultRequest = z.infer<typeof ResultRequestSchema>;

export const ResultStatusSchema = z.enum(['accepted', 'pending', 'rejected']);

/**
 * Extension (receipts): how the hub checked a result.
 * - `freivalds`: Freivalds' check with `rounds` secret random vectors (matmul);
 * - `rehash`: every claimed nonce and the best rehashed, the best held to the bound an honest
 *   search meets, and a stretch of `nonces` nonces of the range hashed by the hub itself;
 * - `replica`: another worker, picked by the hub, answered the same task and agreed (or, while
 *   `pending`, is awaited);
 * - `spot-check`: no second worker came in time; the hub hashed a stretch of `nonces` nonces of
 *   the range itself (the whole range when `nonces` is its size).
 */
export const CHECK_METHODS = ['freivalds', 'rehash', 'replica', 'spot-check'] as const;
export const CheckMethodSchema = z.enum(CHECK_METHODS);
export type CheckMethod = z.infer<typeof CheckMethodSchema>;
export const ResultCheckSchema = z.object({
  method: CheckMethodSchema,
  /** Freivalds' rounds (each with fresh random vectors). */
  rounds: z.number().int().positive().optional(),
  /** Nonces the hub hashed itself (rehash, spot-check). */
  nonces: z.number().int().nonnegative().optional(),
});
export type ResultCheck = z.infer<typeof ResultCheckSchema>;

export const ResultResponseSchema = z.object({
  status: ResultStatusSchema,
  credited: AmountSchema,
  /** Extension: the ledger entry this result created, so the worker can mirror it exactly. */
  entryId: IdSchema.optional(),
  /** Extension: why a result was rejected, in plain words. */
  reason: z.string().optional(),
  /** Extension (receipts): how the hub checked it (a check this version does not know is dropped, not an error). */
  check: ResultCheckSchema.optional().catch(undefined),
});
export type ResultResponse = z.infer<typeof ResultResponseSchema>;

// ---- earnings and payouts --------------------------------------------------------------------
export const EarningStatusSchema = z.enum(['pending', 'verified', 'paid', 'rejected']);
export type EarningStatus = z.infer<typeof EarningStatusSchema>;
export const EarningEntrySchema = z.object({
  id: IdSchema,
  taskId: IdSchema,
  kind: z.string(),
  amount: AmountSchema,
  status: EarningStatusSchema,
  createdAt: IsoTimeSchema,
  /** Extension (receipts): how the hub checked the result; absent where the hub did not record it (or this version does not know its method). */
  check: ResultCheckSchema.optional().catch(undefined),
  /** Extension (receipts): why a rejected entry was rejected, in plain words. */
  reason: z.string().max(2000).optional(),
});
export type EarningEntry = z.infer<typeof EarningEntrySchema>;
const CursorSchema = z.string().regex(/^[0-9]{1,18}$/, 'a cursor is the number a previous page returned');
export const EarningsQuerySchema = z
  .object({
    after: CursorSchema.optional(),
    /**
     * Extension: entries created or changed (status, amount) after this change number of the
     * worker's ledger (a previous answer's `changeCursor`; 0 for all), in the order they changed.
     */
    changedAfter: CursorSchema.optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .refine((q) => q.after === undefined || q.changedAfter === undefined, { message: 'give after or changedAfter, not both' });
export const EarningsResponseSchema = z.object({
  entries: z.array(EarningEntrySchema),
  balance: z.object({ pending: AmountSchema, verified: AmountSchema, paid: AmountSchema }),
  /** With `after` the id to pass as `after`, with `changedAfter` the number to pass as `changedAfter`, for the next page; null on the last. */
  nextCursor: z.string().nullable(),
  /**
   * Extension, with `changedAfter` only: the change number this answer reaches (the last entry's,
   * or the one asked for when nothing changed since): the next read's `changedAfter`. A number
   * lower than the one asked for means the hub's ledger is not the one the cursor came from
   * (read again from 0).
   */
  changeCursor: z.string().optional(),
});
export type EarningsResponse = z.infer<typeof EarningsResponseSchema>;

export const PayoutSchema = z.object({
  id: IdSchema,
  amount: AmountSchema,
  status: z.enum(['pending', 'sent', 'confirmed', 'failed']),
  txHash: z.string().nullable(),
  createdAt: IsoTimeSchema,
});
/**
 * Extension: with `limit`, a page of the payouts, newest first, after the payout `before` (a
 * previous page's `nextCursor`); without it, every payout, oldest first, as v1 says.
 */
export const PayoutsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: IdSchema.optional(),
});
export const PayoutsResponseSchema = z.object({
  payouts: z.array(PayoutSchema),
  /** Extension, with `limit` only: the `before` of the next page; null on the last. */
  nextCursor: z.string().nullable().optional(),
});

/**
 * Extension: `GET /v1/payouts/received` — every payout the hub broadcast to the signed-in worker's
 * payout address, from every worker that pays there (each rig of one owner), for checking against
 * the chain. Only what the chain shows anyway (transaction, amount, block), and whether it was
 * this worker's; payouts not yet broadcast are this worker's own only.
 */
export const ReceivedPayoutSchema = z.object({
  txHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/).nullable(),
  amount: AmountSchema,
  status: z.enum(['pending', 'sent', 'confirmed', 'failed']),
  blockNumber: z.number().int().nonnegative().nullable(),
  createdAt: IsoTimeSchema,
  /** Whether the signed-in worker earned it (else another worker paying to the same address). */
  mine: z.boolean(),
  /** The treasury it was paid from (a hub whose treasury changed paid older payouts from another). */
  from: AddressSchema.optional(),
});
export type ReceivedPayout = z.infer<typeof ReceivedPayoutSchema>;
export const ReceivedPayoutsResponseSchema = z.object({
  address: AddressSchema,
  payouts: z.array(ReceivedPayoutSchema),
});
export type ReceivedPayoutsResponse = z.infer<typeof ReceivedPayoutsResponseSchema>;

// ---- customer jobs ---------------------------------------------------------------------------
export const JobRequestSchema = z.discriminatedUnion('kind', KIND_WIRES.map((w) => w.job) as JobRequests<Wires>);
export type JobRequest = z.infer<typeof JobRequestSchema>;
/** A `POST /v1/jobs` body of kind `K`. */
export type JobRequestOf<K extends JobKind> = Extract<JobRequest, { kind: K }>;
export const JobCreatedSchema = z.object({ id: IdSchema, tasks: z.number().int().positive(), price: AmountSchema });
export type JobCreated = z.infer<typeof JobCreatedSchema>;
export const JobStatusSchema = z.object({
  id: IdSchema,
  kind: z.string(),
  status: z.enum(['queued', 'running', 'done', 'failed']),
  progress: z.object({ done: z.number().int().min(0), total: z.number().int().min(0) }),
});
export type JobStatus = z.infer<typeof JobStatusSchema>;

/**
 * A `204` to `POST /v1/tasks/lease` may carry this header: why the hub has no task for this
 * worker now (a limit on what one worker holds), in plain words for its owner.
 */
export const NO_WORK_HEADER = 'idleforge-no-work';
