/**
 * This rig's link to the owner's other rigs, beside the engine's loop and whatever it does (also
 * while paused or waiting): every few seconds (3 s, or each fleet reading when those come more
 * often) it fetches the commands the hub keeps for this rig,
 * checks each one itself (check.ts) and applies it (pause, resume, snooze, rename), once; and it
 * reads the fleet, so that the dashboard and `idleforge rigs` show it and the alerts (alerts.ts)
 * say when another rig goes quiet. The hub is never asked to call anyone: alerts leave from here.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { getAddress } from 'ethers';
import {
  COMMAND_MAX_LIFETIME_MS,
  RigNameSchema,
  type DeliveredCommand,
  type FleetJoinRequest,
  type FleetResponse,
  type RigAction,
  type RigCommand,
  type RigsView,
  type Settings,
} from '../../protocol/index.js';
import { periodStarts } from '../api/handlers.js';
import { HubAnswerError, type HubClient } from '../hub-client.js';
import type { PauseState } from '../schedule/conditions.js';
import type { RigCommandRecord, WorkerStore } from '../store/index.js';
import { AlertWatch, isOnline, rigName, type RigAlert } from './alerts.js';
import { refusal } from './check.js';

/** Commands are asked for this often: applied within 10 s of being sent (docs/PROTOCOL.md). */
export const COMMAND_POLL_MS = 3_000;
/** Commands are sent to live this long. */
export const COMMAND_LIFETIME_MS = 5 * 60_000;

export interface FleetLinkOptions {
  client: HubClient;
  store: WorkerStore;
  settings: () => Settings;
  /** Whether a wallet signs in yet. */
  ready: () => boolean;
  /** Applies a pause state (the store and the governor), as the dashboard's pause does. */
  setPause: (p: PauseState) => void;
  /** This rig's name as its fleet sees it. */
  ownName: () => string;
  onAlert: (alert: RigAlert) => void;
  onCommand: (record: RigCommandRecord) => void;
  /** The fleet was read again or a command arrived. */
  onChange?: () => void;
  log: (line: string) => void;
  pollMs?: number;
  now?: () => number;
  /** Whether this rig's engine runs in this process (the worker, the desktop app): then it is online whatever its last heartbeat says. Default true. */
  selfRunning?: boolean;
}

/** How often the fleet is read: a quarter of the offline time, between 1 and 15 s. */
export const fleetReadMs = (offlineAfterS: number): number => Math.min(15_000, Math.max(1_000, (offlineAfterS * 1000) / 4));

export class FleetLink {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private lastFleet: FleetResponse | null = null;
  private fleetReadAt = 0;
  private status: RigsView['status'] = 'loading';
  private message: string | null = null;
  private readonly alerts = new AlertWatch();
  /** The last failure logged, so that an outage is one line, not one per poll. */
  private lastProblem = '';

