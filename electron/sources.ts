/**
 * What the engine reads from Electron instead of the headless Node sources:
 *
 * - idle time from powerMonitor (any OS, no xprintidle); a locked screen counts as idle;
 * - battery from powerMonitor, pushed at once on `on-battery` / `on-ac`;
 * - suspend: the task in hand stops and the GPU is left alone until resume; on resume and on
 *   unlock the readings are taken again at once, so work stops the moment the user is back;
 * - the wallet's key protection from safeStorage (refused where it is not backed by a real OS
 *   secret store: Linux's `basic_text`, where a passphrase is asked instead).
 *
 * Running programs and GPU sensors stay the Node ones (`base`).
 */
import type { Readings } from '../worker/schedule/conditions.js';
import type { ConditionSources } from '../worker/schedule/sources.js';
import type { SecretStore } from '../worker/wallet/index.js';

/** The parts of Electron's powerMonitor used here. */
export interface PowerMonitorLike {
  getSystemIdleTime(): number;
  getSystemIdleState(idleThreshold: number): 'active' | 'idle' | 'locked' | 'unknown';
  isOnBatteryPower(): boolean;
  on(event: 'suspend' | 'resume' | 'lock-screen' | 'unlock-screen' | 'on-ac' | 'on-battery', listener: () => void): unknown;
  removeListener(event: 'suspend' | 'resume' | 'lock-screen' | 'unlock-screen' | 'on-ac' | 'on-battery', listener: () => void): unknown;
}

export interface PowerSources {
  sources: ConditionSources;
  /** Whether the screen is locked now. */
  locked(): boolean;
  setLocked(locked: boolean): void;
}

export function electronSources(pm: PowerMonitorLike, base: ConditionSources): PowerSources {
  let locked = false;
  const isLocked = (): boolean => locked || pm.getSystemIdleState(1) === 'locked';
  return {
    locked: isLocked,
    setLocked: (l) => {
      locked = l;
    },
    sources: {
      // A locked screen means nobody is at the keyboard, however recent the last input.
      idleSeconds: async () => (isLocked() ? Infinity : pm.getSystemIdleTime()),
      onBattery: async () => pm.isOnBatteryPower(),
      runningPrograms: () => base.runningPrograms(),
      gpuSensors: () => base.gpuSensors(),
      // A fullscreen window in front and other programs on the GPU, as the headless worker sees them.
      ...(base.fullscreenApp ? { fullscreenApp: base.fullscreenApp } : {}),
      ...(base.gpuProcesses ? { gpuProcesses: base.gpuProcesses } : {}),
    },
  };
}

/** What power events drive: the governor's readings and the compute host's sleep. */
export interface PowerTargets {
  update(readings: Partial<Readings>): void;
  suspend(): void;
  resume(): void;
  log?(line: string): void;
}

/** Subscribes to powerMonitor's events; returns the unsubscribe. */
export function watchPower(pm: PowerMonitorLike, power: PowerSources, t: PowerTargets): () => void {
  const handlers = {
    suspend: () => {
      t.log?.('the computer is going to sleep: stopping GPU work');
      t.suspend();
      // Whoever wakes it is at the keyboard: no new lease on the way to sleep (resume reads again).
      t.update({ idleSeconds: 0 });
    },
    resume: () => {
      t.resume();
      t.update({ idleSeconds: power.locked() ? Infinity : pm.getSystemIdleTime(), onBattery: pm.isOnBatteryPower() });
    },
    'lock-screen': () => {
      power.setLocked(true);
      t.update({ idleSeconds: Infinity });
    },
    'unlock-screen': () => {
      power.setLocked(false);
      t.update({ idleSeconds: pm.getSystemIdleTime() });
    },
    'on-battery': () => t.update({ onBattery: true }),
    'on-ac': () => t.update({ onBattery: false }),
  } as const;
  const names = Object.keys(handlers) as (keyof typeof handlers)[];
  for (const name of names) pm.on(name, handlers[name]);
  return () => {
    for (const name of names) pm.removeListener(name, handlers[name]);
  };
}

/** The parts of Electron's safeStorage used here. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(data: Buffer): string;
  /** Linux only: which secret store backs it. */
  getSelectedStorageBackend?(): string;
}

/** Backends that keep the key in the clear (or unknown): not a protection. */
const WEAK_BACKENDS = new Set(['basic_text', 'unknown']);

export function safeStorageSecretStore(ss: SafeStorageLike, platform: NodeJS.Platform): SecretStore {
  const backend = platform === 'linux' ? (ss.getSelectedStorageBackend?.() ?? 'unknown') : platform === 'darwin' ? 'Keychain' : 'DPAPI';
  return {
    name: `the OS key store (${backend})`,
    isSecure: () => ss.isEncryptionAvailable() && !(platform === 'linux' && WEAK_BACKENDS.has(backend)),
    encrypt: (plain) => ss.encryptString(plain),
    decrypt: (data) => ss.decryptString(data),
  };
}
