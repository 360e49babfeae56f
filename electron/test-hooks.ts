/**
 * What the end-to-end tests (test/electron-e2e.test.ts) reach in the main process, through
 * Playwright's electronApp.evaluate: installed only when IDLEFORGE_E2E=1, never in normal runs.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { EngineMethod } from '../protocol/index.js';
import type { Shell } from './shell.js';

export const TEST_HOOKS_GLOBAL = '__idleforgeE2E';

export interface MenuEntry {
  id: string | null;
  label: string;
  enabled: boolean;
  depth: number;
}

function flatten(items: readonly MenuItemConstructorOptions[], depth = 0): MenuEntry[] {
  return items.flatMap((item) => [
    ...(item.type === 'separator' ? [] : [{ id: item.id ?? null, label: item.label ?? '', enabled: item.enabled !== false, depth }]),
    ...(Array.isArray(item.submenu) ? flatten(item.submenu, depth + 1) : []),
  ]);
}

export function installTestHooks(shell: Shell, scope: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): void {
  scope[TEST_HOOKS_GLOBAL] = {
    menu: (): MenuEntry[] => flatten(shell.tray.menu),
    click: (id: string): boolean => shell.tray.click(id),
    tray: () => {
      const m = shell.tray.shown;
      return { state: m.state, tooltip: m.tooltip, statusLine: m.statusLine, detailLine: m.detailLine, pause: m.pause };
    },
    dashboard: () => ({ exists: shell.dashboard.window !== null, visible: shell.dashboard.visible() }),
    openDashboard: () => shell.dashboard.open(),
    closeDashboard: () => shell.dashboard.window?.close(),
    compute: () => shell.compute.stats(),
    call: (method: EngineMethod, params: unknown) => shell.worker.call(method, params),
  };
}
