import type { Migration } from '../../../lib/sqlite.js';
import { upgradeLegacySettings } from '../../../protocol/settings.js';

/**
 * Thermal presets: the stored settings' weekly grid of booleans becomes a grid of
 * presets (true → 'custom', whose cap is the stored `intensity`; false → 'off'), and the Custom
 * target is added just under the stored limit. A value that is not JSON is left as it is: the
 * store falls back to the defaults on read and says so, as it always did.
 */
export const m0006: Migration = {
  version: 6,
  name: '0006-schedule-presets',
  up(db) {
    const row = db.prepare<[], { value: string }>("SELECT value FROM kv WHERE key = 'settings'").get();
    if (!row) return;
    let raw: unknown;
    try {
      raw = JSON.parse(row.value);
    } catch {
      return;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return;
    const upgraded = upgradeLegacySettings(raw as Record<string, unknown>);
    db.prepare("UPDATE kv SET value = ?, updated_at = ? WHERE key = 'settings'").run(JSON.stringify(upgraded), new Date().toISOString());
  },
};
