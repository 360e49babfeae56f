/**
 * Holds the GPU at its preset's target temperature by adjusting the duty cycle smoothly, instead
 * of working flat out up to the limit, stopping, cooling a hysteresis and starting again.
 *
 * The controller is a PI controller on a predicted temperature: a GPU's sensor answers late
 * (readings every few seconds, and the die heats before the sensor shows it), so each reading is
 * fitted with the last few into a line and the line is carried forward by the dead time. The
 * prediction is what the proportional and integral terms act on: on the way up from a cold start
 * the duty cycle falls before the target is reached, not a dead time after. Anti-windup: the
 * integral is clamped to [MIN_DUTY, cap], is not integrated further into a saturated output, and
 * is frozen while no work runs (a stop, a pause, a game), so nothing builds up meanwhile.
 *
 * A preset's fan cap, where the fan can be read, acts through the target: while the fans spin
 * over the cap, the target is lowered (by FAN_TRIM_RATE °C a second for each percent over), and
 * raised back slowly once they are well under it, never above the preset's own. The card's fan
 * curve turns a cooler die into slower fans; the trim is slow beside the temperature loop, so
 * the two do not fight. Where the fan cannot be read the cap does nothing.
 *
 * The temperature limit with its hysteresis (conditions.ts) stays the hard stop above this: the
 * target is held at least THERMAL_MARGIN_C under the limit. Where no temperature can be read the
 * duty cycle is simply the preset's cap. Pure and clock-free: time comes in as seconds, so tests
 * run a thermal model in simulated time (thermal.test.ts).
 */
import { presetOf, slotAt, THERMAL_MARGIN_C, type Settings, type Slot } from '../../protocol/settings.js';
import { dayIndex } from './conditions.js';

export interface ThermalControllerOptions {
  /** How late the sensor shows a change, seconds (the prediction's horizon). */
  deadTimeS?: number;
  /** Proportional gain: duty cycle (0..1) per °C of error. */
  gain?: number;
  /** Integral time, seconds. */
  integralS?: number;
  /** Readings fitted together to estimate the temperature and its slope, seconds. */
  windowS?: number;
  /** Where the integral starts (and restarts after readings were lost), as a share of the cap. */
  initial?: number;
}

/** The controller's aim for this hour. */
export interface ThermalAim {
  /** °C; already held under the limit (see thermalAim). */
  targetC: number;
  /** 0..1 */
  cap: number;
  /** The most the fans should spin, percent; absent: no cap. */
  fanCapPercent?: number;
}

/** How fast the target falls while the fans spin over their cap: °C a second for each percent over. */
export const FAN_TRIM_RATE = 0.005;
/** How fast it comes back once they are FAN_SLACK percent under the cap, °C a second. */
const FAN_RELAX_RATE = 0.01;
const FAN_SLACK = 4;
/** The most the fan cap lowers the target, °C. */
const FAN_TRIM_MAX = 25;

/** The least duty cycle the controller asks for: a rest is at most 19 times the task before it. */
export const MIN_DUTY = 0.05;

const DEFAULTS: Required<ThermalControllerOptions> = { deadTimeS: 2, gain: 0.02, integralS: 60, windowS: 15, initial: 0.75 };

export class ThermalController {
  private readonly o: Required<ThermalControllerOptions>;
  private readonly readings: Array<{ t: number; c: number }> = [];
  private integral: number | null = null;
  private lastT: number | null = null;
  private out = 1;
  /** How far under the preset's target the fan cap holds the die now, °C. */
  private fanTrimC = 0;
  /** The last predicted temperature, for the dashboard and tests. */
  predictedC: number | null = null;

  constructor(o: ThermalControllerOptions = {}) {
    this.o = { ...DEFAULTS, ...o };
  }

  /** The duty cycle to work at now, 0..1. */
  get duty(): number {
    return this.out;
  }

  /** The target the die is held at now, °C: the aim's, less what the fan cap asks. */
  targetFor(aim: ThermalAim): number {
    return aim.targetC - this.fanTrimC;
  }

