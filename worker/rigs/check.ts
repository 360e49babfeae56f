/**
 * A command from another rig, checked by the rig it is for before it is applied, whatever the hub
 * said: signed by its sender's own key, the sender one of this rig's fleet (as the hub last listed
 * it), for this rig, not expired, not seen before.
 */
import { getAddress, verifyMessage } from 'ethers';
import { COMMAND_MAX_LIFETIME_MS, canonicalCommand, type DeliveredCommand } from '../../protocol/index.js';

/** Clocks of two rigs may differ by this much. */
export const CLOCK_SLACK_MS = 60_000;

export interface CommandCheck {
  /** This rig's own address. */
  self: string;
  /** The fleet's rigs (checksummed addresses). */
  members: ReadonlySet<string>;
  now: number;
  /** Whether a command of this sender with this nonce was handed to this rig before. */
  seen(sender: string, nonce: string): boolean;
}

/** Why the command is refused, in plain words; null when it may be applied. */
export function refusal(d: DeliveredCommand, c: CommandCheck): string | null {
  const { command } = d;
  let signer: string | null = null;
  try {
    signer = verifyMessage(canonicalCommand(command), d.signature);
  } catch {
    signer = null;
  }
  const from = getAddress(command.from);
  if (signer !== from) return 'its signature is not its sender\'s';
  if (getAddress(command.target) !== c.self) return 'it is for another rig';
  if (from === c.self || !c.members.has(from)) return 'its sender is not one of your rigs';
  const expires = Date.parse(command.expiresAt);
  if (expires <= c.now) return 'it has expired';
  if (expires > c.now + COMMAND_MAX_LIFETIME_MS + CLOCK_SLACK_MS) return 'it would stay valid too long';
  if (c.seen(from, command.nonce)) return 'it was applied or refused before (a replay)';
  return null;
}
