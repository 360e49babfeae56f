/**
 * Settings and the manual pause, in the `kv` table. What is stored is parsed on every read:
 * a damaged or hand-edited value never crashes the worker; it falls back to defaults field by
 * field and says what it ignored.
 */
import { z } from 'zod';
import {
  DEFAULT_SETTINGS,
  describeSettingsError,
  SettingsPatchSchema,
  SettingsSchema,
  type Settings,
  type SettingsPatch,
  upgradeLegacySettings,
} from '../../protocol/settings.js';
import { RigNameSchema } from '../../protocol/http.js';
import type { Db } from '../../lib/sqlite.js';
import type { PauseState } from '../schedule/conditions.js';

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

const StoredPauseSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('paused'), from: RigNameSchema.optional() }),
  z.object({ kind: z.literal('snoozed'), until: z.iso.datetime({ offset: true }), from: RigNameSchema.optional() }),
  z.object({ kind: z.literal('until-gone'), program: z.string().min(1).max(200) }),
]);

const ScoreSchema = z.object({ adapter: z.string(), gflops: z.number().nonnegative(), mhs: z.number().nonnegative(), renderGflops: z.number().nonnegative().optional(), at: z.string() });

export class SettingsStore {
  private readonly getStmt;
  private readonly putStmt;
  /** Fields of the stored settings that did not parse and were replaced by defaults. */
  problems: string[] = [];
  /**
   * The governor asks several times a second: parsed values are kept until the file changes,
   * by this connection (writes below clear them) or another (`PRAGMA data_version` moves, as
   * when `idleforge settings set` runs beside a worker).
   */
  private cached: { version: number; settings?: Settings; pause?: PauseState } = { version: -1 };

  constructor(private readonly db: Db) {
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM kv WHERE key = ?');
    this.putStmt = db.prepare(
      'INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
    );
  }

  get(): Settings {
    const cache = this.fresh();
    return (cache.settings ??= this.read());
  }

  private fresh(): { version: number; settings?: Settings; pause?: PauseState } {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version !== this.cached.version) this.cached = { version };
    return this.cached;
  }

  private read(): Settings {
    const row = this.getStmt.get('settings');
    this.problems = [];
    if (!row) return DEFAULT_SETTINGS;
    let raw: unknown;
    try {
      raw = JSON.parse(row.value);
    } catch {
      this.problems.push('the stored settings were unreadable; using the defaults');
      return DEFAULT_SETTINGS;
    }
    // A value of the previous shape (a boolean grid), written back by hand or by an older tool
    // after the migration, loads as the migration would have brought it.
    const record = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? upgradeLegacySettings(raw as Record<string, unknown>) : {};
    const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const key of Object.keys(DEFAULT_SETTINGS) as Array<keyof Settings>) {
      if (!(key in record)) continue;
      const field = SettingsSchema.shape[key].safeParse(record[key]);
      if (field.success) merged[key] = field.data;
      else this.problems.push(`${key}: ${field.error.issues[0]?.message ?? 'not valid'}; using the default`);
    }
    return SettingsSchema.parse(merged);
  }

  /** Applies a change; throws SettingsError in plain words when it does not fit. */
  update(patch: unknown): Settings {
    const parsedPatch = SettingsPatchSchema.safeParse(patch);
    if (!parsedPatch.success) throw new SettingsError(describeSettingsError(parsedPatch.error));
    const next = SettingsSchema.safeParse({ ...this.get(), ...stripUndefined(parsedPatch.data) });
    if (!next.success) throw new SettingsError(describeSettingsError(next.error));
    this.putStmt.run('settings', JSON.stringify(next.data), new Date().toISOString());
    this.cached = { version: -1 };
    return next.data;
  }

  /** The GPU's last benchmark score, for the adapter it was measured on. */
  score(adapter: string): { gflops: number; mhs: number; renderGflops?: number; at: string } | null {
    const saved = this.lastScore();
    if (!saved || saved.adapter !== adapter) return null;
    return { gflops: saved.gflops, mhs: saved.mhs, ...(saved.renderGflops !== undefined ? { renderGflops: saved.renderGflops } : {}), at: saved.at };
  }

  /** The last score measured, whatever the adapter (the GPUs view shows when it was taken). */
  lastScore(): { adapter: string; gflops: number; mhs: number; renderGflops?: number; at: string } | null {
    const row = this.getStmt.get('benchmark');
    const parsed = ScoreSchema.safeParse(row ? safeJson(row.value) : null);
    return parsed.success ? parsed.data : null;
  }

  setScore(adapter: string, score: { gflops: number; mhs: number; renderGflops?: number }): void {
    this.putStmt.run('benchmark', JSON.stringify({ adapter, ...score, at: new Date().toISOString() }), new Date().toISOString());
  }

  pause(): PauseState {
    const cache = this.fresh();
    return (cache.pause ??= this.readPause());
  }

  private readPause(): PauseState {
    const row = this.getStmt.get('pause');
    if (!row) return { kind: 'none' };
    const parsed = StoredPauseSchema.safeParse(safeJson(row.value));
    if (!parsed.success) return { kind: 'none' };
    const p = parsed.data;
    if (p.kind === 'snoozed') return { kind: 'snoozed', until: new Date(p.until), ...(p.from ? { from: p.from } : {}) };
    return p;
  }

  setPause(state: PauseState): void {
    const value = state.kind === 'snoozed' ? { ...state, until: state.until.toISOString() } : state;
    this.putStmt.run('pause', JSON.stringify(value), new Date().toISOString());
    this.cached = { version: -1 };
  }
}

function stripUndefined(patch: SettingsPatch): SettingsPatch {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as SettingsPatch;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
