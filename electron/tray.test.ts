/**
 * The tray's logic without Electron: state → image and tooltip, the menu and its actions, the
 * controller's redraws, and the two notifications decided from consecutive statuses.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Menu, MenuItemConstructorOptions, NativeImage } from 'electron';
import type { EngineStatusView } from '../protocol/index.js';
import { NoticeDecider } from './notifications.js';
import { TrayController } from './tray.js';
import { findMenuItem, MENU_IDS, trayMenuTemplate, type SnoozeChoice } from './tray-menu.js';
import { formatEarnings, TOOLTIP_MAX, trayImages, trayModel, trayState } from './tray-model.js';

const ETH = 10n ** 18n;

function status(over: Partial<EngineStatusView> = {}): EngineStatusView {
  return {
    state: 'waiting',
    reason: 'Waiting: idle for 2 of 5 minutes',
    blockedBy: 'user-active',
    task: null,
    credited: 0,
    address: '0x' + '1'.repeat(40),
    hubUrl: 'http://127.0.0.1:8787',
    temperatureC: 61.6,
    temperatureLimitC: 80,
    earnedToday: (ETH * 3n + ETH / 8n).toString(), // 3.125
    earnedThisWeek: '0',
    token: { symbol: 'IFG', decimals: 18 },
    ...over,
  };
}

describe('tray model', () => {
  test('engine states map to the four tray states', () => {
    assert.equal(trayState(status({ state: 'working', blockedBy: null })), 'working');
    assert.equal(trayState(status({ state: 'waiting' })), 'waiting');
    assert.equal(trayState(status({ state: 'starting', blockedBy: null })), 'waiting');
    assert.equal(trayState(status({ state: 'paused', blockedBy: 'paused' })), 'paused');
    assert.equal(trayState(status({ state: 'error', blockedBy: null })), 'error');
    assert.equal(trayState(status({ state: 'offline', blockedBy: null })), 'error');
    assert.equal(trayState(null), 'waiting');
  });

  test('images: templates on macOS, 16 and 32 px on Windows, 32 px on Linux', () => {
    assert.deepEqual(trayImages('paused', 'darwin'), {
      template: true,
      images: [
        { file: 'pausedTemplate.png', scaleFactor: 1 },
        { file: 'pausedTemplate@2x.png', scaleFactor: 2 },
      ],
    });
    assert.deepEqual(
      trayImages('working', 'win32').images.map((i) => i.file),
      ['working-16.png', 'working-32.png'],
    );
    assert.deepEqual(trayImages('error', 'linux'), { template: false, images: [{ file: 'error-32.png', scaleFactor: 1 }] });
  });

  test('earnings are formatted exactly from base units, tiny amounts say so', () => {
    assert.equal(formatEarnings((ETH * 3n + ETH / 8n).toString(), 18, 'IFG'), '3.125 IFG');
    assert.equal(formatEarnings('0', 18, 'IFG'), '0 IFG');
    assert.equal(formatEarnings('1', 18, 'IFG'), '< 0.0001 IFG');
    // 2^64 + 1 base units: far beyond a double's precision.
    assert.equal(formatEarnings((2n ** 64n * ETH + 1n).toString(), 18, 'IFG'), '18446744073709551616 IFG');
    assert.equal(formatEarnings('123456', 2, 'X'), '1234.56 X');
  });

  test('tooltip: the reason, today’s earnings and the temperature, within 127 characters', () => {
    const m = trayModel(status(), 'linux');
    assert.equal(m.tooltip, 'Idleforge: Waiting: idle for 2 of 5 minutes\nToday 3.125 IFG · GPU 62 °C');
    assert.equal(m.statusLine, 'Waiting: idle for 2 of 5 minutes');
    assert.equal(m.detailLine, 'Today 3.125 IFG · GPU 62 °C');
    assert.equal(trayModel(status({ temperatureC: null }), 'linux').detailLine, 'Today 3.125 IFG · GPU temperature unknown');
    const long = trayModel(status({ reason: `The hub refused: ${'very '.repeat(60)}long` }), 'win32');
    assert.ok(long.tooltip.length <= TOOLTIP_MAX, `${long.tooltip.length} characters`);
    assert.ok(long.tooltip.endsWith('GPU 62 °C'), 'the earnings line survives a long reason');
    assert.ok(long.statusLine.length <= 60);
  });

  test('pause state from the status', () => {
    assert.equal(trayModel(status({ state: 'paused', blockedBy: 'paused' }), 'linux').pause, 'paused');
    assert.equal(trayModel(status({ state: 'paused', blockedBy: 'snoozed' }), 'linux').pause, 'snoozed');
    assert.equal(trayModel(status(), 'linux').pause, 'none');
  });
});

function recordingActions(): { calls: string[]; actions: Parameters<typeof trayMenuTemplate>[1] } {
  const calls: string[] = [];
  return {
    calls,
    actions: {
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
      snooze: (c: SnoozeChoice) => calls.push(`snooze ${c}`),
      pauseUntilGone: () => calls.push('pause until gone'),
      openDashboard: () => calls.push('open'),
      quit: () => calls.push('quit'),
    },
  };
}

const click = (template: MenuItemConstructorOptions[], id: string): void => {
  const item = findMenuItem(template, id);
  assert.ok(item?.click, `no clickable ${id}`);
  (item.click as () => void)();
};

describe('tray menu', () => {
  test('status lines, Pause, Snooze 30 min / 1 h / until tomorrow, Open dashboard, Quit', () => {
    const { calls, actions } = recordingActions();
    const t = trayMenuTemplate(trayModel(status({ state: 'working', blockedBy: null, reason: 'Working on a matmul task' }), 'linux'), actions);
    assert.equal(findMenuItem(t, MENU_IDS.status)?.label, 'Working on a matmul task');
    assert.equal(findMenuItem(t, MENU_IDS.status)?.enabled, false);
    assert.equal(findMenuItem(t, MENU_IDS.resume), null, 'no Resume while running');
    for (const id of [MENU_IDS.pause, MENU_IDS.snooze30m, MENU_IDS.snooze1h, MENU_IDS.snoozeTomorrow, MENU_IDS.openDashboard, MENU_IDS.quit]) click(t, id);
    assert.deepEqual(calls, ['pause', 'snooze 30m', 'snooze 1h', 'snooze tomorrow', 'open', 'quit']);
    assert.equal(findMenuItem(t, MENU_IDS.pauseUntilGone), null, 'nothing to wait out while working');
  });

  test('while a game or a fullscreen app stops work: "Pause until it closes"', () => {
    const { calls, actions } = recordingActions();
    for (const [blockedBy, blocker] of [['blocked-program', 'Cyberpunk2077.exe'], ['fullscreen', 'mpv'], ['gpu-process', 'blender']] as const) {
      const t = trayMenuTemplate(trayModel(status({ state: 'waiting', blockedBy, blocker, reason: `Paused: ${blocker}` }), 'linux'), actions);
      assert.equal(findMenuItem(t, MENU_IDS.pauseUntilGone)?.label, `Pause until ${blocker} closes`);
      click(t, MENU_IDS.pauseUntilGone);
    }
    assert.deepEqual(calls, ['pause until gone', 'pause until gone', 'pause until gone']);
    // Waiting for the user's return, or already paused: nothing to wait out.
    assert.equal(findMenuItem(trayMenuTemplate(trayModel(status({ state: 'waiting', blockedBy: 'user-active', blocker: null }), 'linux'), actions), MENU_IDS.pauseUntilGone), null);
    const paused = trayModel(status({ state: 'paused', blockedBy: 'paused', blocker: 'Cyberpunk2077.exe', reason: 'Paused until Cyberpunk2077.exe closes' }), 'linux');
    assert.equal(findMenuItem(trayMenuTemplate(paused, actions), MENU_IDS.pauseUntilGone), null);
    assert.equal(paused.pause, 'paused', 'and Resume ends it');
  });

  test('paused or snoozed: Resume instead of Pause', () => {
    const { calls, actions } = recordingActions();
    const paused = trayMenuTemplate(trayModel(status({ state: 'paused', blockedBy: 'paused', reason: 'Paused by you' }), 'linux'), actions);
    assert.equal(findMenuItem(paused, MENU_IDS.pause), null);
    assert.equal(findMenuItem(paused, MENU_IDS.resume)?.label, 'Resume');
    click(paused, MENU_IDS.resume);
    const snoozed = trayMenuTemplate(trayModel(status({ state: 'paused', blockedBy: 'snoozed', reason: 'Snoozed until 14:30' }), 'linux'), actions);
    assert.equal(findMenuItem(snoozed, MENU_IDS.resume)?.label, 'Resume now');
    assert.deepEqual(calls, ['resume']);
  });
});

describe('tray controller', () => {
  function fakeTray() {
    const log: string[] = [];
    const controller = new TrayController({
      tray: {
        setImage: (image: NativeImage | string) => void log.push(`image ${String(image)}`),
        setToolTip: (t: string) => void log.push(`tooltip ${t.split('\n')[0]}`),
        setContextMenu: () => void log.push('menu'),
      },
      buildMenu: (template) => ({ items: template }) as unknown as Menu,
      image: (files) => files.map((f) => f.file).join('+') as unknown as NativeImage,
      platform: 'win32',
      actions: recordingActions().actions,
    });
    return { log, controller };
  }

  test('redraws only what changed; the image only when the state changes', () => {
    const { log, controller } = fakeTray();
    assert.deepEqual(log, ['image waiting-16.png+waiting-32.png', 'tooltip Idleforge: starting', 'menu']);
    log.length = 0;
    controller.show(status());
    controller.show(status());
    // Still waiting: the same image; the new tooltip and menu once, though shown twice.
    assert.deepEqual(log, ['tooltip Idleforge: Waiting: idle for 2 of 5 minutes', 'menu']);
    log.length = 0;
    controller.show(status({ state: 'working', blockedBy: null, reason: 'Working on a matmul task' }));
    assert.deepEqual(log, ['image working-16.png+working-32.png', 'tooltip Idleforge: Working on a matmul task', 'menu']);
  });

  test('clicks items by id like the user; a fatal error shows in the tray', () => {
    const { controller } = fakeTray();
    controller.show(status());
    assert.equal(controller.click(MENU_IDS.pause), true);
    assert.equal(controller.click(MENU_IDS.status), false, 'the status line is not clickable');
    assert.equal(controller.click('nothing'), false);
    controller.fail('the hub address is not valid');
    assert.equal(controller.shown.state, 'error');
    assert.match(controller.shown.tooltip, /Stopped: the hub address is not valid/);
    assert.ok(findMenuItem(controller.menu as MenuItemConstructorOptions[], MENU_IDS.quit));
  });
});

describe('notifications', () => {
  test('work starting because the PC became idle: once', () => {
    const d = new NoticeDecider();
    assert.equal(d.next(status()), null);
    assert.equal(d.next(status({ state: 'working', blockedBy: null, reason: 'Working on a matmul task' }))?.kind, 'idle-start');
    assert.equal(d.next(status({ state: 'working', blockedBy: null, reason: 'Working on a hashsearch task' })), null, 'not again while working');
  });

  test('idle, then a moment with no work at the hub, then work: still the idle start', () => {
    const d = new NoticeDecider();
    d.next(status());
    assert.equal(d.next(status({ blockedBy: null, reason: 'Waiting: the hub has no work right now' })), null);
    assert.equal(d.next(status({ state: 'working', blockedBy: null }))?.kind, 'idle-start');
  });

  test('the sentinel’s pause is told at once, once, with its reason', () => {
    const d = new NoticeDecider();
    d.next(status({ state: 'working', blockedBy: null }));
    const reason = 'Your GPU returned wrong results twice in 20 tasks: it may be overclocked too far or running too hot';
    const notice = d.next(status({ blockedBy: 'gpu-faults', reason }));
    assert.deepEqual(notice, { kind: 'gpu-faults', title: 'Idleforge paused: your GPU returned wrong results', body: reason });
    assert.equal(d.next(status({ blockedBy: 'gpu-faults', reason })), null, 'not again while it lasts');
  });

  test('resuming from a pause or snooze is not an idle start', () => {
    const d = new NoticeDecider();
    d.next(status({ state: 'paused', blockedBy: 'paused' }));
    assert.equal(d.next(status({ state: 'working', blockedBy: null })), null);
  });

  test('work stopping for heat: once, with the reason; not when it never started', () => {
    const d = new NoticeDecider();
    d.next(status({ state: 'working', blockedBy: null }));
    const hot = status({ blockedBy: 'too-hot', reason: 'Cooling down: GPU at 84 °C, limit 80 °C; resumes at 75 °C' });
    const notice = d.next(hot);
    assert.equal(notice?.kind, 'heat-stop');
    assert.equal(notice?.body, hot.reason);
    assert.equal(d.next(hot), null);
    const cold = new NoticeDecider();
    assert.equal(cold.next(hot), null, 'hot at start: nothing stopped');
  });
});
