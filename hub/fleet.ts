/**
 * Rigs together (docs/PROTOCOL.md, "Rigs"): the hub keeps who is in which fleet, each rig's last
 * heartbeat, pairing codes and the commands rigs send each other. It never acts on a command: it
 * checks and stores it, and the target rig fetches it, checks it again and applies it. The hub
 * never calls an address a user gave it (alerts are the rigs' own doing).
 */
import { createHash, randomInt } from 'node:crypto';
import { getAddress, verifyMessage } from 'ethers';
import {
  COMMAND_MAX_LIFETIME_MS,
  CommandSentSchema,
  CommandsQuerySchema,
  CommandsResponseSchema,
  FleetJoinRequestSchema,
  FleetJoinResponseSchema,
  FleetResponseSchema,
  HeartbeatRequestSchema,
  PAIRING_ALPHABET,
  PAIRING_CODE_MS,
  PairingCodeResponseSchema,
  RigCommandSchema,
  SignedCommandSchema,
  canonicalCommand,
  fleetJoinMessage,
  normalPairingCode,
  type FleetResponse,
} from '../protocol/index.js';
import type { HubContext } from './context.js';
import { HubError, badRequest, checkOutput, conflict, forbidden, parseInput } from './errors.js';
import { fleetStore } from './store/index.js';
import { iso } from './util.js';

const hashCode = (code: string): string => createHash('sha256').update(normalPairingCode(code)).digest('hex');

/** Who signed `message` (EIP-191), or null for a signature that does not parse. */
function signerOf(message: string, signature: string): string | null {
  try {
    return verifyMessage(message, signature);
  } catch {
    return null;
  }
}

async function requireFleet(ctx: HubContext, worker: string): Promise<string> {
  const fleet = await fleetStore.fleetOf(ctx.db, worker);
  if (fleet) return fleet;
  const pays = await fleetStore.paysTo(ctx.db, worker);
  throw forbidden(
    `this rig pays to ${pays} but has not proven that it belongs to that address's rigs: join with a pairing code from one of them, or a signature by that address's key`,
    'NOT_IN_FLEET',
  );
}