  constructor(private readonly o: FleetLinkOptions) {}

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      void this.tick().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, Math.min(this.o.pollMs ?? COMMAND_POLL_MS, fleetReadMs(this.o.settings().rigOfflineAfterS))).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** One round: the fleet when it is due, then the commands. Safe to call at any time (one at a time). */
  async tick(forceFleet = false): Promise<void> {
    if (this.running || !this.o.ready()) return;
    this.running = true;
    try {
      if (forceFleet || this.now() - this.fleetReadAt >= fleetReadMs(this.o.settings().rigOfflineAfterS)) await this.readFleet();
      await this.fetchCommands();
      this.lastProblem = '';
    } catch (error) {
      const words = error instanceof Error ? error.message : String(error);
      if (words !== this.lastProblem) this.o.log(`rigs: ${words}`);
      this.lastProblem = words;
    } finally {
      this.running = false;
    }
  }

  private async readFleet(): Promise<void> {
    this.fleetReadAt = this.now();
    try {
      const fleet = await this.o.client.fleet();
      this.lastFleet = fleet;
      this.status = 'ok';
      this.message = null;
      for (const alert of this.alerts.next(fleet, this.o.client.address, this.o.settings().rigOfflineAfterS)) this.o.onAlert(alert);
    } catch (error) {
      if (error instanceof HubAnswerError && error.code === 'NOT_IN_FLEET') {
        this.lastFleet = null;
        this.status = 'not-in-fleet';
        this.message = error.message;
      } else {
        this.status = 'unreachable';
        this.message = error instanceof Error ? error.message : String(error);
        throw error;
      }
    } finally {
      this.o.onChange?.();
    }
  }

  private members(): Set<string> {
    return new Set((this.lastFleet?.rigs ?? []).map((r) => r.address));
  }

  private nameOf(address: string): string | null {
    const rig = this.lastFleet?.rigs.find((r) => r.address === address);
    return rig ? rigName(rig) : null;
  }

  private async fetchCommands(): Promise<void> {
    const hub = this.o.client.hubUrl;
    const list = await this.o.client.commands(this.o.store.rigs.cursor(hub));
    if (list.length === 0) return;
    // A sender the last reading does not know may have joined since: read the fleet again first.
    if (list.some((d) => !this.members().has(getAddress(d.command.from)))) await this.readFleet().catch(() => undefined);
    for (const d of list) {
      this.handle(d);
      this.o.store.rigs.setCursor(hub, d.id);
    }
    this.o.onChange?.();
  }

  private handle(d: DeliveredCommand): void {
    const self = this.o.client.address;
    const store = this.o.store.rigs;
    const why = refusal(d, { self, members: this.members(), now: this.now(), seen: (s, n) => store.seen(s, n) });
    const from = getAddress(d.command.from);
    const record: RigCommandRecord = {
      sender: from,
      nonce: d.command.nonce,
      hub: this.o.client.hubUrl,
      action: d.command.action,
      senderName: this.nameOf(from),
      outcome: why === null ? 'applied' : 'refused',
      reason: why,
      at: new Date(this.now()).toISOString(),
    };
    // A replay is refused and not recorded again (its first record stays).
    if (!store.record(record) && why === null) return;
    if (why === null) this.apply(d.command, record.senderName ?? from);
    this.o.onCommand(record);
  }

  private apply(c: RigCommand, fromName: string): void {
    // The pause says who sent it: "Paused from desk-pc" in the status and "Why am I not earning?".
    const from = RigNameSchema.safeParse(fromName).data;
    if (c.action === 'pause') this.o.setPause({ kind: 'paused', ...(from ? { from } : {}) });
    else if (c.action === 'resume') this.o.setPause({ kind: 'none' });
    else if (c.action === 'snooze' && c.until) this.o.setPause({ kind: 'snoozed', until: new Date(c.until), ...(from ? { from } : {}) });
    else if (c.action === 'rename' && c.name) this.o.store.settings.update({ rigName: c.name });
    this.o.log(`rigs: ${commandWords(c.action, fromName, c.until ?? c.name)}`);
  }

  /** Sends a signed command to another rig of the fleet. */
  async command(target: string, action: RigAction, extra: { until?: Date; name?: string } = {}): Promise<string> {
    const command: RigCommand = {
      target: getAddress(target),
      action,
      nonce: randomBytes(16).toString('hex'),
      expiresAt: new Date(this.now() + Math.min(COMMAND_LIFETIME_MS, COMMAND_MAX_LIFETIME_MS)).toISOString(),
      from: this.o.client.address,
      ...(extra.until ? { until: extra.until.toISOString() } : {}),
      ...(extra.name ? { name: extra.name } : {}),
    };
    return this.o.client.sendCommand(command);
  }

  /** A one-time code for another rig to join this rig's fleet. */
  pairingCode(): Promise<{ code: string; expiresAt: string }> {
    return this.o.client.pairingCode();
  }

  /** Proves this rig belongs to the fleet it pays to; the fleet is read again at once. */
  async join(proof: FleetJoinRequest): Promise<string> {
    const payout = await this.o.client.joinFleet(proof);
    await this.tick(true);
    return payout;
  }

  /** What the dashboard and `idleforge rigs` show. */
  view(): RigsView {
    const offlineAfterS = this.o.settings().rigOfflineAfterS;
    const self = this.o.ready() ? this.o.client.address : null;
    const view = fleetView(this.lastFleet, {
      status: this.o.ready() ? this.status : 'no-wallet',
      message: this.o.ready() ? this.message : 'Set up your wallet first: rigs are found by the address they pay to.',
      self,
      ownName: this.o.ownName(),
      selfRunning: this.o.selfRunning ?? true,
      offlineAfterS,
      today: localDay(new Date(this.now())),
      commands: this.o.store.rigs.recent(50),
    });
    // This rig's own figures are read here and now, not from its last heartbeat.
    const own = ownFigures(this.o.store, new Date(this.now()));
    return { ...view, rigs: view.rigs.map((r) => (r.you ? { ...r, tasksToday: own.tasksToday, earnedToday: own.earnedToday, earnedWeek: own.earnedWeek } : r)) };
  }
}

