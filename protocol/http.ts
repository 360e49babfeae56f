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

export const HeartbeatRequestSchema = z.object({
  appVersion: z.string().min(1).max(64),
  state: WorkerStateSchema,
  gpus: z.array(GpuReportSchema).max(64),
  benchmark: z.object({ gflops: z.number().nonnegative().optional(), mhs: z.number().nonnegative().optional() }).optional(),
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
export const ResultResponseSchema = z.object({
  status: ResultStatusSchema,
  credited: AmountSchema,
  /** Extension: the ledger entry this result created, so the worker can mirror it exactly. */
  entryId: IdSchema.optional(),
  /** Extension: why a result was rejected, in plain words. */
  reason: z.string().optional(),
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