/** `GET /v1/fleet`: every rig of the signed-in rig's fleet, as last heard from. */
export async function fleet(ctx: HubContext, worker: string): Promise<FleetResponse> {
  const payout = await requireFleet(ctx, worker);
  const rows = await fleetStore.members(ctx.db, payout);
  return checkOutput(FleetResponseSchema, {
    payoutAddress: payout,
    now: iso(ctx.now()),
    rigs: rows.map((r) => {
      const hb = r.last_heartbeat === null ? null : HeartbeatRequestSchema.safeParse(safeJson(r.last_heartbeat));
      const beat = hb?.success ? hb.data : null;
      return { address: r.address, heartbeatAt: beat ? r.heartbeat_at : null, state: beat?.state ?? null, gpus: beat?.gpus ?? [], rig: beat?.rig ?? null };
    }),
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** `POST /v1/fleet/pairing-codes`: a one-time code (10 minutes) for another rig to join this one's fleet. */
export async function pairingCode(ctx: HubContext, worker: string): Promise<{ code: string; expiresAt: string }> {
  const payout = await requireFleet(ctx, worker);
  const plain = Array.from({ length: 12 }, () => PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)]).join('');
  const code = normalPairingCode(plain);
  const expiresAt = iso(ctx.now() + PAIRING_CODE_MS);
  await ctx.write(async (q) => {
    await fleetStore.pruneExpired(q, iso(ctx.now()));
    await fleetStore.addPairingCode(q, hashCode(code), payout, worker, expiresAt);
  });
  return checkOutput(PairingCodeResponseSchema, { code, expiresAt });
}

/**
 * `POST /v1/fleet/join`: the signed-in rig proves it belongs to the fleet of the address it pays
 * to, with a pairing code of that fleet or that address's signature of `fleetJoinMessage`.
 */
export async function joinFleet(ctx: HubContext, worker: string, body: unknown): Promise<{ ok: true; payoutAddress: string }> {
  const proof = parseInput(FleetJoinRequestSchema, body);
  const nowIso = iso(ctx.now());
  const payout = await ctx.write(async (q) => {
    const pays = await fleetStore.paysTo(q, worker);
    if ('code' in proof) {
      const fleetAddress = await fleetStore.spendPairingCode(q, hashCode(proof.code), worker, nowIso);
      if (!fleetAddress) throw forbidden('that pairing code is unknown, used or expired: ask a rig of the fleet for a new one', 'BAD_PAIRING_CODE');
      // Thrown inside the transaction: the code stays unspent for a second try.
      if (fleetAddress !== pays) {
        throw conflict(`this rig pays to ${pays}, not to the fleet's ${fleetAddress}: set its payout address to ${fleetAddress} first`, 'PAYOUT_ADDRESS_DIFFERS');
      }
    } else if (signerOf(fleetJoinMessage(pays, worker), proof.signature) !== pays) {
      throw forbidden(`the signature is not ${pays}'s signature of the join message for this rig`, 'BAD_SIGNATURE');
    }
    await fleetStore.prove(q, worker, pays);
    return pays;
  });
  return checkOutput(FleetJoinResponseSchema, { ok: true, payoutAddress: payout });
}

/**
 * `POST /v1/fleet/commands`: a command from the signed-in rig to another rig of its fleet, signed
 * by the sender's own key, stored for the target to fetch. Refused: another sender, a bad
 * signature, an expired or too long-lived command, a target outside the fleet, a nonce used before.
 */
export async function sendCommand(ctx: HubContext, worker: string, body: unknown): Promise<{ id: string }> {
  const { command, signature } = parseInput(SignedCommandSchema, body);
  if (getAddress(command.from) !== worker) throw forbidden('a rig sends commands in its own name only', 'WRONG_SENDER');
  if (signerOf(canonicalCommand(command), signature) !== worker) throw forbidden('the signature is not the sender\'s signature of this command', 'BAD_SIGNATURE');
  const now = ctx.now();
  const expires = Date.parse(command.expiresAt);
  if (expires <= now) throw badRequest('this command has expired', 'COMMAND_EXPIRED');
  if (expires > now + COMMAND_MAX_LIFETIME_MS) throw badRequest(`a command may live at most ${COMMAND_MAX_LIFETIME_MS / 60_000} minutes`, 'COMMAND_TOO_LONG');
  const target = getAddress(command.target);
  if (target === worker) throw badRequest('a rig steers itself directly, not through the hub', 'INVALID_BODY');
  const sender = await requireFleet(ctx, worker);
  if ((await fleetStore.fleetOf(ctx.db, target)) !== sender) throw forbidden('that rig is not one of your rigs', 'NOT_IN_FLEET');
  const nowIso = iso(now);
  const id = await ctx.write(async (q) => {
    await fleetStore.pruneExpired(q, nowIso);
    return fleetStore.addCommand(q, { sender: worker, target, nonce: command.nonce, command: canonicalCommand(command), signature, expiresAt: iso(expires), now: nowIso });
  });
  if (id === null) throw conflict('this command was sent before (its nonce is used)', 'NONCE_USED');
  return checkOutput(CommandSentSchema, { id: String(id) });
}

/** `GET /v1/fleet/commands?after=<id>`: the live commands for the signed-in rig, oldest first. */
export async function commands(ctx: HubContext, worker: string, query: unknown): Promise<{ commands: unknown[] }> {
  const q = parseInput(CommandsQuerySchema, query, 'INVALID_QUERY', 'query');
  const rows = await fleetStore.commandsFor(ctx.db, worker, Number(q.after ?? '0'), iso(ctx.now()));
  const out = [];
  for (const r of rows) {
    const parsed = RigCommandSchema.safeParse(safeJson(r.command));
    if (!parsed.success) throw new HubError(500, 'INTERNAL', `stored command ${r.id} does not parse`);
    out.push({ id: String(r.id), command: parsed.data, signature: r.signature, createdAt: r.created_at });
  }
  return checkOutput(CommandsResponseSchema, { commands: out });
}
