/**
 * `idleforge settings [--data DIR] [--json]` shows the worker's settings;
 * `idleforge settings set KEY=VALUE ...` changes them (values are JSON where they parse as JSON:
 * `idleMinutes=10 blockedPrograms='["game.exe"]' rpcUrl=null`), validated as the dashboard does.
 * `idleforge pause [--for 30m|1h|tomorrow]` and `idleforge resume` steer a running worker.
 */
import { parseArgs } from 'node:util';
import { snoozeUntil } from '../api/handlers.js';
import { defaultDataDir } from '../app-info.js';
import { SettingsError, WorkerStore } from '../store/index.js';
import { UsageError, type Output } from './output.js';

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function settingsCommand(argv: string[], out: Output): number {
  const { values, positionals } = parseArgs({ args: argv, options: { data: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const store = WorkerStore.open(values.data ?? defaultDataDir());
  try {
    if (positionals[0] === 'set') {
      const patch: Record<string, unknown> = {};
      for (const pair of positionals.slice(1)) {
        const eq = pair.indexOf('=');
        if (eq < 1) throw new UsageError(`write each change as KEY=VALUE, not ${pair}`);
        patch[pair.slice(0, eq)] = parseValue(pair.slice(eq + 1));
      }
      if (Object.keys(patch).length === 0) throw new UsageError('nothing to set: give KEY=VALUE pairs');
      try {
        store.settings.update(patch);
      } catch (error) {
        if (error instanceof SettingsError) {
          out.error(error.message);
          return 1;
        }
        throw error;
      }
      out.info('saved; a running worker picks the change up at once');
    } else if (positionals.length > 0) {
      throw new UsageError(`unknown settings action ${positionals[0]}; use "settings" or "settings set KEY=VALUE"`);
    }
    const settings = store.settings.get();
    for (const problem of store.settings.problems) out.error(`settings: ${problem}`);
    if (out.json) out.document(settings);
    else if (positionals[0] !== 'set') {
      for (const [k, v] of Object.entries(settings)) {
        const shown = k === 'schedule' ? '(7 × 24 grid)' : k === 'electricity' && settings.electricity.byHour ? JSON.stringify({ ...settings.electricity, byHour: '(7 × 24 prices)' }) : JSON.stringify(v);
        out.info(`${k.padEnd(22)} ${shown}`);
      }
    }
    return 0;
  } finally {
    store.close();
  }
}

export function pauseCommand(command: 'pause' | 'resume', argv: string[], out: Output): number {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, for: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const store = WorkerStore.open(values.data ?? defaultDataDir());
  try {
    if (command === 'resume') {
      store.settings.setPause({ kind: 'none' });
      // The sentinel's pause too (the user has looked at the GPU); a running worker reads it within seconds.
      const sentinel = store.sentinel.get();
      if (sentinel.paused) store.sentinel.set({ ...sentinel, paused: false });
      out.info('resumed: work runs again whenever the other conditions allow');
      return 0;
    }
    const choice = values.for;
    if (choice === undefined) {
      store.settings.setPause({ kind: 'paused' });
      out.info('paused until you run `idleforge resume`');
      return 0;
    }
    if (choice !== '30m' && choice !== '1h' && choice !== 'tomorrow') throw new UsageError('--for takes 30m, 1h or tomorrow');
    const until = snoozeUntil(choice, new Date());
    store.settings.setPause({ kind: 'snoozed', until });
    out.info(`snoozed until ${until.toLocaleString()}`);
    return 0;
  } finally {
    store.close();
  }
}
