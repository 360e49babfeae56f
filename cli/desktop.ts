/**
 * What `npm start` and `idleforge bench tray` need to run the desktop app from the sources: find
 * the Electron binary (without ever downloading it: requiring the `electron` package would),
 * decide whether the desktop app can open here, bundle it (build/desktop-bundle.ts, in its own
 * process), and the command line that launches it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DESKTOP_BUNDLE_DIR = join(PROJECT_ROOT, 'dist', 'desktop');
const BUNDLER = join(PROJECT_ROOT, 'build', 'desktop-bundle.ts');

const DEFAULT_BINARY: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'electron',
  win32: 'electron.exe',
  darwin: 'Electron.app/Contents/MacOS/Electron',
};

/** The Electron binary of node_modules/electron (or ELECTRON_OVERRIDE_DIST_PATH), or null when it is not there. */
export function findElectronBinary(root = PROJECT_ROOT, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | null {
  const pkg = join(root, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : DEFAULT_BINARY[platform];
  if (!name) return null;
  const binary = env.ELECTRON_OVERRIDE_DIST_PATH ? join(env.ELECTRON_OVERRIDE_DIST_PATH, name) : join(pkg, 'dist', name);
  return existsSync(binary) ? binary : null;
}

export type StartMode = { mode: 'desktop'; electron: string } | { mode: 'headless'; reason: string; why: string };

/** The desktop app where it can open; otherwise the headless worker, with one plain sentence why. */
export function chooseStartMode(o: { electron: string | null; platform: NodeJS.Platform; env: NodeJS.ProcessEnv; headless?: boolean }): StartMode {
  const headless = (reason: string): StartMode => ({ mode: 'headless', reason, why: `${reason}, so the worker runs headless, with its dashboard in your browser.` });
  if (o.headless) return headless('Running without the desktop app as asked (--headless)');
  if (!o.electron) return headless('There is no Electron binary (node_modules/electron/dist is empty)');
  if (o.platform === 'linux' && !o.env.DISPLAY && !o.env.WAYLAND_DISPLAY) return headless('There is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)');
  return { mode: 'desktop', electron: o.electron };
}

/** Bundles the desktop app into dist/desktop (about a second); rejects with the bundler's message. */
export function bundleDesktopApp(opts: { outdir?: string; dashboard?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = ['--import', 'tsx', BUNDLER, '--outdir', opts.outdir ?? DESKTOP_BUNDLE_DIR, ...(opts.dashboard === false ? ['--no-dashboard'] : [])];
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(stderr.trim() || `the desktop bundle failed (exit ${code})`))));
  });
}

/** Arguments that launch the bundled app with Electron from the sources. */
export function desktopArgs(o: { hub?: string; rpc?: string | null; dataDir: string; hidden?: boolean; bundleDir?: string }): string[] {
  return [
    join(o.bundleDir ?? DESKTOP_BUNDLE_DIR, 'main.mjs'),
    '--data',
    o.dataDir,
    ...(o.hub ? ['--hub', o.hub] : []),
    ...(o.rpc ? ['--rpc', o.rpc] : []),
    ...(o.hidden ? ['--hidden'] : []),
  ];
}

/** The environment Electron gets: never run as plain Node. */
export function desktopEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.ELECTRON_RUN_AS_NODE;
  return out;
}
