/**
 * When may the GPU work? One pure function over the latest readings, so every rule is tested
 * without timers or an OS. It returns the first condition that stops work, with plain words.
 */
import { programKey, type Settings } from '../../protocol/settings.js';
import { BUILTIN_BLOCKLIST, findBlockedProgram } from './blocklist.js';

export type BlockCode =
  | 'paused'
  | 'snoozed'
  | 'on-battery'
  | 'blocked-program'
  | 'fullscreen'
  | 'gpu-process'
  | 'outside-schedule'
  | 'too-hot'
  | 'gpu-busy'
  | 'user-active'
  | 'gpu-faults'
  | 'unprofitable';

export interface Readings {
  now: Date;
  /** Seconds since the last keyboard or mouse input; Infinity on a rig with no user. */
  idleSeconds: number | null;
  onBattery: boolean | null;
  runningPrograms: readonly string[] | null;
  temperatureC: number | null;
  /** The GPU fans' speed, percent; null where it cannot be read (thermal.ts holds it under a preset's cap). */
  fanPercent: number | null;
  /** How busy other programs keep the GPU (percent), where a sensor can tell. */
  otherGpuUsePercent: number | null;
  /** The app whose window is fullscreen in front; null for none, or where it cannot be told. */
  fullscreenApp: string | null;
  /** Other processes using the GPU now (the worker's own never among them); null where it cannot be told. */
  otherGpuProcesses: readonly string[] | null;
  /** Why the sentinel stopped work (the GPU returned wrong results, worker/costs/sentinel.ts); null while it has not. */
  gpuFault?: string | null;
  /** Whether electricity costs more now than the GPU earns (worker/costs/profit.ts); null where it cannot be told. */
  unprofitable?: boolean | null;
}

/** The reason of the `unprofitable` stop. */
export const UNPROFITABLE_REASON = 'Waiting: electricity now costs more than this GPU earns';

/** A manual pause: until a time (snooze), or until resumed. */
/** The user's pause; `from`: the name of the owner's other rig that sent it (worker/rigs/), absent when paused here. */
export type PauseState = { kind: 'none' } | { kind: 'paused'; from?: string } | { kind: 'snoozed'; until: Date; from?: string } | { kind: 'until-gone'; program: string };

/**
 * What stops work that the user may ask to wait out ("Pause until this game closes"): the game on
 * the list, the fullscreen app, or the first other program on the GPU; null for anything else.
 */
export function blockerOf(settings: Settings, r: Readings): string | null {
  const blocked = [...(settings.useBuiltinBlocklist ? BUILTIN_BLOCKLIST : []), ...settings.blockedPrograms];
  return (r.runningPrograms ? findBlockedProgram(r.runningPrograms, blocked) : null) ?? r.fullscreenApp ?? r.otherGpuProcesses?.[0] ?? null;
}

/**
 * Whether `program` (what a "pause until it closes" waits for) is still there: running, in front
 * fullscreen, or on the GPU. Unknown readings count as still there: the pause ends only when the
 * program is seen gone.
 */
export function stillThere(program: string, r: Readings): boolean {
  if (r.runningPrograms === null) return true;
  const key = programKey(program);
  return r.runningPrograms.some((p) => programKey(p) === key) || r.fullscreenApp === program || (r.otherGpuProcesses ?? []).includes(program);
}

export type Decision =
  | { allowed: true; notes: string[]; hot: boolean }
  | { allowed: false; code: BlockCode; reason: string; hot: boolean };

const DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const hhmm = (d: Date): string => `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;

/** "blender", "blender and obs", "blender, obs and 2 more". */
function namesInWords(names: readonly string[]): string {
  if (names.length <= 2) return names.join(' and ');
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]}`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} more`;
}

/** Monday = 0 … Sunday = 6, in local time. */
export const dayIndex = (d: Date): number => (d.getDay() + 6) % 7;

/**
 * `wasHot` carries the hysteresis: after a stop for heat, work resumes only once the GPU has
 * cooled to the limit minus the hysteresis.
 */
export function decide(settings: Settings, pause: PauseState, r: Readings, wasHot: boolean): Decision {
  // Temperature first, so the hysteresis state stays right whatever else stops work.
  let hot = wasHot;
  if (r.temperatureC !== null) {
    if (r.temperatureC >= settings.temperatureLimitC) hot = true;
    else if (r.temperatureC <= settings.temperatureLimitC - settings.hysteresisC) hot = false;
  }
  const stop = (code: BlockCode, reason: string): Decision => ({ allowed: false, code, reason, hot });

  if (pause.kind === 'paused') return stop('paused', pause.from ? `Paused from ${pause.from}` : 'Paused by you');
  if (pause.kind === 'until-gone' && stillThere(pause.program, r)) return stop('paused', `Paused until ${pause.program} closes`);
  if (pause.kind === 'snoozed' && pause.until.getTime() > r.now.getTime()) {
    const sameDay = pause.until.toDateString() === r.now.toDateString();
    return stop('snoozed', `Snoozed${pause.from ? ` from ${pause.from}` : ''} until ${sameDay ? '' : 'tomorrow '}${hhmm(pause.until)}`);
  }
  // The sentinel's stop waits for the user, like their own pause: one more wrong result may be
  // the hub's last strike.
  if (r.gpuFault) return stop('gpu-faults', r.gpuFault);
  if (r.onBattery === true && !settings.allowOnBattery) return stop('on-battery', 'Paused: running on battery');

  const blocked = [...(settings.useBuiltinBlocklist ? BUILTIN_BLOCKLIST : []), ...settings.blockedPrograms];
  const game = r.runningPrograms ? findBlockedProgram(r.runningPrograms, blocked) : null;
  if (game) return stop('blocked-program', `Paused: ${game} is running`);

  // The user is on the machine without touching it, with programs no list knows: a film or a
  // game filling the screen, a render or another GPU program at work.
  if (r.fullscreenApp !== null) return stop('fullscreen', `Paused: a fullscreen app is in front (${r.fullscreenApp})`);
  if (r.otherGpuProcesses && r.otherGpuProcesses.length > 0) {
    return stop('gpu-process', `Paused: ${namesInWords(r.otherGpuProcesses)} ${r.otherGpuProcesses.length === 1 ? 'is' : 'are'} using the GPU`);
  }

  // Each hour holds 'off' or a preset's name: only 'off' (or a missing hour) is outside.
  if (settings.scheduleEnabled && (settings.schedule[dayIndex(r.now)]?.[r.now.getHours()] ?? 'off') === 'off') {
    return stop('outside-schedule', `Outside your schedule (${DAY_NAMES[dayIndex(r.now)]} ${String(r.now.getHours()).padStart(2, '0')}:00)`);
  }

  if (settings.workOnlyWhenProfitable && r.unprofitable === true) return stop('unprofitable', UNPROFITABLE_REASON);

  if (hot && r.temperatureC !== null) {
    return stop(
      'too-hot',
      `Cooling down: GPU at ${Math.round(r.temperatureC)} °C, limit ${settings.temperatureLimitC} °C; resumes at ${settings.temperatureLimitC - settings.hysteresisC} °C`,
    );
  }

  if (r.otherGpuUsePercent !== null && r.otherGpuUsePercent >= settings.gpuBusyPercent) {
    return stop('gpu-busy', `Paused: another program is using the GPU (${Math.round(r.otherGpuUsePercent)}%)`);
  }

  const needed = settings.idleMinutes * 60;
  if (needed > 0 && r.idleSeconds !== null && r.idleSeconds < needed) {
    const minutes = Math.floor(r.idleSeconds / 60);
    return stop('user-active', `Waiting: idle for ${minutes} of ${settings.idleMinutes} minute${settings.idleMinutes === 1 ? '' : 's'}`);
  }

  const notes: string[] = [];
  if (r.temperatureC === null) notes.push('GPU temperature cannot be read on this machine');
  if (r.idleSeconds === null && needed > 0) notes.push('idle time cannot be read here, so the machine counts as idle');
  return { allowed: true, notes, hot };
}
