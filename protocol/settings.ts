/**
 * The worker's settings: what the user chooses about when and how the GPU works. Stored in the
 * worker's SQLite file, edited from the dashboard or the command line, always parsed with these.
 */
import { z } from 'zod';
import { CurrencySchema, MicroSchema } from './rates.js';
import { RigNameSchema } from './http.js';

export const INTENSITIES = [25, 50, 75, 100] as const;
export const IntensitySchema = z.union([z.literal(25), z.literal(50), z.literal(75), z.literal(100)], { error: 'the intensity is 25, 50, 75 or 100 %' });

/**
 * Thermal presets: each is a temperature the GPU is held at (a controller in the worker adjusts
 * the duty cycle smoothly, worker/schedule/thermal.ts) and a cap on that duty cycle. The
 * temperature limit with its hysteresis stays the hard stop above every preset: a target above
 * the limit is held a little under it instead.
 */
export const PRESET_NAMES = ['max', 'balanced', 'quiet', 'custom'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];
/** What an hour of the weekly grid holds: no work, or the preset work runs with. */
export const SLOT_VALUES = ['off', ...PRESET_NAMES] as const;
export type Slot = (typeof SLOT_VALUES)[number];

export interface ThermalPreset {
  /** The temperature the controller holds the GPU at, °C. */
  targetC: number;
  /** The most of the time the GPU works on tasks, percent. */
  dutyCapPercent: number;
  /**
   * The most the fans should spin, percent, where the fan can be read: the controller holds the
   * GPU cooler than its target while they spin faster (worker/schedule/thermal.ts).
   */
  fanCapPercent?: number;
}

/** The built-in presets; Custom is the user's own `customTargetC` and `intensity` (its cap). */
export const BUILTIN_PRESETS: Readonly<Record<Exclude<PresetName, 'custom'>, ThermalPreset>> = {
  max: { targetC: 83, dutyCapPercent: 100 },
  balanced: { targetC: 75, dutyCapPercent: 75, fanCapPercent: 80 },
  quiet: { targetC: 68, dutyCapPercent: 50, fanCapPercent: 60 },
};

/** The preset named, for these settings (Custom reads the user's target and cap). */
export function presetOf(settings: Pick<Settings, 'customTargetC' | 'intensity'>, name: PresetName): ThermalPreset {
  return name === 'custom' ? { targetC: settings.customTargetC, dutyCapPercent: settings.intensity } : BUILTIN_PRESETS[name];
}

/**
 * The slot that applies at `day` (Monday = 0) and `hour`: the grid's when the schedule is on;
 * when it is off the grid is ignored and Custom applies at every hour (the user's own target
 * and cap, which is what `intensity` alone meant before presets).
 */
export function slotAt(settings: Pick<Settings, 'scheduleEnabled' | 'schedule'>, day: number, hour: number): Slot {
  if (!settings.scheduleEnabled) return 'custom';
  return settings.schedule[day]?.[hour] ?? 'off';
}

export const SlotSchema = z.enum(SLOT_VALUES, { error: 'each hour is off, max, balanced, quiet or custom' });

/** A week as 7 days (Monday first) × 24 hours; each hour is Off or the preset work runs with. */
export const WeekGridSchema = z
  .array(z.array(SlotSchema).length(24, 'each day has 24 hours'), { error: 'the schedule is a list of 7 days' })
  .length(7, 'a week has 7 days, Monday first');
export type WeekGrid = z.infer<typeof WeekGridSchema>;
export const ALWAYS: WeekGrid = Array.from({ length: 7 }, () => Array.from({ length: 24 }, (): Slot => 'custom'));

/** A preset's target is held at least this far under the temperature limit (the hard stop). */
export const THERMAL_MARGIN_C = 3;

/**
 * Settings written before presets, brought to today's shape: a boolean grid becomes
 * Custom where it was true (Custom's cap is the old `intensity`, unchanged) and Off where it
 * was false; the Custom target, new then, is set just under the stored limit, so an upgraded
 * worker runs as before, only held smoothly under the limit instead of stopping at it.
 * Anything else is returned as it was (the store parses every field afterwards).
 */
