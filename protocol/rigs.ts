/**
 * Rigs: one owner's PCs together (docs/PROTOCOL.md, "Rigs"). Rigs that pay to one payout address
 * and have proven it are a fleet: they read each other's last heartbeat and may pause, resume or
 * snooze one another with commands each signs with its own worker key.
 */
import { z } from 'zod';
import { AddressSchema, AmountSchema, IdSchema, IsoTimeSchema } from './common.js';
import { GpuReportSchema, RigHeartbeatSchema, RigNameSchema, WorkerStateSchema } from './http.js';

/** One rig of the fleet, as the hub last heard from it. */
export const RigSchema = z.object({
  address: AddressSchema,
  /** The hub's time of its last heartbeat; null when it never sent one. */
  heartbeatAt: IsoTimeSchema.nullable(),
  state: WorkerStateSchema.nullable(),
  gpus: z.array(GpuReportSchema),
  rig: RigHeartbeatSchema.nullable(),
});
export type Rig = z.infer<typeof RigSchema>;

/** `GET /v1/fleet` → the fleet of the signed-in rig's payout address (the rig itself among them). */
export const FleetResponseSchema = z.object({
  payoutAddress: AddressSchema,
  /** The hub's clock, to judge `heartbeatAt` by (the rigs' clocks may differ). */
  now: IsoTimeSchema,
  rigs: z.array(RigSchema).max(1000),
});
export type FleetResponse = z.infer<typeof FleetResponseSchema>;

/** `POST /v1/fleet/pairing-codes` → a one-time code another rig joins this fleet with. */
export const PairingCodeResponseSchema = z.object({ code: z.string().regex(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/), expiresAt: IsoTimeSchema });
export type PairingCodeResponse = z.infer<typeof PairingCodeResponseSchema>;
/** Codes are read aloud and typed: letters and digits that cannot be mistaken (no 0/O, 1/I). */
export const PAIRING_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** How long a pairing code may be used. */
export const PAIRING_CODE_MS = 10 * 60_000;

/**
 * `POST /v1/fleet/join`: proof that the signed-in rig belongs to the fleet of the payout address it
 * registered: a pairing code from a rig of that fleet, or the payout address's own signature
 * (EIP-191) of `fleetJoinMessage`.
 */
