/**
 * The engine's API: everything the dashboard may ask of the worker, as one table of methods with
 * the schemas of their parameters and results. The headless worker serves it over HTTP and
 * WebSocket on 127.0.0.1; the desktop shell serves the same table over IPC; the dashboard's
 * client is derived from this table (createEngineClient), never written by hand.
 */
import { z } from 'zod';
import { AddressSchema, AmountSchema, Base64Schema, IsoTimeSchema } from './common.js';
import { EarningEntrySchema, EarningStatusSchema, GpuReportSchema, PayoutSchema, ResultCheckSchema, RigNameSchema, WorkerStateSchema } from './http.js';
import { ReconciliationSchema } from './reconcile.js';
import { PairingCodeResponseSchema, RigsViewSchema } from './rigs.js';
import { SettingsPatchSchema, SettingsSchema } from './settings.js';

/** A thumbnail of a task's output that is a picture: 8-bit RGB (base64), rows top to bottom. */
export const TilePreviewSchema = z
  .object({
    taskId: z.string(),
    kind: z.string(),
    width: z.number().int().min(1).max(64),
    height: z.number().int().min(1).max(64),
    rgb: Base64Schema,
    createdAt: IsoTimeSchema,
  })
  .refine((p) => p.rgb.length === 4 * Math.ceil((3 * p.width * p.height) / 3), 'rgb must hold width×height×3 bytes');
export type TilePreview = z.infer<typeof TilePreviewSchema>;

export const BlockCodeSchema = z.enum([
  'paused',
  'snoozed',
  'on-battery',
  'blocked-program',
  /** A fullscreen window is in front (a game or a film no list knows). */
  'fullscreen',
  /** Another process is using the GPU. */
  'gpu-process',
  'outside-schedule',
  'too-hot',
  'gpu-busy',
  'user-active',
  /** The sentinel stopped work: the GPU returned wrong results (or crashed) in recent tasks. */
  'gpu-faults',
  /** "Work only while it earns more than the electricity costs": electricity costs more now. */
  'unprofitable',
  /** The engine has no wallet yet: the dashboard's setup creates, imports or watches one. */
  'no-wallet',
]);

export const TokenInfoSchema = z.object({ symbol: z.string(), decimals: z.number().int().min(0).max(36) });

export const EngineStatusSchema = z.object({
  state: WorkerStateSchema,
  /** The state in one sentence, with its reason. */
  reason: z.string(),
  blockedBy: BlockCodeSchema.nullable(),
  task: z
    .object({
      id: z.string(),
      kind: z.string(),
      startedAt: IsoTimeSchema,
      /** How long tasks of this kind took here lately (GPU time), for a progress estimate; null before the first. */
      expectedMs: z.number().nonnegative().nullable().optional(),
    })
    .nullable(),
  credited: z.number().int().min(0),
  /** The address that signs in; null until a wallet is set up. */
  address: AddressSchema.nullable(),
  hubUrl: z.string(),
  temperatureC: z.number().nullable(),
  temperatureLimitC: z.number(),
  earnedToday: AmountSchema,
  earnedThisWeek: AmountSchema,
  token: TokenInfoSchema,
  /** What stops work that "Pause until it closes" can wait out (a game, a fullscreen app, a program on the GPU); null when nothing. */
  blocker: z.string().nullable().optional(),
});
export type EngineStatusView = z.infer<typeof EngineStatusSchema>;

/** A hub ledger entry as the worker mirrors it, with the hub it came from. */
export const LocalEarningSchema = EarningEntrySchema.extend({ hub: z.string() });
/** A ledger entry with the GPU time this machine spent on its task (null when not measured here). */
export const EarningRowSchema = LocalEarningSchema.extend({ gpuMs: z.number().int().min(0).nullable() });

/**
 * What became of a task in the worker's history (receipts): the hub's verdict (its ledger's
 * statuses), or, for work the hub has no entry of, what the worker saw: its lease `lapsed`, it was
 * `given-back` (a pause or a stop), it `failed` on the GPU (and was given back), or the hub
 * `refused` the result (another worker's lease, an unknown task, a second answer).
 */