/** This rig's name among its rigs: the `rigName` setting, else the computer's name. */
export function ownRigName(settings: Settings): string {
  return settings.rigName || hostname().replace(/[^\x20-\x7e]/g, '').trim().slice(0, 40) || 'this rig';
}

/** This rig's day and week from its own ledger mirror (local midnight, Monday): what its heartbeat tells its fleet. */
export function ownFigures(store: WorkerStore, now: Date): { day: string; tasksToday: number; rejectedToday: number; earnedToday: string; earnedWeek: string } {
  const { day, week } = periodStarts(now);
  const today = store.rigs.figuresSince(day.toISOString());
  return {
    day: localDay(now),
    tasksToday: today.tasks,
    rejectedToday: today.rejected,
    earnedToday: today.earned.toString(),
    earnedWeek: store.rigs.figuresSince(week.toISOString()).earned.toString(),
  };
}

/** The rig's local date, as its heartbeat names its day. */
export function localDay(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "Paused from desk-pc": a command in this rig's history, in plain words. */
export function commandWords(action: string, fromName: string, detail?: string): string {
  if (action === 'pause') return `Paused from ${fromName}`;
  if (action === 'resume') return `Resumed from ${fromName}`;
  if (action === 'snooze') return `Snoozed from ${fromName}${detail ? ` until ${new Date(detail).toLocaleString()}` : ''}`;
  if (action === 'rename') return `Renamed ${detail ? `"${detail}" ` : ''}from ${fromName}`;
  return `${action} from ${fromName}`;
}

export function fleetView(
  fleet: FleetResponse | null,
  o: { status: RigsView['status']; message: string | null; self: string | null; ownName: string; selfRunning: boolean; offlineAfterS: number; today: string; commands: RigCommandRecord[] },
): RigsView {
  const rigs = (fleet?.rigs ?? []).map((r) => {
    const sameDay = r.rig?.day === o.today;
    const you = r.address === o.self;
    return {
      address: r.address,
      name: you ? o.ownName : rigName(r),
      you,
      online: (you && o.selfRunning) || isOnline(r.heartbeatAt, fleet!.now, o.offlineAfterS),
      heartbeatAt: r.heartbeatAt,
      state: r.state,
      reason: r.rig?.reason ?? null,
      temperatureC: r.rig?.temperatureC ?? null,
      tasksToday: r.rig && sameDay ? r.rig.tasksToday : r.rig ? 0 : null,
      earnedToday: r.rig && sameDay ? r.rig.earnedToday : r.rig ? '0' : null,
      earnedWeek: r.rig?.earnedWeek ?? null,
      gpus: r.gpus.map((g) => g.model),
    };
  });
  // This rig first, then the others by name.
  rigs.sort((a, b) => Number(b.you) - Number(a.you) || a.name.localeCompare(b.name));
  return {
    status: o.status,
    message: o.message,
    payoutAddress: fleet?.payoutAddress ?? null,
    readAt: fleet?.now ?? null,
    offlineAfterS: o.offlineAfterS,
    rigs,
    commands: o.commands.map((c) => ({ at: c.at, from: c.sender, fromName: c.senderName, action: c.action, outcome: c.outcome, reason: c.reason })),
  };
}
