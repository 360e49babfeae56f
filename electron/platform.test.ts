/**
 * What the shell takes from the OS, without Electron: idle time, lock screen, battery, suspend and
 * resume (fake powerMonitor); the wallet's key protection (fake safeStorage); the command line,
 * launch at login and the WebGPU switches; the passphrase's sources; the dashboard hiding to the
 * tray.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { BrowserWindow } from 'electron';
import type { Readings } from '../worker/schedule/conditions.js';
import type { ConditionSources } from '../worker/schedule/sources.js';
import { PassphraseError } from '../worker/wallet/index.js';
import { DashboardWindow } from './dashboard-window.js';
import { chromiumSwitches, HIDDEN_FLAG, LaunchArgsError, linuxAutostart, loginItemSettings, parseLaunchArgs, startsHidden } from './launch.js';
import { desktopPassphrase, PassphraseSubmitSchema } from './passphrase.js';
import { electronSources, safeStorageSecretStore, watchPower, type PowerMonitorLike } from './sources.js';

class FakePowerMonitor extends EventEmitter implements PowerMonitorLike {
  idle = 12;
  state: 'active' | 'idle' | 'locked' | 'unknown' = 'active';
  battery = false;
  getSystemIdleTime(): number {
    return this.idle;
  }
  getSystemIdleState(): 'active' | 'idle' | 'locked' | 'unknown' {
    return this.state;
  }
  isOnBatteryPower(): boolean {
    return this.battery;
  }
}

const base: ConditionSources = {
  idleSeconds: async () => 999,
  onBattery: async () => null,
  runningPrograms: async () => ['steam.exe'],
  gpuSensors: async () => ({ temperatureC: 55, utilizationPercent: 3 }),
};

describe('power sources', () => {
  test('idle time and battery from powerMonitor; programs and sensors from the Node sources', async () => {
    const pm = new FakePowerMonitor();
    const { sources } = electronSources(pm, base);
    assert.equal(await sources.idleSeconds(), 12);
    pm.battery = true;
    assert.equal(await sources.onBattery(), true);
    assert.deepEqual(await sources.runningPrograms(), ['steam.exe']);
    assert.deepEqual(await sources.gpuSensors(), { temperatureC: 55, utilizationPercent: 3 });
  });

  test('a locked screen counts as idle, however recent the last input', async () => {
    const pm = new FakePowerMonitor();
    pm.idle = 3;
    const power = electronSources(pm, base);
    pm.state = 'locked';
    assert.equal(await power.sources.idleSeconds(), Infinity);
    pm.state = 'active';
    power.setLocked(true);
    assert.equal(await power.sources.idleSeconds(), Infinity);
  });

  test('events: sleep stops work and wake re-reads at once; lock, unlock and power source push readings', () => {
    const pm = new FakePowerMonitor();
    const power = electronSources(pm, base);
    const log: string[] = [];
    const updates: Partial<Readings>[] = [];
    const off = watchPower(pm, power, { update: (r) => updates.push(r), suspend: () => log.push('suspend'), resume: () => log.push('resume') });
    pm.emit('suspend');
    assert.deepEqual(log, ['suspend']);
    assert.deepEqual(updates.pop(), { idleSeconds: 0 }, 'no new lease on the way to sleep');
    pm.idle = 0;
    pm.emit('resume');
    assert.deepEqual(log, ['suspend', 'resume']);
    assert.deepEqual(updates.pop(), { idleSeconds: 0, onBattery: false });
    pm.emit('lock-screen');
    assert.deepEqual(updates.pop(), { idleSeconds: Infinity });
    assert.equal(power.locked(), true);
    pm.idle = 1;
    pm.emit('unlock-screen');
    assert.deepEqual(updates.pop(), { idleSeconds: 1 }, 'the user is back: work stops at once');
    pm.emit('on-battery');
    assert.deepEqual(updates.pop(), { onBattery: true });
    pm.emit('on-ac');
    assert.deepEqual(updates.pop(), { onBattery: false });
    off();
    assert.equal(pm.listenerCount('suspend') + pm.listenerCount('resume') + pm.listenerCount('on-ac'), 0);
  });
});

describe('key protection (safeStorage)', () => {
  const fake = (available: boolean, backend?: string) => ({
    isEncryptionAvailable: () => available,
    encryptString: (s: string) => Buffer.from([...Buffer.from(s)].reverse()),
    decryptString: (b: Buffer) => Buffer.from([...b].reverse()).toString(),
    ...(backend ? { getSelectedStorageBackend: () => backend } : {}),
  });

  test('a real OS store is used; Linux’s basic_text (no keyring) is refused, so a passphrase is asked', () => {
    const keyring = safeStorageSecretStore(fake(true, 'gnome_libsecret'), 'linux');
    assert.equal(keyring.isSecure(), true);
    assert.equal(keyring.decrypt(keyring.encrypt('secret')), 'secret');
    assert.match(keyring.name, /gnome_libsecret/);
    assert.equal(safeStorageSecretStore(fake(true, 'basic_text'), 'linux').isSecure(), false);
    assert.equal(safeStorageSecretStore(fake(true), 'linux').isSecure(), false, 'unknown backend');
    assert.equal(safeStorageSecretStore(fake(false), 'win32').isSecure(), false);
    assert.equal(safeStorageSecretStore(fake(true), 'win32').isSecure(), true);
    assert.equal(safeStorageSecretStore(fake(true), 'darwin').isSecure(), true);
  });

  test('the passphrase: the environment first, else the window; checked for length', async () => {
    const asked: string[] = [];
    const ask = async (purpose: 'new' | 'unlock', problem: string | null): Promise<string> => {
      asked.push(`${purpose}:${problem ?? ''}`);
      return 'typed in the window';
    };
    assert.equal(await desktopPassphrase({ env: { IDLEFORGE_PASSPHRASE: 'from-the-environment' }, ask }).get('unlock'), 'from-the-environment');
    await assert.rejects(desktopPassphrase({ env: { IDLEFORGE_PASSPHRASE: 'short' }, ask }).get('unlock'), PassphraseError);
    assert.equal(await desktopPassphrase({ env: {}, ask, problem: () => 'wrong, again' }).get('new'), 'typed in the window');
    assert.deepEqual(asked, ['new:wrong, again']);
    assert.equal(PassphraseSubmitSchema.safeParse({ passphrase: 'short' }).success, false);
    assert.equal(PassphraseSubmitSchema.safeParse({ passphrase: 'long enough', extra: 1 }).success, false);
    assert.equal(PassphraseSubmitSchema.safeParse({ passphrase: 'long enough' }).success, true);
  });
});

describe('launch', () => {
  test('--hub, --rpc, --data, --hidden; Chromium’s own switches left alone; bad URLs refused plainly', () => {
    assert.deepEqual(parseLaunchArgs(['--hub', 'http://127.0.0.1:9000', '--rpc', 'http://127.0.0.1:8545', '--data', '/tmp/x', '--hidden', '--remote-debugging-port=0']), {
      dataDir: '/tmp/x',
      overrides: { hubUrl: 'http://127.0.0.1:9000', rpcUrl: 'http://127.0.0.1:8545' },
      hidden: true,
    });
    assert.deepEqual(parseLaunchArgs([]), { dataDir: null, overrides: {}, hidden: false });
    assert.throws(() => parseLaunchArgs(['--hub', 'ftp://x']), (e: unknown) => e instanceof LaunchArgsError && /^--hub: /.test(e.message));
    assert.throws(() => parseLaunchArgs(['--data', ' ']), LaunchArgsError);
  });

  test('launch at login starts hidden in the tray', () => {
    assert.deepEqual(loginItemSettings({ launchAtLogin: true }), { openAtLogin: true, openAsHidden: true, args: [HIDDEN_FLAG] });
    assert.equal(loginItemSettings({ launchAtLogin: false }).openAtLogin, false);
    assert.equal(startsHidden({ hidden: false }, true), true);
    assert.equal(startsHidden({ hidden: true }, false), true);
    assert.equal(startsHidden({ hidden: false }, false), false);
    const on = linuxAutostart({ launchAtLogin: true }, '/opt/Idle "forge"/idleforge', {}, '/home/u');
    assert.equal(on.file, '/home/u/.config/autostart/idleforge.desktop');
    assert.match(on.content!, /^\[Desktop Entry\]\nType=Application\n/);
    assert.match(on.content!, /\nExec="\/opt\/Idle \\"forge\\"\/idleforge" --hidden\n/);
    assert.deepEqual(linuxAutostart({ launchAtLogin: false }, '/x', { XDG_CONFIG_HOME: '/cfg' }, '/home/u'), { file: '/cfg/autostart/idleforge.desktop', content: null });
  });

  test('WebGPU switches: Linux needs them; SwiftShader on request', () => {
    assert.deepEqual(chromiumSwitches('linux', {}), [['enable-unsafe-webgpu'], ['enable-features', 'Vulkan']]);
    assert.deepEqual(chromiumSwitches('win32', {}), []);
    assert.deepEqual(chromiumSwitches('darwin', {}), []);
    assert.deepEqual(chromiumSwitches('linux', { IDLEFORGE_WEBGPU: 'swiftshader' }).slice(2), [
      ['use-vulkan', 'swiftshader'],
      ['use-webgpu-adapter', 'swiftshader'],
    ]);
  });
});

describe('dashboard window', () => {
  class FakeWin extends EventEmitter {
    visible = false;
    destroyed = false;
    url: string | null = null;
    readonly webContents = { id: 1 };
    show(): void {
      this.visible = true;
    }
    hide(): void {
      this.visible = false;
    }
    focus(): void {}
    isMinimized(): boolean {
      return false;
    }
    restore(): void {}
    isVisible(): boolean {
      return this.visible;
    }
    isDestroyed(): boolean {
      return this.destroyed;
    }
    destroy(): void {
      this.destroyed = true;
      this.emit('closed');
    }
    async loadURL(url: string): Promise<void> {
      this.url = url;
      this.emit('ready-to-show');
    }
    /** The user clicks the window's close button. */
    userClose(): boolean {
      let prevented = false;
      this.emit('close', { preventDefault: () => void (prevented = true) });
      if (!prevented) this.destroy();
      return prevented;
    }
  }

  function setup() {
    const made: FakeWin[] = [];
    let quitting = false;
    const timers: (() => void)[] = [];
    const d = new DashboardWindow({
      create: () => {
        const w = new FakeWin();
        made.push(w);
        return w as unknown as BrowserWindow;
      },
      url: 'idleforge://dashboard/index.html',
      quitting: () => quitting,
      later: (fn) => {
        timers.push(fn);
        return () => timers.splice(timers.indexOf(fn), 1);
      },
    });
    return { d, made, timers, quit: () => (quitting = true) };
  }

  test('closing hides it to the tray; opening again shows the same window', () => {
    const { d, made } = setup();
    d.open();
    assert.equal(made[0]!.url, 'idleforge://dashboard/index.html');
    assert.equal(d.visible(), true);
    assert.equal(made[0]!.userClose(), true, 'close is turned into hide');
    assert.equal(d.visible(), false);
    assert.equal(made[0]!.destroyed, false);
    d.open();
    assert.equal(made.length, 1);
    assert.equal(d.visible(), true);
  });

  test('a hidden dashboard is destroyed after a while (an idle tray holds no renderer); quitting really closes', () => {
    const { d, made, timers, quit } = setup();
    d.open();
    made[0]!.userClose();
    assert.equal(timers.length, 1);
    timers[0]!();
    assert.equal(made[0]!.destroyed, true);
    assert.equal(d.window, null);
    d.open();
    assert.equal(made.length, 2, 'a fresh window');
    quit();
    assert.equal(made[1]!.userClose(), false);
    assert.equal(made[1]!.destroyed, true);
  });
});