export const HISTORY_STATUSES = [...EarningStatusSchema.options, 'lapsed', 'given-back', 'failed', 'refused'] as const;
export const HistoryStatusSchema = z.enum(HISTORY_STATUSES);
export type HistoryStatus = z.infer<typeof HistoryStatusSchema>;

/** One task of the history with its receipt: what was done, how the hub checked it, the verdict and why. */
export const HistoryRowSchema = EarningRowSchema.extend({
  /** The hub's ledger entry id; for a task the hub has no entry of, `local-` and the task's local row. */
  id: z.string().min(1).max(140),
  status: HistoryStatusSchema,
  /** The task's size in its kind's unit of work (FLOP, hashes), when this machine ran it. */
  work: z.object({ units: AmountSchema, unit: z.string().max(16) }).nullable(),
  check: ResultCheckSchema.nullable(),
  /** Why it was rejected, lapsed, given back, failed or refused, in plain words; null otherwise. */
  reason: z.string().nullable(),
});
export type HistoryRow = z.infer<typeof HistoryRowSchema>;

/** A payout of the hub as the worker mirrors it (GET /v1/payouts), with the hub it came from. */
export const LocalPayoutSchema = PayoutSchema.extend({ hub: z.string() });

export const SERIES_BUCKETS = ['hour', 'day', 'week'] as const;
export const SeriesBucketSchema = z.enum(SERIES_BUCKETS);
export type SeriesBucket = z.infer<typeof SeriesBucketSchema>;
export const SeriesPointSchema = z.object({
  /** The bucket's start (local time of the viewer; weeks start on Monday). */
  start: IsoTimeSchema,
  /** Earned in the bucket (pending, verified and paid; rejected entries are worth nothing). */
  amount: AmountSchema,
  tasks: z.number().int().min(0),
});

/** A count of micro-units of a currency (10⁻⁶ EUR), exact, as a decimal string. */
export const MicroAmountSchema = AmountSchema;

/** What this GPU earns and costs an hour now (the dashboard's Home and Earnings). */
export const CostOutlookSchema = z.object({
  /** This GPU's speed: measured (the weekly score) or estimated from its model; null: neither yet. */
  speed: z.object({ gflops: z.number().nonnegative(), mhs: z.number().nonnegative(), basis: z.enum(['measured', 'model']) }).nullable(),
  /** About what it earns an hour now, base units, at the hub's rates and this hour's duty cycle; null: not known yet. */
  estimate: z
    .object({
      perHour: AmountSchema,
      kind: z.string(),
      inDemand: z.boolean(),
      /** What it is from: the GPU time of this machine's recent tasks, the benchmark, or the GPU's model. */
      from: z.enum(['tasks', 'benchmark', 'model']),
      /** The recent tasks behind it (from: 'tasks'), else 0. */
      tasks: z.number().int().min(0),
    })
    .nullable(),
  /** Why there is no estimate, in plain words; null when there is one. */
  noEstimate: z.string().nullable(),
  /** Earned in the last 24 hours (not rejected), base units. */
  last24h: AmountSchema,
  token: z.object({ symbol: z.string(), decimals: z.number().int().min(0).max(36) }),
  /** A whole token's value, micro-units of `currency`: the user's, or the hub's reference (labelled). */
  tokenValue: z.object({ perToken: z.number().int().min(0), currency: z.string(), source: z.enum(['yours', 'hub-reference']), label: z.string().nullable() }).nullable(),
  /** The GPU's draw while working: measured (nvidia-smi, hwmon) or estimated (with what from). */
  power: z.object({ milliwatts: z.number().int().min(0), source: z.enum(['nvidia-smi', 'hwmon', 'estimate']), basis: z.string().nullable() }),
  currency: z.string(),
  /** This hour's electricity price, micro-units a kWh; null: not set. */
  pricePerKwh: z.number().int().min(0).nullable(),
  /** The estimate's worth an hour, and the electricity an hour of work costs, micro-units; null: not known. */
  valuePerHour: MicroAmountSchema.nullable(),
  costPerHour: MicroAmountSchema.nullable(),
  /** Electricity costs more than the GPU earns now; null: cannot be told. */
  unprofitable: z.boolean().nullable(),
});

