/**
 * The tray's menu as a template (Electron's Menu.buildFromTemplate takes it): the state, today's
 * earnings and temperature, Pause or Resume, "Pause until <game> closes" while a game or
 * fullscreen app stops work, Snooze 30 min / 1 h / until tomorrow, Open dashboard, Quit. Every actionable item has an id (the end-to-end tests click by id).
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { TrayModel } from './tray-model.js';

export type SnoozeChoice = '30m' | '1h' | 'tomorrow';

export interface TrayActions {
  pause(): void;
  resume(): void;
  snooze(choice: SnoozeChoice): void;
  /** Pauses until the game (fullscreen app, program on the GPU) stopping work now is gone. */
  pauseUntilGone(): void;
  openDashboard(): void;
  quit(): void;
}

export const MENU_IDS = {
  status: 'status',
  detail: 'detail',
  pause: 'pause',
  pauseUntilGone: 'pause-until-gone',
  resume: 'resume',
  snooze: 'snooze',
  snooze30m: 'snooze-30m',
  snooze1h: 'snooze-1h',
  snoozeTomorrow: 'snooze-tomorrow',
  openDashboard: 'open-dashboard',
  quit: 'quit',
} as const;

export function trayMenuTemplate(model: TrayModel, actions: TrayActions): MenuItemConstructorOptions[] {
  const stopped = model.pause !== 'none';
  return [
    { id: MENU_IDS.status, label: model.statusLine, enabled: false },
    { id: MENU_IDS.detail, label: model.detailLine, enabled: false },
    { type: 'separator' },
    stopped
      ? { id: MENU_IDS.resume, label: model.pause === 'snoozed' ? 'Resume now' : 'Resume', click: () => actions.resume() }
      : { id: MENU_IDS.pause, label: 'Pause', click: () => actions.pause() },
    // While a game or a fullscreen app stops work: keep the GPU free even if it leaves fullscreen
    // or the game list misses it, until it closes.
    ...(model.waitOut !== null && !stopped ? [{ id: MENU_IDS.pauseUntilGone, label: `Pause until ${clipName(model.waitOut)} closes`, click: () => actions.pauseUntilGone() }] : []),
    {
      id: MENU_IDS.snooze,
      label: 'Snooze',
      submenu: [
        { id: MENU_IDS.snooze30m, label: 'For 30 minutes', click: () => actions.snooze('30m') },
        { id: MENU_IDS.snooze1h, label: 'For 1 hour', click: () => actions.snooze('1h') },
        { id: MENU_IDS.snoozeTomorrow, label: 'Until tomorrow morning', click: () => actions.snooze('tomorrow') },
      ],
    },
    { type: 'separator' },
    { id: MENU_IDS.openDashboard, label: 'Open dashboard', click: () => actions.openDashboard() },
    { type: 'separator' },
    { id: MENU_IDS.quit, label: 'Quit Idleforge', click: () => actions.quit() },
  ];
}

/** Finds an item by id in a template (submenus included). */
export function findMenuItem(template: readonly MenuItemConstructorOptions[], id: string): MenuItemConstructorOptions | null {
  for (const item of template) {
    if (item.id === id) return item;
    if (Array.isArray(item.submenu)) {
      const found = findMenuItem(item.submenu, id);
      if (found) return found;
    }
  }
  return null;
}

/** A program's name short enough for a menu item. */
const clipName = (name: string): string => (name.length > 40 ? `${name.slice(0, 39)}…` : name);
