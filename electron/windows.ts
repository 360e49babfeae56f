/**
 * The one window factory: every window of the app is made here, with security.ts's
 * webPreferences, its own preload, navigation held to its own origin, no new windows and no
 * webviews. Nothing else in the app calls `new BrowserWindow`.
 */
import { join } from 'node:path';
import type { BrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { denyWindowOpen, guardNavigation, PRELOAD_FILE, webPreferencesFor, type PageKind } from './security.js';

export interface WindowFactoryDeps {
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
  /** The folder of the bundle (main.mjs, preload/, pages/). */
  bundleDir: string;
  /** The window icon (Linux and Windows). */
  icon?: string;
  devTools: boolean;
  log?(line: string): void;
}

const LOOK: Record<PageKind, BrowserWindowConstructorOptions> = {
  dashboard: { width: 1120, height: 780, minWidth: 720, minHeight: 520, title: 'Idleforge', backgroundColor: '#16181f', autoHideMenuBar: true },
  // Never shown, never focused, no taskbar entry: a process to run kernels in.
  compute: { width: 320, height: 240, show: false, skipTaskbar: true, focusable: false, paintWhenInitiallyHidden: false, title: 'Idleforge compute' },
  passphrase: {
    width: 460,
    height: 330,
    resizable: false,
    minimizable: false,
    maximizable: false,
    fullscreenable: false,
    title: 'Idleforge: wallet passphrase',
    backgroundColor: '#16181f',
    autoHideMenuBar: true,
  },
};

/** The options a window of `kind` is created with (shown later, once its page is ready). */
export function windowOptions(kind: PageKind, deps: Pick<WindowFactoryDeps, 'bundleDir' | 'icon' | 'devTools'>): BrowserWindowConstructorOptions {
  return {
    show: false,
    ...LOOK[kind],
    ...(deps.icon ? { icon: deps.icon } : {}),
    webPreferences: webPreferencesFor(kind, join(deps.bundleDir, PRELOAD_FILE[kind]), { devTools: deps.devTools }),
  };
}

export function createHardenedWindow(deps: WindowFactoryDeps, kind: PageKind): BrowserWindow {
  const win = new deps.BrowserWindow(windowOptions(kind, deps));
  const contents = win.webContents;
  const guard = guardNavigation(kind, (url) => deps.log?.(`blocked a ${kind} page from navigating to ${url}`));
  contents.setWindowOpenHandler(denyWindowOpen);
  contents.on('will-navigate', (event, url) => guard(event, url));
  contents.on('will-redirect', (event, url) => guard(event, url));
  contents.on('will-frame-navigate', (event) => guard(event, event.url));
  contents.on('will-attach-webview', (event) => event.preventDefault());
  return win;
}