/** Electricity by day or week: energy, its cost, and what was earned, with the net. */
export const EnergyPointSchema = z.object({
  start: IsoTimeSchema,
  /** Energy used while working, watt-hours (rounded). */
  wh: z.number().int().min(0),
  /** Earned in the bucket, base units (not rejected). */
  gross: AmountSchema,
  /** The gross in micro-units of the currency, at the token's value now; null: no value known. */
  grossValue: MicroAmountSchema.nullable(),
  /** What the electricity cost, micro-units; null: no price was set. */
  electricity: MicroAmountSchema.nullable(),
  /** grossValue − electricity, micro-units (may be negative); null: either is unknown. */
  net: z.string().regex(/^-?(0|[1-9][0-9]*)$/).nullable(),
  /** Some of the energy was estimated, not measured. */
  estimated: z.boolean(),
  /** Some of the energy was used while no price was set. */
  unpriced: z.boolean(),
});
export type EnergyPoint = z.infer<typeof EnergyPointSchema>;

/** What the wallet is: addresses, never keys. */
export const WalletViewSchema = z.object({
  address: AddressSchema,
  payoutAddress: AddressSchema,
  kind: z.enum(['key', 'watch']),
  hasPhrase: z.boolean(),
  backedUp: z.boolean(),
});
export type WalletView = z.infer<typeof WalletViewSchema>;

export const StateChangeSchema = z.object({
  at: IsoTimeSchema,
  state: WorkerStateSchema,
  reason: z.string(),
  /** A hand-back of the GPU: ms from noticing the user to the device's memory freed. */
  handoffMs: z.number().nonnegative().optional(),
});

export const PauseViewSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  /** `from`: the owner's other rig that paused this one (Rigs), absent when paused here. */
  z.object({ kind: z.literal('paused'), from: z.string().optional() }),
  z.object({ kind: z.literal('snoozed'), until: IsoTimeSchema, from: z.string().optional() }),
  /** Paused until a game, a fullscreen app or a program on the GPU is gone ("Pause until this game closes"). */
  z.object({ kind: z.literal('until-gone'), program: z.string() }),
]);

/** The readings behind the scheduling decision: what the "Why am I not earning?" view shows. */
export const DiagnosticsSchema = z.object({
  blockedBy: BlockCodeSchema.nullable(),
  reason: z.string(),
  /** Seconds since the last input; null where it cannot be read; "always" on a machine with no user. */
  idleSeconds: z.union([z.number().min(0), z.literal('always')]).nullable(),
  idleMinutesNeeded: z.number().int().min(0),
  temperatureC: z.number().nullable(),
  temperatureLimitC: z.number(),
  resumeAtC: z.number(),
  /** The GPU fans' speed, percent; null where it cannot be read. */
  fanPercent: z.number().nullable().optional(),
  /** This hour's fan cap, percent; null for none. */
  fanCapPercent: z.number().nullable().optional(),
  onBattery: z.boolean().nullable(),
  allowOnBattery: z.boolean(),
  /** The running program that stops work, if any. */
  blockedProgram: z.string().nullable(),
  scheduleEnabled: z.boolean(),
  /** Whether the schedule allows the current hour. */
  inSchedule: z.boolean(),
  otherGpuUsePercent: z.number().nullable(),
  gpuBusyPercent: z.number(),
  pause: PauseViewSchema,
  /** The sentinel: wrong results and lost devices among the last `window` tasks, the cap it set, and its pause. */
  gpuFaults: z
    .object({
      faults: z.number().int().min(0),
      window: z.number().int().min(1),
      /** Faults that pause work: one short of the hub's strike limit. */
      pauseAt: z.number().int().min(1),
      capPercent: z.number().int().min(0).max(100).nullable(),
      pausedReason: z.string().nullable(),
    })
    .optional(),
  /** The setting "work only while it earns more than the electricity costs", and whether it does not now (null: unknown). */
  profit: z.object({ only: z.boolean(), unprofitable: z.boolean().nullable() }).optional(),
});

