/**
 * Alerts about the owner's other rigs, decided from consecutive readings of the fleet: one went
 * offline (no heartbeat for the setting's seconds) or came back, stopped because its GPU got too
 * hot, or had results rejected. Each change is said once; the first reading only sets the scene.
 */
import type { FleetResponse } from '../../protocol/index.js';

export type RigAlertKind = 'offline' | 'online' | 'too-hot' | 'wrong-results';

export interface RigAlert {
  kind: RigAlertKind;
  rig: string;
  name: string;
  title: string;
  message: string;
}

interface Seen {
  online: boolean;
  hot: boolean;
  day: string | null;
  rejected: number;
}

/** A rig's name for people: the one its owner gave it, else its address shortened. */
export const rigName = (r: { address: string; rig: { name: string } | null }): string => r.rig?.name ?? `${r.address.slice(0, 6)}…${r.address.slice(-4)}`;

/** Whether a rig's last heartbeat (hub time) is recent enough, by the hub's clock `now`. */
export function isOnline(heartbeatAt: string | null, now: string, offlineAfterS: number): boolean {
  return heartbeatAt !== null && Date.parse(now) - Date.parse(heartbeatAt) < offlineAfterS * 1000;
}

export class AlertWatch {
  private seen: Map<string, Seen> | null = null;

  next(fleet: FleetResponse, self: string, offlineAfterS: number): RigAlert[] {
    const alerts: RigAlert[] = [];
    const now = new Map<string, Seen>();
    for (const r of fleet.rigs) {
      if (r.address === self) continue;
      const online = isOnline(r.heartbeatAt, fleet.now, offlineAfterS);
      const s: Seen = { online, hot: online && r.rig?.blockedBy === 'too-hot', day: r.rig?.day ?? null, rejected: r.rig?.rejectedToday ?? 0 };
      now.set(r.address, s);
      const before = this.seen?.get(r.address);
      if (!before) continue;
      const name = rigName(r);
      const say = (kind: RigAlertKind, title: string, message: string): void => void alerts.push({ kind, rig: r.address, name, title, message });
      if (before.online && !online) {
        const minutes = Math.max(1, Math.round(offlineAfterS / 60));
        say('offline', `${name} is offline`, `${name} has not been heard from for ${offlineAfterS < 120 ? `${offlineAfterS} seconds` : `${minutes} minutes`}: it may have lost power, its network or crashed.`);
      } else if (!before.online && online) {
        say('online', `${name} is back`, `${name} is online again.`);
      }
      if (s.hot && !before.hot) say('too-hot', `${name} stopped: its GPU is too hot`, r.rig?.reason ?? 'It waits until its GPU cools down.');
      if (s.day !== null && s.day === before.day && s.rejected > before.rejected) {
        const n = s.rejected - before.rejected;
        say('wrong-results', `${name} returned wrong results`, `The hub rejected ${n} result${n === 1 ? '' : 's'} of ${name} (${s.rejected} today): check its GPU, its driver and its temperature.`);
      }
    }
    this.seen = now;
    return alerts;
  }
}
