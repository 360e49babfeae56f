import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SETTINGS, SettingsPatchSchema } from '../protocol/index.js';
import { PauseShortcut, type GlobalShortcutLike } from './shortcut.js';

/** Electron's globalShortcut, as far as the app uses it: one callback per accelerator, some taken. */
function fakeShortcuts(taken: string[] = []): GlobalShortcutLike & { press(a: string): void; held(): string[] } {
  const held = new Map<string, () => void>();
  return {
    register(a, cb) {
      if (taken.includes(a) || held.has(a)) return false;
      held.set(a, cb);
      return true;
    },
    unregister(a) {
      held.delete(a);
    },
    press(a) {
      held.get(a)?.();
    },
    held: () => [...held.keys()],
  };
}

describe('the global pause shortcut', () => {
  it('is Control+Alt+P unless set otherwise, and toggles work each time it is pressed', () => {
    assert.equal(DEFAULT_SETTINGS.pauseShortcut, 'Control+Alt+P');
    const keys = fakeShortcuts();
    let paused = false;
    const s = new PauseShortcut({ shortcuts: keys, toggle: () => (paused = !paused), tell: () => assert.fail('nothing to say') });
    s.apply(DEFAULT_SETTINGS.pauseShortcut);
    keys.press('Control+Alt+P');
    assert.equal(paused, true);
    keys.press('Control+Alt+P');
    assert.equal(paused, false);
  });

  it('moves to a new shortcut when the setting changes, and none when it is emptied', () => {
    const keys = fakeShortcuts();
    const s = new PauseShortcut({ shortcuts: keys, toggle: () => undefined, tell: () => undefined });
    s.apply('Control+Alt+P');
    s.apply('CommandOrControl+Shift+F9');
    assert.deepEqual(keys.held(), ['CommandOrControl+Shift+F9']);
    s.apply('');
    assert.deepEqual(keys.held(), []);
    assert.equal(s.registered, '');
  });

  it('says so in plain words when another program holds the shortcut', () => {
    const told: string[] = [];
    const s = new PauseShortcut({ shortcuts: fakeShortcuts(['Control+Alt+P']), toggle: () => undefined, tell: (m) => told.push(m) });
    s.apply('Control+Alt+P');
    assert.equal(s.registered, '');
    assert.match(told[0] ?? '', /Control\+Alt\+P is taken by another program/);
  });

  it('accepts only modifiers and a key as the setting', () => {
    for (const ok of ['Control+Alt+P', 'CommandOrControl+Shift+F9', '']) assert.equal(SettingsPatchSchema.safeParse({ pauseShortcut: ok }).success, true, ok);
    for (const bad of ['P', 'Control+', 'Ctrl+Alt+p', 'Control+Alt+P; rm -rf']) assert.equal(SettingsPatchSchema.safeParse({ pauseShortcut: bad }).success, false, bad);
  });
});