const Empty = z.object({}).strict();

/** Every method: its parameters and its result. */
export const ENGINE_API = {
  getStatus: { params: Empty, result: EngineStatusSchema },
  getGpus: {
    params: Empty,
    result: z.object({
      gpus: z.array(GpuReportSchema),
      /** The WebGPU adapter tasks run on. */
      computeDevice: z.string().nullable(),
      /** The device's benchmark score (measured once a week), null before the first measurement. */
      score: z.object({ gflops: z.number().nonnegative(), mhs: z.number().nonnegative(), measuredAt: IsoTimeSchema.nullable() }).nullable(),
      temperatureC: z.number().nullable(),
    }),
  },
  getSettings: { params: Empty, result: z.object({ settings: SettingsSchema, problems: z.array(z.string()) }) },
  updateSettings: { params: SettingsPatchSchema.strict(), result: z.object({ settings: SettingsSchema }) },
  getEarnings: {
    params: z
      .object({
        /** The `nextCursor` of the page before (opaque). */
        cursor: z.string().max(200).regex(/^[0-9A-Za-z:._~-]+$/).optional(),
        limit: z.number().int().min(1).max(500).optional(),
        status: HistoryStatusSchema.optional(),
        kind: z.string().max(32).optional(),
      })
      .strict(),
    result: z.object({
      entries: z.array(HistoryRowSchema),
      nextCursor: z.string().nullable(),
      /** Every kind of task in the ledger, for the filter. */
      kinds: z.array(z.string()),
      totals: z.object({ pending: AmountSchema, verified: AmountSchema, paid: AmountSchema }),
    }),
  },
  getEarningsSeries: {
    params: z
      .object({
        bucket: SeriesBucketSchema,
        /** How many buckets, ending with the current one (default 24 hours, 14 days, 12 weeks). */
        count: z.number().int().min(1).max(400).optional(),
        /** The viewer's offset from UTC in minutes (east positive); default the engine's. */
        utcOffsetMinutes: z.number().int().min(-840).max(840).optional(),
      })
      .strict(),
    result: z.object({ bucket: SeriesBucketSchema, points: z.array(SeriesPointSchema) }),
  },
  /** Newest first, a page at a time: `cursor` is the previous page's `nextCursor` (none: the newest). */
  /** "About N tokens an hour now", its worth, the GPU's draw and what an hour costs. */
  getCostOutlook: { params: Empty, result: CostOutlookSchema },
  /** Gross, electricity and net by day or week. */
  getEnergySeries: {
    params: z
      .object({
        bucket: z.enum(['day', 'week']),
        count: z.number().int().min(1).max(400).optional(),
        utcOffsetMinutes: z.number().int().min(-840).max(840).optional(),
      })
      .strict(),
    result: z.object({ bucket: z.enum(['day', 'week']), currency: z.string(), points: z.array(EnergyPointSchema) }),
  },
  /** Gross, electricity and net by day as CSV. */
  exportCostsCsv: {
    params: z.object({ days: z.number().int().min(1).max(400).optional(), utcOffsetMinutes: z.number().int().min(-840).max(840).optional() }).strict(),
    result: z.object({ csv: z.string(), filename: z.string() }),
  },
  getPayouts: {
    params: z
      .object({
        cursor: z.string().regex(/^[0-9]{1,18}$/).optional(),
        limit: z.number().int().min(1).max(500).optional(),
      })
      .strict(),
    result: z.object({ payouts: z.array(LocalPayoutSchema), nextCursor: z.string().nullable(), syncedAt: IsoTimeSchema.nullable() }),
  },
  /**
   * The hub's payouts to the payout address (every worker paying there) against the token's
   * Transfer events to it on chain; NO_CHAIN when the engine has no chain, HUB_UNREACHABLE /
   * CHAIN_UNREACHABLE with the reason when one cannot be read.
   */
  reconcileEarnings: { params: Empty, result: ReconciliationSchema },
  exportEarningsCsv: { params: Empty, result: z.object({ csv: z.string(), filename: z.string() }) },
  /** Thumbnails of the latest tiles this GPU rendered (newest first), or of the tasks named. */
  getTilePreviews: {
    params: z
      .object({
        limit: z.number().int().min(1).max(48).optional(),
        taskIds: z.array(z.string().min(1).max(128)).max(100).optional(),
      })
      .strict(),
    result: z.object({ previews: z.array(TilePreviewSchema) }),
  },
  getStateHistory: {
    params: z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict(),
    result: z.object({ changes: z.array(StateChangeSchema) }),
  },
  getDiagnostics: { params: Empty, result: DiagnosticsSchema },
  /** Names of the programs running now, for the blocklist picker; null where they cannot be listed. */
  getRunningPrograms: { params: Empty, result: z.object({ programs: z.array(z.string()).nullable() }) },
  pause: { params: Empty, result: z.object({ pause: PauseViewSchema }) },
  resume: { params: Empty, result: z.object({ pause: PauseViewSchema }) },
  /** Pauses until what stops work now (a game, a fullscreen app, a program on the GPU) is gone; NOTHING_TO_WAIT_FOR when nothing is. */
  pauseUntilGone: { params: Empty, result: z.object({ pause: PauseViewSchema }) },
  snooze: {
    params: z.object({ for: z.enum(['30m', '1h', 'tomorrow']) }).strict(),
    result: z.object({ pause: PauseViewSchema }),
  },
  /** The owner's rigs (docs/PROTOCOL.md, "Rigs"): all of them as the hub last heard, and this rig's command history. */
  getRigs: { params: z.object({ refresh: z.boolean().optional() }).strict(), result: RigsViewSchema },
  /** Pauses, resumes, snoozes or renames another rig of the fleet: a command signed by this rig's key. */
  commandRig: {
    params: z
      .object({ target: AddressSchema, action: z.enum(['pause', 'resume', 'snooze', 'rename']), for: z.enum(['30m', '1h', 'tomorrow']).optional(), name: RigNameSchema.optional() })
      .strict(),
    result: z.object({ id: z.string() }),
  },
  /** Renames this rig (the `rigName` setting); its fleet sees the name at its next heartbeat. */
  renameRig: { params: z.object({ name: RigNameSchema }).strict(), result: z.object({ name: z.string() }) },
  /** A one-time code (10 minutes) another rig joins this rig's fleet with. */
  rigPairingCode: { params: Empty, result: PairingCodeResponseSchema },
  /** Joins the fleet of the address this rig pays to, with a pairing code from one of its rigs. */
  joinRigs: { params: z.object({ code: z.string().min(1).max(20) }).strict(), result: z.object({ payoutAddress: AddressSchema }) },
  /** Addresses only: keys never leave the engine. */
  getWallet: { params: Empty, result: WalletViewSchema },
  /** First run: a new wallet with a random recovery phrase; the engine then signs in and works. */
  createWallet: { params: Empty, result: WalletViewSchema },
  /** First run: a recovery phrase (12–24 words) or a private key (64 hex digits); it stays in the engine. */
  importWallet: { params: z.object({ secret: z.string().min(1).max(1000) }).strict(), result: WalletViewSchema },
  /** First run: payouts go to this address; the machine signs in with a key of its own. */
  watchWallet: { params: z.object({ address: AddressSchema }).strict(), result: WalletViewSchema },
  getBalance: {
    /** `refresh`: read the chain again now rather than answer the last reading. */
    params: z.object({ refresh: z.boolean().optional() }).strict(),
    result: z.discriminatedUnion('status', [
      z.object({
        status: z.literal('ok'),
        address: AddressSchema,
        native: AmountSchema,
        token: AmountSchema.nullable(),
        symbol: z.string().nullable(),
        decimals: z.number().int().nullable(),
        updatedAt: IsoTimeSchema,
      }),
      z.object({ status: z.literal('offline'), message: z.string(), updatedAt: IsoTimeSchema.nullable() }),
      z.object({ status: z.literal('no-chain'), message: z.string() }),
    ]),
  },
  /** The one call that returns the recovery phrase: explicit, confirmed. */
  revealPhrase: { params: z.object({ confirm: z.literal(true) }).strict(), result: z.object({ phrase: z.string() }) },
  backupChallenge: { params: Empty, result: z.object({ positions: z.array(z.number().int().min(1).max(24)) }) },
  confirmBackup: {
    params: z.object({ words: z.record(z.string().regex(/^[0-9]{1,2}$/), z.string().max(32)) }).strict(),
    result: z.object({ ok: z.boolean() }),
  },
} as const;