export function upgradeLegacySettings(raw: Record<string, unknown>): Record<string, unknown> {
  const grid = raw.schedule;
  const legacy = Array.isArray(grid) && grid.some((day) => Array.isArray(day) && day.some((h) => typeof h === 'boolean'));
  if (!legacy && 'customTargetC' in raw) return raw;
  const out: Record<string, unknown> = { ...raw };
  if (legacy) {
    out.schedule = (grid as unknown[]).map((day) => (Array.isArray(day) ? day.map((h: unknown) => (h === true ? 'custom' : h === false ? 'off' : h)) : day));
  }
  if (!('customTargetC' in raw)) {
    const limit = typeof raw.temperatureLimitC === 'number' && Number.isInteger(raw.temperatureLimitC) ? raw.temperatureLimitC : DEFAULT_SETTINGS.temperatureLimitC;
    out.customTargetC = Math.min(100, Math.max(40, limit - THERMAL_MARGIN_C));
  }
  return out;
}

const ProgramName = z
  .string()
  .trim()
  .min(1, 'a program name cannot be empty')
  .max(200, 'a program name is at most 200 characters')
  .regex(/^[^/\\]+$/, 'give the program’s file name (like game.exe), not a path');

/**
 * An Electron accelerator for a global shortcut: one or more modifiers and a key, joined by '+'
 * (Control+Alt+P, CommandOrControl+Shift+F9); '' for none.
 */
const MODIFIER = '(?:Command|Cmd|Control|Ctrl|CommandOrControl|CmdOrCtrl|Alt|Option|AltGr|Shift|Super|Meta)';
const KEY = '(?:[A-Z0-9]|F(?:[1-9]|1[0-9]|2[0-4])|Space|Tab|Backspace|Delete|Insert|Home|End|PageUp|PageDown|Up|Down|Left|Right|Escape|Pause)';
export const ShortcutSchema = z
  .string()
  .max(60)
  .regex(new RegExp(`^(?:(?:${MODIFIER}\\+)+${KEY})?$`), 'give modifiers and a key, like Control+Alt+P (or leave it empty for none)');
export const DEFAULT_PAUSE_SHORTCUT = 'Control+Alt+P';

