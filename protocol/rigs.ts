/**
 * Rigs: one owner's PCs together (docs/PROTOCOL.md, "Rigs"). Rigs that pay to one payout address
 * and have proven it are a fleet: they read each other's last heartbeat and may pause, resume or
 * snooze one another with commands each signs with its own worker key.
 */
import { z } from 'zod';
import { AddressSchema, IdSchema, IsoTimeSchema } from './common.js';
import { GpuReportSchema, RigHeartbeatSchema, WorkerStateSchema } from './http.js';

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
export const RigActionSchema = z.enum(['pause', 'resume', 'snooze']);
export type RigAction = z.infer<typeof RigActionSchema>;
/** The longest a command may live: one that waits longer is stale, not wanted. */
export const COMMAND_MAX_LIFETIME_MS = 10 * 60_000;

/**
 * A command from one rig (`from`, the signer) to another (`target`). `until` is a snooze's end.
 * `nonce` is the sender's, never used twice.
 */
export const RigCommandSchema = z
  .object({
    target: AddressSchema,
    action: RigActionSchema,
    nonce: z.string().regex(/^[0-9a-f]{32}$/, 'a nonce is 16 random bytes as hex'),
    expiresAt: IsoTimeSchema,
    from: AddressSchema,
    until: IsoTimeSchema.optional(),
  })
  .strict()
  .refine((c) => (c.action === 'snooze') === (c.until !== undefined), 'a snooze, and only a snooze, says until when');
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