export type EngineApi = typeof ENGINE_API;
export type EngineMethod = keyof EngineApi;
export type EngineParams<M extends EngineMethod> = z.input<EngineApi[M]['params']>;
export type EngineResult<M extends EngineMethod> = z.infer<EngineApi[M]['result']>;
export const ENGINE_METHODS = Object.keys(ENGINE_API) as EngineMethod[];

/** What the engine pushes over its event channel (WebSocket or IPC). */
export const EngineEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('status'), status: EngineStatusSchema }),
  z.object({ type: z.literal('credited'), taskId: z.string(), kind: z.string(), amount: AmountSchema }),
  /** The local ledger or the payouts changed (reconciled with the hub). */
  z.object({ type: z.literal('ledger') }),
  /** The fleet was read again, or a command arrived (getRigs has the news). */
  z.object({ type: z.literal('rigs') }),
  /** Another rig went offline, came back, stopped for heat or had results rejected. */
  z.object({ type: z.literal('rig-alert'), kind: z.enum(['offline', 'online', 'too-hot', 'wrong-results']), rig: AddressSchema, name: z.string(), title: z.string(), message: z.string() }),
]);
export type EngineEvent = z.infer<typeof EngineEventSchema>;

/** Errors the API answers with: `{ error: { code, message } }`, as on the hub. */
export class EngineApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineApiError';
  }
}