  /**
   * One reading: `t` in seconds (any origin, increasing), `temperatureC` null where none can be
   * read, `active` whether work may run (the integral and the fan trim are frozen otherwise),
   * `fanPercent` the fans' speed where it can be read. Returns the duty cycle.
   */
  update(t: number, temperatureC: number | null, aim: ThermalAim, active: boolean, fanPercent: number | null = null): number {
    const cap = Math.min(1, Math.max(MIN_DUTY, aim.cap));
    const dt = this.lastT === null ? 0 : Math.max(0, Math.min(t - this.lastT, 30));
    this.lastT = t;
    if (aim.fanCapPercent === undefined) this.fanTrimC = 0;
    else if (active && fanPercent !== null && Number.isFinite(fanPercent)) {
      const over = fanPercent - aim.fanCapPercent;
      if (over > 0) this.fanTrimC = Math.min(FAN_TRIM_MAX, this.fanTrimC + FAN_TRIM_RATE * over * dt);
      else if (over < -FAN_SLACK) this.fanTrimC = Math.max(0, this.fanTrimC - FAN_RELAX_RATE * dt);
    }
    if (temperatureC === null || !Number.isFinite(temperatureC)) {
      this.readings.length = 0;
      this.integral = null;
      this.predictedC = null;
      return (this.out = cap);
    }
    this.readings.push({ t, c: temperatureC });
    while (this.readings.length > 2 && t - this.readings[0]!.t > this.o.windowS) this.readings.shift();
    const { value, slope } = fit(this.readings, t);
    const predicted = value + slope * this.o.deadTimeS;
    this.predictedC = predicted;
    const error = this.targetFor(aim) - predicted;
    const p = this.o.gain * error;
    let integral = Math.min(cap, Math.max(MIN_DUTY, this.integral ?? cap * this.o.initial));
    const raw = integral + p;
    // Integrate only while working, and never further into a saturated output.
    const pushesPast = (raw >= cap && error > 0) || (raw <= MIN_DUTY && error < 0);
    if (active && !pushesPast) integral = Math.min(cap, Math.max(MIN_DUTY, integral + (this.o.gain * error * dt) / this.o.integralS));
    this.integral = integral;
    return (this.out = Math.min(cap, Math.max(MIN_DUTY, integral + p)));
  }
}

/** Least-squares line through the readings: its value at `t` and its slope (°C/s). */
function fit(points: ReadonlyArray<{ t: number; c: number }>, t: number): { value: number; slope: number } {
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mc = points.reduce((s, p) => s + p.c, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.c - mc);
    den += (p.t - mt) ** 2;
  }
  const slope = den > 0 ? num / den : 0;
  return { value: mc + slope * (t - mt), slope };
}

/** What the controller aims at now: the slot's preset, its target held under the limit; null in an Off hour. */
export function thermalAim(settings: Settings, now: Date): (ThermalAim & { slot: Exclude<Slot, 'off'> }) | null {
  const slot = slotAt(settings, dayIndex(now), now.getHours());
  if (slot === 'off') return null;
  const preset = presetOf(settings, slot);
  return {
    slot,
    targetC: Math.min(preset.targetC, settings.temperatureLimitC - THERMAL_MARGIN_C),
    cap: preset.dutyCapPercent / 100,
    ...(preset.fanCapPercent !== undefined ? { fanCapPercent: preset.fanCapPercent } : {}),
  };
}

/** The readings thermal control needs: the governor's latest temperature and whether work may run. */
export interface ThermalSource {
  readonly latest: { readonly temperatureC: number | null; readonly fanPercent?: number | null };
  readonly decision: { readonly allowed: boolean };
}

export interface ThermalControl {
  /** The duty cycle to work at now, 0..1 (the engine's `dutyCycle`). */
  dutyCycle(): number;
  stop(): void;
}

/**
 * Feeds the governor's temperature to a controller every `intervalMs` (the sensors' own
 * interval) and answers the engine's duty cycle. Outside the schedule nothing runs, so an Off
 * hour just keeps the last duty cycle.
 */
export function startThermalControl(o: {
  source: ThermalSource;
  settings: () => Settings;
  /**
   * Whether the GPU is working now (the engine's state), beside the governor's decision: while
   * the hub has no work the GPU cools although work is allowed, and the integral must not climb
   * to the cap meanwhile. Without it, the governor's decision alone.
   */
  working?: () => boolean;
  now?: () => Date;
  intervalMs?: number;
  controller?: ThermalController;
}): ThermalControl {
  const controller = o.controller ?? new ThermalController();
  const now = o.now ?? (() => new Date());
  const step = (): void => {
    const at = now();
    const aim = thermalAim(o.settings(), at);
    if (!aim) return;
    const active = o.source.decision.allowed && (o.working?.() ?? true);
    controller.update(at.getTime() / 1000, o.source.latest.temperatureC, aim, active, o.source.latest.fanPercent ?? null);
  };
  step();
  const timer = setInterval(step, o.intervalMs ?? 3000);
  timer.unref();
  return {
    dutyCycle: () => {
      // The cap of this hour's preset applies at once, even between two readings.
      const aim = thermalAim(o.settings(), now());
      return aim ? Math.min(aim.cap, controller.duty) : controller.duty;
    },
    stop: () => clearInterval(timer),
  };
}
