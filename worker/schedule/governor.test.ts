import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SETTINGS } from '../../protocol/settings.js';
import type { PauseState } from './conditions.js';
import { Governor } from './governor.js';
import { linuxHwmonFanPercent, linuxProgramNames } from './sources.js';

const quietSources = {
  idleSeconds: async () => Infinity,
  onBattery: async () => false,
  runningPrograms: async () => [] as string[],
  gpuSensors: async () => ({ temperatureC: 50, utilizationPercent: 0 }),
};

describe('governor', () => {
  it('aborts the work signal the moment a condition turns to stop, and wakes waiters when it clears', async () => {
    let pause: PauseState = { kind: 'none' };
    const g = new Governor({ settings: () => DEFAULT_SETTINGS, pause: () => pause, sources: quietSources });
    await g.start();
    assert.equal(g.decision.allowed, true);
    const signal = g.workSignal();
    const changes: string[] = [];
    g.onChange((d) => changes.push(d.allowed ? 'allowed' : d.code));
    g.update({ idleSeconds: 10 });
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, 'Waiting: idle for 0 of 5 minutes');
    assert.equal(g.workSignal().aborted, true, 'a new signal is born aborted while work may not run');
    const waiting = g.waitUntilAllowed();
    g.update({ idleSeconds: 400 });
    await waiting;
    assert.equal(g.workSignal().aborted, false);
    pause = { kind: 'paused' };
    g.reevaluate();
    assert.deepEqual(changes, ['user-active', 'allowed', 'paused']);
    g.stop();
  });

  it('judges other programs’ GPU load only while not working (while working the load is ours)', async () => {
    const g = new Governor({
      settings: () => DEFAULT_SETTINGS,
      pause: () => ({ kind: 'none' }),
      sources: { ...quietSources, gpuSensors: async () => ({ temperatureC: 50, utilizationPercent: 95 }) },
    });
    await g.start();
    assert.equal(g.decision.allowed ? 'allowed' : g.decision.code, 'gpu-busy');
    g.setWorking(true);
    assert.equal(g.decision.allowed, true);
    g.stop();
  });
});

describe('governor: fullscreen windows and other GPU programs', () => {
  it('polls both sources on their own intervals and stops with their codes, in plain words', async () => {
    let front: string | null = null;
    let gpu: string[] | null = null;
    const g = new Governor({
      settings: () => DEFAULT_SETTINGS,
      pause: () => ({ kind: 'none' }),
      sources: { ...quietSources, fullscreenApp: async () => front, gpuProcesses: async () => gpu },
      intervals: { fullscreen: 20, gpuProcesses: 30 },
    });
    await g.start();
    const seen: string[] = [];
    g.onChange((d) => seen.push(d.allowed ? 'allowed' : `${d.code}: ${d.reason}`));
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 120));
    assert.equal(g.decision.allowed, true, 'null (cannot tell) does not stop work');
    front = 'Cyberpunk2077';
    gpu = ['blender'];
    await settle();
    front = null;
    await settle();
    gpu = [];
    await settle();
    g.stop();
    assert.deepEqual(seen, ['fullscreen: Paused: a fullscreen app is in front (Cyberpunk2077)', 'gpu-process: Paused: blender is using the GPU', 'allowed']);
  });

  it('ends a "pause until it closes" once the program is seen gone, for good', async () => {
    let pause: PauseState = { kind: 'until-gone', program: 'mygame.exe' };
    let programs = ['mygame.exe'];
    const g = new Governor({
      settings: () => DEFAULT_SETTINGS,
      pause: () => pause,
      clearPause: () => (pause = { kind: 'none' }),
      sources: { ...quietSources, runningPrograms: async () => programs },
    });
    await g.start();
    try {
      assert.deepEqual(g.decision.allowed ? null : [g.decision.code, g.decision.reason], ['paused', 'Paused until mygame.exe closes']);
      programs = [];
      g.update({ runningPrograms: programs });
      assert.equal(g.decision.allowed, true);
      assert.deepEqual(pause, { kind: 'none' }, 'the store forgets it');
      programs = ['mygame.exe'];
      g.update({ runningPrograms: programs });
      assert.equal(g.decision.allowed, true, 'the game starting again later is not waited for again');
    } finally {
      g.stop();
    }
  });

  it('does not start a reading again while the last one still hangs', async () => {
    let calls = 0;
    const g = new Governor({
      settings: () => DEFAULT_SETTINGS,
      pause: () => ({ kind: 'none' }),
      sources: {
        ...quietSources,
        gpuProcesses: () => {
          calls++;
          return calls === 1 ? Promise.resolve([]) : new Promise<string[] | null>(() => {});
        },
      },
      intervals: { gpuProcesses: 10 },
    });
    await g.start();
    await new Promise((r) => setTimeout(r, 100));
    g.stop();
    assert.equal(calls, 2, 'the first at start, then one that never answers');
  });
});

describe('program names from /proc', () => {
  it('reads argv[0]’s file name (Wine and Proton paths too), else the kernel’s name', () => {
    const proc = mkdtempSync(join(tmpdir(), 'idleforge-proc-'));
    const add = (pid: string, cmdline: string | null, comm: string): void => {
      mkdirSync(join(proc, pid));
      if (cmdline !== null) writeFileSync(join(proc, pid, 'cmdline'), cmdline);
      else writeFileSync(join(proc, pid, 'cmdline'), '');
      writeFileSync(join(proc, pid, 'comm'), `${comm}\n`);
    };
    add('1', '/usr/lib/systemd/systemd\0--user\0', 'systemd');
    add('42', 'Z:\\games\\Cyberpunk 2077\\bin\\x64\\Cyberpunk2077.exe\0', 'Cyberpunk2077.e');
    add('77', null, 'kthreadd');
    mkdirSync(join(proc, 'self'));
    try {
      assert.deepEqual(linuxProgramNames(proc).sort(), ['Cyberpunk2077.exe', 'kthreadd', 'systemd']);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});

describe('fan speed from hwmon', () => {
  it('reads pwm1 over its most (255 unless pwm1_max says), else fan1_input over fan1_max; the fastest card; null without any', () => {
    const sys = mkdtempSync(join(tmpdir(), 'idleforge-sys-'));
    const hwmon = (card: string, files: Record<string, string>): void => {
      const dir = join(sys, 'class/drm', card, 'device/hwmon/hwmon3');
      mkdirSync(dir, { recursive: true });
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), `${text}\n`);
    };
    try {
      assert.equal(linuxHwmonFanPercent(sys), null, 'no /sys/class/drm');
      mkdirSync(join(sys, 'class/drm/card0-DP-1'), { recursive: true }); // a connector, not a card
      hwmon('card0', { temp1_input: '54000' }); // a card without a fan reading (a laptop's iGPU)
      assert.equal(linuxHwmonFanPercent(sys), null);
      hwmon('card1', { pwm1: '102', pwm1_enable: '2', fan1_input: '1180' }); // amdgpu: 102/255
      assert.equal(linuxHwmonFanPercent(sys), 40);
      hwmon('card2', { fan1_input: '2100', fan1_max: '3000' }); // RPM only
      assert.equal(linuxHwmonFanPercent(sys), 70);
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });
});