export const FleetJoinRequestSchema = z.union([
  z.object({ code: z.string().trim().toUpperCase().regex(/^[A-Z2-9]{4}-?[A-Z2-9]{4}-?[A-Z2-9]{4}$/, 'a pairing code is 12 letters and digits, like ABCD-EFGH-JKLM') }),
  z.object({ signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a signature is 65 bytes of 0x-prefixed hex') }),
]);
export type FleetJoinRequest = z.infer<typeof FleetJoinRequestSchema>;
export const FleetJoinResponseSchema = z.object({ ok: z.literal(true), payoutAddress: AddressSchema });

/** A pairing code as stored and compared: upper case, the dashes where they belong. */
export function normalPairingCode(code: string): string {
  const plain = code.trim().toUpperCase().replace(/-/g, '');
  return `${plain.slice(0, 4)}-${plain.slice(4, 8)}-${plain.slice(8, 12)}`;
}

/** The text the payout address's key signs to add `rig` (a worker address) to its fleet. */
export function fleetJoinMessage(payoutAddress: string, rig: string): string {
  return [
    'Idleforge: add a rig to my fleet',
    '',
    'The rig below pays to my address. My rigs may see its state and pause, resume or snooze it.',
    '',
    `Payout address: ${payoutAddress}`,
    `Rig: ${rig}`,
  ].join('\n');
}

// ---- commands ----------------------------------------------------------------------------------
export const RigActionSchema = z.enum(['pause', 'resume', 'snooze', 'rename']);
export type RigAction = z.infer<typeof RigActionSchema>;
/** The longest a command may live: one that waits longer is stale, not wanted. */
export const COMMAND_MAX_LIFETIME_MS = 10 * 60_000;

/**
 * A command from one rig (`from`, the signer) to another (`target`). `until` is a snooze's end,
 * `name` a rename's new name. `nonce` is the sender's, never used twice.
 */
export const RigCommandSchema = z
  .object({
    target: AddressSchema,
    action: RigActionSchema,
    nonce: z.string().regex(/^[0-9a-f]{32}$/, 'a nonce is 16 random bytes as hex'),
    expiresAt: IsoTimeSchema,
    from: AddressSchema,
    until: IsoTimeSchema.optional(),
    name: RigNameSchema.optional(),
  })
  .strict()
  .refine((c) => (c.action === 'snooze') === (c.until !== undefined), 'a snooze, and only a snooze, says until when')
  .refine((c) => (c.action === 'rename') === (c.name !== undefined), 'a rename, and only a rename, gives a name');
export type RigCommand = z.infer<typeof RigCommandSchema>;

/** What is signed: the command as JSON with its keys in alphabetical order, no spaces. */
export function canonicalCommand(c: RigCommand): string {
  const entries = Object.entries(c)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(Object.fromEntries(entries));
}

/** `POST /v1/fleet/commands`: a command and its EIP-191 personal signature of `canonicalCommand`. */
export const SignedCommandSchema = z.object({
  command: RigCommandSchema,
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a signature is 65 bytes of 0x-prefixed hex'),
});
export type SignedCommand = z.infer<typeof SignedCommandSchema>;
export const CommandSentSchema = z.object({ id: IdSchema });

/** `GET /v1/fleet/commands?after=<id>` → the commands for the signed-in rig, oldest first. */
export const CommandsQuerySchema = z.object({ after: z.string().regex(/^[0-9]{1,18}$/).optional() });
export const DeliveredCommandSchema = SignedCommandSchema.extend({ id: z.string().regex(/^[0-9]{1,18}$/), createdAt: IsoTimeSchema });
export type DeliveredCommand = z.infer<typeof DeliveredCommandSchema>;
export const CommandsResponseSchema = z.object({ commands: z.array(DeliveredCommandSchema).max(100) });

// ---- the engine's view (worker ↔ dashboard, `idleforge rigs`) ------------------------------------
/** One rig as this rig's dashboard shows it. */
export const RigViewSchema = z.object({
  address: AddressSchema,
  name: z.string(),
  /** This rig itself. */
  you: z.boolean(),
  online: z.boolean(),
  heartbeatAt: IsoTimeSchema.nullable(),
  state: WorkerStateSchema.nullable(),
  reason: z.string().nullable(),
  temperatureC: z.number().nullable(),
  /** null when its last heartbeat was of another day. */
  tasksToday: z.number().int().min(0).nullable(),
  earnedToday: AmountSchema.nullable(),
  earnedWeek: AmountSchema.nullable(),
  gpus: z.array(z.string()),
});
export type RigView = z.infer<typeof RigViewSchema>;

/** A command this rig was handed, as its history shows it ("Paused from desk-pc"). */
export const RigCommandViewSchema = z.object({
  at: IsoTimeSchema,
  from: AddressSchema,
  fromName: z.string().nullable(),
  action: z.string(),
  outcome: z.enum(['applied', 'refused']),
  reason: z.string().nullable(),
});

export const RigsViewSchema = z.object({
  /**
   * `ok`: the fleet as last read; `not-in-fleet`: this rig pays to an address it has not proven
   * (join with a code); `unreachable`: the hub could not be asked (the last reading, if any, stays);
   * `no-wallet`: nothing signs in yet; `loading`: not read yet.
   */
  status: z.enum(['ok', 'not-in-fleet', 'unreachable', 'no-wallet', 'loading']),
  message: z.string().nullable(),
  payoutAddress: AddressSchema.nullable(),
  readAt: IsoTimeSchema.nullable(),
  offlineAfterS: z.number().int().positive(),
  rigs: z.array(RigViewSchema),
  commands: z.array(RigCommandViewSchema),
});
export type RigsView = z.infer<typeof RigsViewSchema>;