const HttpUrl = z
  .string()
  .url('give a full address, like http://127.0.0.1:8787')
  .regex(/^https?:\/\//, 'the address must start with http:// or https://');

export const ElectricitySchema = z.object({
  currency: CurrencySchema,
  perKwh: MicroSchema.nullable(),
  byHour: z
    .array(z.array(MicroSchema).length(24, 'each day has 24 hours'), { error: 'the prices are a list of 7 days' })
    .length(7, 'a week has 7 days, Monday first')
    .nullable(),
});
export type Electricity = z.infer<typeof ElectricitySchema>;

/** The electricity price at `day` (Monday = 0) and `hour`, micro-units per kWh; null when not set. */
export function electricityPriceAt(e: Electricity, day: number, hour: number): number | null {
  if (e.byHour) return e.byHour[day]?.[hour] ?? null;
  return e.perKwh;
}

export const SettingsSchema = z.object({
  /** Minutes without keyboard or mouse before work starts; 0 = no need to wait. */
  idleMinutes: z.number().int().min(0, 'idle minutes cannot be negative').max(240, 'at most 240 minutes'),
  /** When false the schedule is ignored: work may run at any hour, with the Custom preset. */
  scheduleEnabled: z.boolean(),
  schedule: WeekGridSchema,
  /** The built-in list of game launchers and games. */
  useBuiltinBlocklist: z.boolean(),
  /** The user's own programs that stop work while they run (matched case-insensitively). */
  blockedPrograms: z.array(ProgramName).max(500),
  /** Stop when another program keeps the GPU busier than this (percent), where it can be read. */
  gpuBusyPercent: z.number().int().min(1).max(100),
  allowOnBattery: z.boolean(),
  temperatureLimitC: z.number().int().min(40, 'the limit must be at least 40 °C').max(100, 'the limit can be at most 100 °C'),
  hysteresisC: z.number().int().min(1, 'at least 1 °C').max(30, 'at most 30 °C'),
  /** The Custom preset's cap on the GPU's duty cycle (percent); `--intensity` sets it. */
  intensity: IntensitySchema,
  /** The Custom preset's target temperature (°C): the duty cycle is adjusted to hold the GPU there. */
  customTargetC: z.number({ error: 'give the target in whole °C' }).int('give the target in whole °C').min(40, 'the target must be at least 40 °C').max(100, 'the target can be at most 100 °C'),
  /** Names (or parts of names) of the GPUs to use; empty = the best one found. */
  gpus: z.array(z.string().trim().min(1).max(200)).max(16),
  launchAtLogin: z.boolean(),
  /** The desktop app's global shortcut that pauses and resumes work ('' for none). */
  pauseShortcut: ShortcutSchema,
  hubUrl: HttpUrl,
  rpcUrl: HttpUrl.nullable(),
  /**
   * What electricity costs, in micro-units of `currency` per kWh (0.25 EUR/kWh is 250000):
   * `perKwh` flat, or `byHour` for each hour of the week (Monday first, as the schedule grid);
   * `perKwh` null: not set (costs are not counted).
   */
  electricity: ElectricitySchema,
  /** What a whole token is worth, in micro-units of the electricity's currency; null: the hub's reference price. */
  tokenValue: MicroSchema.nullable(),
  /** Work only while the GPU earns more than its electricity costs (where both are known). */
  workOnlyWhenProfitable: z.boolean(),
  /** What this rig is called among the owner's rigs ('' = the computer's name). */
  rigName: z.union([z.literal(''), RigNameSchema]),
  /** Seconds without a heartbeat before another rig is shown offline and its owner told. */
  rigOfflineAfterS: z.number({ error: 'give whole seconds' }).int('give whole seconds').min(5, 'at least 5 seconds').max(3600, 'at most an hour'),
  /**
   * Called (POST, JSON `{ text, content, title, rig, alert }`) when another rig goes offline or
   * stops; by this worker, never by the hub. null: no webhook.
   */
  rigAlertWebhook: HttpUrl.nullable(),
});
export type Settings = z.infer<typeof SettingsSchema>;

/** A change to some settings; the result must still be valid as a whole. */
export const SettingsPatchSchema = SettingsSchema.partial();
export type SettingsPatch = z.infer<typeof SettingsPatchSchema>;

export const DEFAULT_HUB_URL = 'http://127.0.0.1:8787';

export const DEFAULT_SETTINGS: Settings = {
  idleMinutes: 5,
  scheduleEnabled: false,
  schedule: ALWAYS,
  useBuiltinBlocklist: true,
  blockedPrograms: [],
  gpuBusyPercent: 30,
  allowOnBattery: false,
  temperatureLimitC: 80,
  hysteresisC: 5,
  intensity: 100,
  customTargetC: 75,
  gpus: [],
  launchAtLogin: false,
  pauseShortcut: DEFAULT_PAUSE_SHORTCUT,
  hubUrl: DEFAULT_HUB_URL,
  rpcUrl: null,
  // USD as the devnet's reference price is: out of the box the dashboard values tokens at it.
  electricity: { currency: 'USD', perKwh: null, byHour: null },
  tokenValue: null,
  workOnlyWhenProfitable: false,
  rigName: '',
  rigOfflineAfterS: 120,
  rigAlertWebhook: null,
};

/** How program names are compared (the blocklist, the dashboard's picker): case-insensitive, without `.exe`. */
export const programKey = (name: string): string => name.trim().toLowerCase().replace(/\.exe$/, '');

/** Plain words for the first problem of a failed parse: "Temperature limit: the limit can be…". */
export function describeSettingsError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'the settings are not valid';
  const field = issue.path.length > 0 ? `${String(issue.path[0])}: ` : '';
  return `${field}${issue.message}`;
}
