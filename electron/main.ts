/**
 * The desktop app's entry (bundled to dist/desktop/main.mjs): registers the app's scheme and the
 * WebGPU switches before Electron is ready, holds the single-instance lock, hardens the session,
 * then hands the real Electron objects to the shell (shell.ts). Nothing here has logic of its own.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, globalShortcut, ipcMain, Menu, nativeImage, Notification, powerMonitor, protocol, safeStorage, session, Tray, type NativeImage } from 'electron';
import { pageResponse } from './app-protocol.js';
import { runTrayBench, trayBenchRequest } from '../bench/app/tray.js';
import { chromiumSwitches, LaunchArgsError, parseLaunchArgs, type LaunchOptions } from './launch.js';
import { APP_SCHEME, permissionAllowed } from './security.js';
import { startShell, StartCancelled, type Shell, type ShellElectron } from './shell.js';
import { installTestHooks } from './test-hooks.js';
import type { TrayImage } from './tray-model.js';

const BUNDLE_DIR = dirname(fileURLToPath(import.meta.url));
const log = {
  info: (line: string): void => console.log(line),
  error: (line: string): void => console.error(`idleforge: ${line}`),
};

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]);
for (const [name, value] of chromiumSwitches(process.platform, process.env)) app.commandLine.appendSwitch(name, value);
app.setName('Idleforge');

let launch: LaunchOptions;
try {
  launch = parseLaunchArgs(process.argv.slice(app.isPackaged ? 1 : 2));
} catch (error) {
  log.error(error instanceof LaunchArgsError ? error.message : String(error));
  process.exit(2);
}
// Chromium's own files (and the single-instance lock) live beside the worker's data.
if (launch.dataDir) app.setPath('userData', join(launch.dataDir, 'desktop'));

const images = new Map<string, NativeImage>();
function trayImage(files: TrayImage[], template: boolean): NativeImage {
  const key = files.map((f) => f.file).join();
  let image = images.get(key);
  if (!image) {
    image = nativeImage.createEmpty();
    for (const f of files) image.addRepresentation({ scaleFactor: f.scaleFactor, buffer: readFileSync(join(BUNDLE_DIR, 'tray', f.file)) });
    if (template) image.setTemplateImage(true);
    images.set(key, image);
  }
  return image;
}

const electron: ShellElectron = {
  app,
  BrowserWindow,
  ipcMain,
  buildMenu: (template) => Menu.buildFromTemplate(template),
  createTray: (image) => new Tray(image),
  image: trayImage,
  notify(notice, onClick) {
    if (!Notification.isSupported()) return;
    const n = new Notification({ title: notice.title, body: notice.body, silent: true, icon: join(BUNDLE_DIR, 'icon.png') });
    n.on('click', onClick);
    n.show();
  },
  powerMonitor,
  safeStorage,
  globalShortcut,
  onGpuGone(listener) {
    const handler = (_event: unknown, details: { type: string; reason: string }): void => {
      if (details.type === 'GPU') listener(details.reason.replace(/-/g, ' '));
    };
    app.on('child-process-gone', handler);
    return () => app.removeListener('child-process-gone', handler);
  },
};

async function ready(): Promise<void> {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => callback(permissionAllowed(permission, details.requestingUrl)));
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) => permissionAllowed(permission, requestingOrigin));
  protocol.handle(APP_SCHEME, (request) => pageResponse(request.url, join(BUNDLE_DIR, 'pages')));
  Menu.setApplicationMenu(process.platform === 'darwin' ? Menu.buildFromTemplate([{ role: 'appMenu' }, { role: 'editMenu' }]) : null);

  let shell: Shell;
  try {
    shell = await startShell(electron, { bundleDir: BUNDLE_DIR, launch, env: process.env, platform: process.platform, log });
  } catch (error) {
    if (!(error instanceof StartCancelled)) {
      const message = error instanceof Error ? error.message : String(error);
      log.error(`could not start: ${message}`);
      dialog.showErrorBox('Idleforge could not start', message);
    }
    app.exit(error instanceof StartCancelled ? 0 : 1);
    return;
  }
  app.on('second-instance', () => shell.dashboard.open());
  app.on('activate', () => shell.dashboard.open());
  // Quit from the OS (logout, Cmd+Q) finishes like Quit in the tray: the task in hand stops, the store closes.
  app.on('before-quit', (event) => {
    if (shell.closed) return;
    event.preventDefault();
    void shell.quit();
  });
  if (process.env.IDLEFORGE_E2E === '1') installTestHooks(shell);
  const bench = trayBenchRequest(process.env.IDLEFORGE_BENCH_TRAY);
  if (bench) {
    const figures = await runTrayBench({
      ...bench,
      metrics: () => app.getAppMetrics(),
      pause: () => shell.worker.call('pause', {}),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      now: () => performance.now(),
    });
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    await shell.quit();
  }
}

if (!app.requestSingleInstanceLock()) {
  log.info('Idleforge is already running: its window opens there.');
  app.quit();
} else {
  // The tray keeps the app running with no window open.
  app.on('window-all-closed', () => {});
  app.whenReady().then(ready, (error: unknown) => {
    log.error(String(error));
    app.exit(1);
  });
}