/** A typed client over any transport: `call(method, params)` returns the raw result. */
export type EngineClient = { [M in EngineMethod]: (params: EngineParams<M>) => Promise<EngineResult<M>> };

export function createEngineClient(call: (method: EngineMethod, params: unknown) => Promise<unknown>): EngineClient {
  const client: Partial<Record<EngineMethod, (params: unknown) => Promise<unknown>>> = {};
  for (const method of ENGINE_METHODS) {
    client[method] = async (params: unknown) => {
      const raw = await call(method, params);
      const parsed = ENGINE_API[method].result.safeParse(raw);
      if (!parsed.success) throw new EngineApiError('BAD_RESPONSE', `the engine's answer to ${method} does not fit the API`);
      return parsed.data;
    };
  }
  return client as EngineClient;
}

/**
 * The desktop app's bridge: what the dashboard's preload exposes on `window[ENGINE_BRIDGE_GLOBAL]`
 * (named methods only, one per API method, and an event subscription; never ipcRenderer). Each
 * method sends on `engineChannel(method)`; the main process checks the sender and parses the
 * params with ENGINE_API before the engine sees them. Events arrive on ENGINE_EVENT_CHANNEL.
 */
export type EngineBridge = { readonly [M in EngineMethod]: (params: unknown) => Promise<unknown> } & {
  onEvent(listener: (event: unknown) => void): () => void;
};
export const ENGINE_BRIDGE_GLOBAL = 'idleforgeEngine';
/**
 * The dashboard's Content-Security-Policy: no inline scripts or styles. The headless worker sends
 * it as a header; the build writes it into index.html; the desktop shell loads the same files.
 */
/** The performance mark the dashboard sets on its first paint of Home with data (`idleforge bench ui`). */
export const DASHBOARD_FIRST_RENDER_MARK = 'idleforge:home-ready';
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws://127.0.0.1:*";
export const ENGINE_EVENT_CHANNEL = 'idleforge:engine-event';
export const engineChannel = (method: EngineMethod): string => `idleforge:engine:${method}`;
