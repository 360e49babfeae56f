/**
 * The desktop app, assembled once Electron is ready: the worker (worker/compose.ts) with
 * Electron-backed sources, the hidden-renderer compute host and an OS-protected vault; the tray;
 * the dashboard window and its IPC; notifications; power events; launch at login. Every piece is
 * a module of its own with its logic tested in Node; this file only connects them. main.ts hands
 * in the real Electron objects.
 */
import type { App, BrowserWindow, BrowserWindowConstructorOptions, IpcMain, Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { EngineMethod, EngineStatusView } from '../protocol/index.js';
import { composeWorker, type ComposedWorker } from '../worker/compose.js';
import { defaultDataDir } from '../worker/app-info.js';
import { nodeSources } from '../worker/schedule/sources.js';
import { PassphraseError, WalletVault } from '../worker/wallet/index.js';
import { createRendererComputeHost, type RendererComputeHost } from './compute/renderer-host.js';
import { createComputeRenderer } from './compute/window.js';
import { DashboardWindow } from './dashboard-window.js';
import { forwardEngineEvents, registerEngineIpc } from './dashboard-ipc.js';
import { linuxAutostart, loginItemSettings, startsHidden, type LaunchOptions } from './launch.js';
import { NoticeDecider, rigNotice, type Notice } from './notifications.js';
import { desktopPassphrase, passphraseWindow } from './passphrase.js';
import { pageOrigin, pageUrl } from './security.js';
import { electronSources, safeStorageSecretStore, watchPower, type PowerMonitorLike, type PowerSources, type SafeStorageLike } from './sources.js';
import { PauseShortcut, type GlobalShortcutLike } from './shortcut.js';
import { TrayController } from './tray.js';
import { pauseKind, trayImages, type TrayImage } from './tray-model.js';
import { createHardenedWindow, type WindowFactoryDeps } from './windows.js';

/** The Electron objects the shell uses (main.ts passes the real ones). */
export interface ShellElectron {
  app: Pick<App, 'quit' | 'getLoginItemSettings' | 'setLoginItemSettings' | 'isPackaged' | 'on' | 'getAppMetrics'>;
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
  ipcMain: Pick<IpcMain, 'on' | 'removeListener' | 'handle' | 'removeHandler'>;
  buildMenu(template: MenuItemConstructorOptions[]): Menu;
  createTray(image: NativeImage): Tray;
  image(files: TrayImage[], template: boolean): NativeImage;
  notify(notice: Notice, onClick: () => void): void;
  powerMonitor: PowerMonitorLike;
  safeStorage: SafeStorageLike;
  /** Subscribes to the GPU process dying; returns the unsubscribe. */
  onGpuGone(listener: (reason: string) => void): () => void;
  globalShortcut: GlobalShortcutLike;
}

export interface ShellOptions {
  bundleDir: string;
  launch: LaunchOptions;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  log: { info(line: string): void; error(line: string): void };
}

export interface Shell {
  readonly worker: ComposedWorker;
  readonly tray: TrayController;
  readonly dashboard: DashboardWindow;
  readonly compute: RendererComputeHost;
  /** True once quit() has finished its work (the app may then exit). */
  readonly closed: boolean;
  quit(): Promise<void>;
}

/** Thrown when the user closed the passphrase window: the app quits without an error. */
export class StartCancelled extends Error {}

export async function startShell(e: ShellElectron, o: ShellOptions): Promise<Shell> {
  const { log } = o;
  const dataDir = o.launch.dataDir ?? defaultDataDir(o.env, o.platform);
  const windows: WindowFactoryDeps = {
    BrowserWindow: e.BrowserWindow,
    bundleDir: o.bundleDir,
    icon: join(o.bundleDir, 'icon.png'),
    devTools: !e.app.isPackaged,
    log: log.error,
  };
  let quitting = false;
  let closed = false;

  // The wallet: the OS key store where it is real; a passphrase (environment, or asked in a
  // window) where it is not, asked again while it is wrong.
  const secretStore = safeStorageSecretStore(e.safeStorage, o.platform);
  const ask = passphraseWindow({ createWindow: () => createHardenedWindow(windows, 'passphrase'), ipc: e.ipcMain, url: pageUrl('passphrase'), origin: pageOrigin('passphrase'), log: log.error });
  let problem: string | null = null;
  let cancelled = false;
  const passphrase = desktopPassphrase({
    env: o.env,
    problem: () => problem,
    ask: (purpose, p) =>
      ask(purpose, p).catch((error: unknown) => {
        cancelled = true;
        throw error;
      }),
  });

  let power: PowerSources | null = null;
  let compute: RendererComputeHost | null = null;
  let worker: ComposedWorker | null = null;
  for (let attempt = 1; !worker; attempt++) {
    try {
      worker = await composeWorker({
        dataDir,
        vault: new WalletVault(dataDir, { secretStore, passphrase }),
        overrides: o.launch.overrides,
        walletSetup: 'wait',
        sources: (settings) => {
          // The app's own processes (its GPU process, the compute renderer) are the worker's: on
          // Windows, where no parent can be read, their GPU use would otherwise stop the work.
          const ownPids = (): number[] => e.app.getAppMetrics().map((m) => m.pid);
          power = electronSources(e.powerMonitor, nodeSources({ gpuNames: () => settings().gpus, ownPids }));
          return power.sources;
        },
        createHost: async () => {
          compute = await createRendererComputeHost({
            log: log.info,
            create: () =>
              createComputeRenderer({
                createWindow: () => createHardenedWindow(windows, 'compute'),
                ipc: e.ipcMain,
                url: pageUrl('compute'),
                origin: pageOrigin('compute'),
                onGpuGone: e.onGpuGone,
                log: log.error,
              }),
          });
          return compute;
        },
        log: { event: () => {}, info: log.info, error: log.error },
      });
    } catch (error) {
      if (cancelled) throw new StartCancelled('no passphrase was given');
      const fromEnv = !!(o.env.IDLEFORGE_PASSPHRASE || o.env.IDLEFORGE_PASSPHRASE_FILE);
      if (!(error instanceof PassphraseError) || fromEnv || attempt >= 5) throw error;
      problem = 'That passphrase did not open the wallet. Try again.';
    }
  }
  const app = worker;
  // (Assigned in the callbacks above, which TypeScript's narrowing cannot see.)
  const host = compute as RendererComputeHost | null;
  const powerSources = power as PowerSources | null;
  if (!host) throw new Error('the compute host did not start');

  const call = (method: EngineMethod, params: unknown): Promise<unknown> => app.call(method, params);
  const status = async (): Promise<EngineStatusView> => (await call('getStatus', {})) as EngineStatusView;

  // The dashboard and its IPC.
  const dashboard = new DashboardWindow({
    create: () => createHardenedWindow(windows, 'dashboard'),
    url: pageUrl('dashboard'),
    quitting: () => quitting,
    log: log.error,
  });
  const syncLoginItem = (): void => {
    // Only the installed app registers itself: a development run would register the bare Electron binary.
    if (!e.app.isPackaged) return;
    if (o.platform !== 'linux') return e.app.setLoginItemSettings(loginItemSettings(app.settings()));
    const entry = linuxAutostart(app.settings(), o.env.APPIMAGE ?? process.execPath, o.env, homedir());
    try {
      if (entry.content === null) rmSync(entry.file, { force: true });
      else {
        mkdirSync(dirname(entry.file), { recursive: true });
        writeFileSync(entry.file, entry.content);
      }
    } catch (error) {
      log.error(`could not update the autostart entry ${entry.file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const offIpc = registerEngineIpc({
    ipc: e.ipcMain,
    rule: { webContentsId: () => dashboard.window?.webContents.id ?? null, origin: pageOrigin('dashboard') },
    call,
    afterCall: (method) => {
      if (method === 'updateSettings') syncLoginItem();
    },
    log: log.error,
  });
  const offEvents = forwardEngineEvents(
    (send) => app.subscribe(send),
    () => dashboard.window?.webContents ?? null,
  );

  // The tray, and what the engine's statuses make it show and say.
  const actions = {
    pause: () => void call('pause', {}).catch(report),
    resume: () => void call('resume', {}).catch(report),
    snooze: (choice: '30m' | '1h' | 'tomorrow') => void call('snooze', { for: choice }).catch(report),
    pauseUntilGone: () => void call('pauseUntilGone', {}).catch(report),
    openDashboard: () => dashboard.open(),
    quit: () => void quit(),
  };
  function report(error: unknown): void {
    log.error(error instanceof Error ? error.message : String(error));
  }
  const first = trayImages('waiting', o.platform);
  const trayIcon = e.createTray(e.image(first.images, first.template));
  const tray = new TrayController({ tray: trayIcon, buildMenu: e.buildMenu, image: e.image, platform: o.platform, actions });
  if (o.platform === 'win32') trayIcon.on('click', () => dashboard.open());
  const notices = new NoticeDecider();
  const onStatus = (s: EngineStatusView): void => {
    tray.show(s);
    const notice = notices.next(s);
    if (notice) e.notify(notice, () => dashboard.open());
  };
  const offStatus = app.subscribe((event) => {
    if (event.type === 'status') onStatus(event.status);
    // Another rig went quiet or stopped: a desktop notification; the click opens Rigs' dashboard.
    if (event.type === 'rig-alert') e.notify(rigNotice(event), () => dashboard.open());
  });
  // The global pause shortcut, moved when the setting changes (looked at with every status).
  const shortcut = new PauseShortcut({
    shortcuts: e.globalShortcut,
    toggle: () => void status().then((s) => (pauseKind(s) === 'none' ? actions.pause() : actions.resume()), report),
    tell: (message) => log.error(message),
  });
  shortcut.apply(app.settings().pauseShortcut);
  // Earnings and temperature change between statuses: the tooltip follows every 10 s.
  const ticker = setInterval(() => {
    shortcut.apply(app.settings().pauseShortcut);
    void status().then((s) => tray.show(s), report);
  }, 10_000);
  ticker.unref();
  void status().then(onStatus, report);

  // The GPU is released as soon as work must stop, so an idle tray holds no renderer.
  const offGovernor = app.governor.onChange((d) => {
    if (!d.allowed) void host.release?.();
  });
  const offPower = powerSources
    ? watchPower(e.powerMonitor, powerSources, {
        update: (r) => app.governor.update(r),
        suspend: () => host.suspend(),
        resume: () => host.resume(),
        log: log.info,
      })
    : () => {};
  syncLoginItem();

  const stop = new AbortController();
  const running = app.run({ signal: stop.signal }).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    log.error(`the engine stopped: ${message}`);
    tray.fail(message);
  });

  if (!startsHidden(o.launch, e.app.getLoginItemSettings().wasOpenedAtLogin === true) || !app.vault.exists()) dashboard.open();

  let quitPromise: Promise<void> | null = null;
  async function quit(): Promise<void> {
    quitPromise ??= (async () => {
      quitting = true;
      log.info('quitting: finishing up');
      stop.abort();
      await running;
      clearInterval(ticker);
      shortcut.clear();
      offGovernor();
      offPower();
      offStatus();
      offEvents();
      offIpc();
      dashboard.destroy();
      await app.close();
      trayIcon.destroy();
      closed = true;
      e.app.quit();
    })();
    return quitPromise;
  }

  return {
    worker: app,
    tray,
    dashboard,
    compute: host,
    get closed() {
      return closed;
    },
    quit,
  };
}
