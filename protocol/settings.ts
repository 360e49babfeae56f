/**
 * The worker's settings: what the user chooses about when and how the GPU works. Stored in the
 * worker's SQLite file, edited from the dashboard or the command line, always parsed with these.
 */
import { z } from 'zod';

export const INTENSITIES = [25, 50, 75, 100] as const;
export const IntensitySchema = z.union([z.literal(25), z.literal(50), z.literal(75), z.literal(100)]);

/** A week as 7 days (Monday first) × 24 hours; true = work may run in that hour. */
export const WeekGridSchema = z
  .array(z.array(z.boolean()).length(24, 'each day has 24 hours'))
  .length(7, 'a week has 7 days, Monday first');
export type WeekGrid = z.infer<typeof WeekGridSchema>;
export const ALWAYS: WeekGrid = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => true));

const ProgramName = z
  .string()
  .trim()
  .min(1, 'a program name cannot be empty')
  .max(200, 'a program name is at most 200 characters')
  .regex(/^[^/\\]+$/, 'give the program’s file name (like game.exe), not a path');

const HttpUrl = z
  .string()
  .url('give a full address, like http://127.0.0.1:8787')
  .regex(/^https?:\/\//, 'the address must start with http:// or https://');

export const SettingsSchema = z.object({
  /** Minutes without keyboard or mouse before work starts; 0 = no need to wait. */
  idleMinutes: z.number().int().min(0, 'idle minutes cannot be negative').max(240, 'at most 240 minutes'),
  /** When false the schedule is ignored (work may run at any hour). */
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
  /** Duty cycle of the GPU while working. */
  intensity: IntensitySchema,
  /** Names (or parts of names) of the GPUs to use; empty = the best one found. */
  gpus: z.array(z.string().trim().min(1).max(200)).max(16),
  launchAtLogin: z.boolean(),
  hubUrl: HttpUrl,
  rpcUrl: HttpUrl.nullable(),
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
  gpus: [],
  launchAtLogin: false,
  hubUrl: DEFAULT_HUB_URL,
  rpcUrl: null,
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
