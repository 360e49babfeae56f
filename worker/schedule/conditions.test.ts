import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALWAYS, DEFAULT_SETTINGS, type Settings } from '../../protocol/settings.js';
import { findBlockedProgram } from './blocklist.js';
import { blockerOf, decide, stillThere, type Decision, type PauseState, type Readings } from './conditions.js';

// Tuesday 2026-11-24, 14:30 local time.
const NOW = new Date(2026, 10, 24, 14, 30);
const idleRig: Readings = { now: NOW, idleSeconds: Infinity, onBattery: false, runningPrograms: [], temperatureC: 60, fanPercent: null, otherGpuUsePercent: 0, fullscreenApp: null, otherGpuProcesses: [] };
const none: PauseState = { kind: 'none' };
const settings = (patch: Partial<Settings> = {}): Settings => ({ ...DEFAULT_SETTINGS, ...patch });
const blocked = (d: Decision): string => (d.allowed ? 'allowed' : d.code);

describe('decide: when the GPU may work', () => {
  it('works on an idle rig', () => {
    assert.deepEqual(decide(settings(), none, idleRig, false), { allowed: true, notes: [], hot: false });
  });

  it('the sentinel’s stop holds over everything but the user’s own pause, with its reason', () => {
    const reason = 'Your GPU returned wrong results twice in 20 tasks: it may be overclocked too far or running too hot';
    const d = decide(settings(), none, { ...idleRig, gpuFault: reason, runningPrograms: ['steam.exe'] }, false);
    assert.deepEqual([blocked(d), d.allowed ? '' : d.reason], ['gpu-faults', reason]);
    assert.equal(blocked(decide(settings(), { kind: 'paused' }, { ...idleRig, gpuFault: reason }, false)), 'paused');
    assert.equal(decide(settings(), none, { ...idleRig, gpuFault: null }, false).allowed, true);
  });

  it('"work only while it earns more than the electricity costs" waits while it does not, only when chosen and known', () => {
    const d = decide(settings({ workOnlyWhenProfitable: true }), none, { ...idleRig, unprofitable: true }, false);
    assert.deepEqual([blocked(d), d.allowed ? '' : d.reason], ['unprofitable', 'Waiting: electricity now costs more than this GPU earns']);
    assert.equal(decide(settings({ workOnlyWhenProfitable: false }), none, { ...idleRig, unprofitable: true }, false).allowed, true, 'not chosen');
    assert.equal(decide(settings({ workOnlyWhenProfitable: true }), none, { ...idleRig, unprofitable: null }, false).allowed, true, 'unknown: work is never stopped on a guess');
    assert.equal(decide(settings({ workOnlyWhenProfitable: true }), none, { ...idleRig, unprofitable: false }, false).allowed, true);
  });

  it('a manual pause and a snooze stop work, and the snooze ends by itself', () => {
    assert.equal(blocked(decide(settings(), { kind: 'paused' }, idleRig, false)), 'paused');
    const until = new Date(2026, 10, 24, 15, 0);
    const d = decide(settings(), { kind: 'snoozed', until }, idleRig, false);
    assert.equal(blocked(d), 'snoozed');
    assert.equal(!d.allowed && d.reason, 'Snoozed until 15:00');
    assert.equal(decide(settings(), { kind: 'snoozed', until }, { ...idleRig, now: new Date(2026, 10, 24, 15, 1) }, false).allowed, true);
    const tomorrow = decide(settings(), { kind: 'snoozed', until: new Date(2026, 10, 25, 8, 0) }, idleRig, false);
    assert.equal(!tomorrow.allowed && tomorrow.reason, 'Snoozed until tomorrow 08:00');
  });

  it('a pause or a snooze sent by another of the owner’s rigs says which', () => {
    const paused = decide(settings(), { kind: 'paused', from: 'desk-pc' }, idleRig, false);
    assert.equal(!paused.allowed && paused.reason, 'Paused from desk-pc');
    assert.equal(blocked(paused), 'paused');
    const d = decide(settings(), { kind: 'snoozed', until: new Date(2026, 10, 24, 15, 0), from: 'desk-pc' }, idleRig, false);
    assert.equal(!d.allowed && d.reason, 'Snoozed from desk-pc until 15:00');
  });

  it('"pause until it closes" holds while the game, the fullscreen app or the GPU program is there, whatever else says', () => {
    const wait = (program: string): PauseState => ({ kind: 'until-gone', program });
    const s = settings();
    // A game on no list, seen running: paused in its name even once it leaves fullscreen.
    const running = { ...idleRig, runningPrograms: ['mygame.exe'] };
    const d = decide(s, wait('MyGame.exe'), running, false);
    assert.deepEqual([blocked(d), d.allowed ? '' : d.reason], ['paused', 'Paused until MyGame.exe closes']);
    assert.equal(blocked(decide(s, wait('mpv'), { ...idleRig, fullscreenApp: 'mpv' }, false)), 'paused');
    assert.equal(blocked(decide(s, wait('blender'), { ...idleRig, otherGpuProcesses: ['blender'] }, false)), 'paused');
    assert.equal(blocked(decide(s, wait('MyGame.exe'), idleRig, false)), 'allowed', 'gone: work may run');
    assert.equal(stillThere('MyGame.exe', { ...idleRig, runningPrograms: null }), true, 'unknown is not gone');
    // What the tray offers to wait out: the listed game first, then the fullscreen app, then a GPU program.
    assert.equal(blockerOf(s, { ...idleRig, runningPrograms: ['Cyberpunk2077.exe'], fullscreenApp: 'mpv' }), 'Cyberpunk2077.exe');
    assert.equal(blockerOf(s, { ...idleRig, fullscreenApp: 'mpv', otherGpuProcesses: ['blender'] }), 'mpv');
    assert.equal(blockerOf(s, { ...idleRig, otherGpuProcesses: ['blender'] }), 'blender');
    assert.equal(blockerOf(s, idleRig), null);
  });

  it('stops on battery unless allowed', () => {
    assert.equal(blocked(decide(settings(), none, { ...idleRig, onBattery: true }, false)), 'on-battery');
    assert.equal(decide(settings({ allowOnBattery: true }), none, { ...idleRig, onBattery: true }, false).allowed, true);
    assert.equal(decide(settings(), none, { ...idleRig, onBattery: null }, false).allowed, true);
  });

  it('stops while a blocked program runs, matched case-insensitively, built-in or the user’s', () => {
    const game = decide(settings(), none, { ...idleRig, runningPrograms: ['explorer.exe', 'cyberpunk2077.EXE'] }, false);
    assert.equal(!game.allowed && game.reason, 'Paused: cyberpunk2077.EXE is running');
    assert.equal(decide(settings({ useBuiltinBlocklist: false }), none, { ...idleRig, runningPrograms: ['Cyberpunk2077.exe'] }, false).allowed, true);
    const mine = decide(settings({ blockedPrograms: ['blender.exe'] }), none, { ...idleRig, runningPrograms: ['blender'] }, false);
    assert.equal(blocked(mine), 'blocked-program');
    assert.equal(findBlockedProgram(['steam.exe'], ['GameOverlayUI.exe']), null, 'a launcher idling in the tray does not block');
  });

  it('follows the weekly schedule only when it is on', () => {
    const grid = ALWAYS.map((day) => day.slice());
    grid[1]![14] = 'off'; // Tuesday 14:00–15:00 off
    grid[1]![15] = 'quiet'; // any preset's name is inside the schedule
    const off = decide(settings({ scheduleEnabled: true, schedule: grid }), none, idleRig, false);
    assert.equal(!off.allowed && off.reason, 'Outside your schedule (Tuesday 14:00)');
    assert.equal(decide(settings({ scheduleEnabled: false, schedule: grid }), none, idleRig, false).allowed, true);
    assert.equal(decide(settings({ scheduleEnabled: true, schedule: grid }), none, { ...idleRig, now: new Date(2026, 10, 24, 15, 0) }, false).allowed, true);
  });

  it('stops at the temperature limit and resumes only a hysteresis below it', () => {
    const s = settings({ temperatureLimitC: 80, hysteresisC: 5 });
    const at = (t: number, wasHot: boolean): Decision => decide(s, none, { ...idleRig, temperatureC: t }, wasHot);
    assert.equal(at(79, false).allowed, true);
    const hot = at(80, false);
    assert.equal(blocked(hot), 'too-hot');
    assert.equal(hot.hot, true);
    assert.equal(blocked(at(77, true)), 'too-hot', 'still cooling between 75 and 80');
    const cooled = at(75, true);
    assert.equal(cooled.allowed, true);
    assert.equal(cooled.hot, false);
  });

  it('says so when the temperature cannot be read, instead of guessing', () => {
    const d = decide(settings(), none, { ...idleRig, temperatureC: null }, false);
    assert.deepEqual(d, { allowed: true, notes: ['GPU temperature cannot be read on this machine'], hot: false });
  });

  it('stops while another program keeps the GPU busy', () => {
    assert.equal(blocked(decide(settings({ gpuBusyPercent: 30 }), none, { ...idleRig, otherGpuUsePercent: 45 }, false)), 'gpu-busy');
    assert.equal(decide(settings({ gpuBusyPercent: 30 }), none, { ...idleRig, otherGpuUsePercent: null }, false).allowed, true);
  });

  it('waits for the user to be idle long enough', () => {
    const d = decide(settings({ idleMinutes: 10 }), none, { ...idleRig, idleSeconds: 200 }, false);
    assert.equal(!d.allowed && d.reason, 'Waiting: idle for 3 of 10 minutes');
    assert.equal(decide(settings({ idleMinutes: 10 }), none, { ...idleRig, idleSeconds: 600 }, false).allowed, true);
    assert.equal(decide(settings({ idleMinutes: 0 }), none, { ...idleRig, idleSeconds: 0 }, false).allowed, true);
  });

  it('reports the first stopping condition when several hold', () => {
    const everything: Readings = {
      now: NOW,
      idleSeconds: 0,
      onBattery: true,
      runningPrograms: ['cs2.exe'],
      temperatureC: 95,
      fanPercent: 100,
      otherGpuUsePercent: 99,
      fullscreenApp: 'cs2',
      otherGpuProcesses: ['blender'],
    };
    assert.equal(blocked(decide(settings(), { kind: 'paused' }, everything, false)), 'paused');
    assert.equal(blocked(decide(settings(), none, everything, false)), 'on-battery');
    assert.equal(blocked(decide(settings({ allowOnBattery: true }), none, everything, false)), 'blocked-program');
    const noList = settings({ allowOnBattery: true, useBuiltinBlocklist: false });
    assert.equal(blocked(decide(noList, none, everything, false)), 'fullscreen', 'after the list: the fullscreen window');
    assert.equal(blocked(decide(noList, none, { ...everything, fullscreenApp: null }, false)), 'gpu-process', 'then other GPU programs');
  });

  it('stops while a fullscreen app is in front or another process uses the GPU, in plain words', () => {
    const full = decide(settings(), none, { ...idleRig, fullscreenApp: 'Cyberpunk2077' }, false);
    assert.equal(blocked(full), 'fullscreen');
    assert.equal(!full.allowed && full.reason, 'Paused: a fullscreen app is in front (Cyberpunk2077)');
    const gpu = (names: string[]): string | false => {
      const d = decide(settings(), none, { ...idleRig, otherGpuProcesses: names }, false);
      return !d.allowed && d.code === 'gpu-process' && d.reason;
    };
    assert.equal(gpu(['blender']), 'Paused: blender is using the GPU');
    assert.equal(gpu(['blender', 'obs']), 'Paused: blender and obs are using the GPU');
    assert.equal(gpu(['blender', 'obs', 'mpv']), 'Paused: blender, obs and mpv are using the GPU');
    assert.equal(gpu(['a', 'b', 'c', 'd']), 'Paused: a, b and 2 more are using the GPU');
    assert.equal(decide(settings(), none, { ...idleRig, otherGpuProcesses: null, fullscreenApp: null }, false).allowed, true, 'cannot tell: no stop');
  });
});
