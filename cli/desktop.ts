/**
 * What `npm start` and `idleforge bench tray` need to run the desktop app from the sources: find
 * the Electron binary (without ever downloading it: requiring the `electron` package would),
 * decide whether the desktop app can open here, bundle it (build/desktop-bundle.ts, in its own
 * process), and the command line that launches it.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

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

const VersionSchema = z.object({ version: z.string() });
const versionOf = (pkgDir: string): string => VersionSchema.parse(JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))).version;

/** Native modules the desktop app loads: built for Electron's ABI, not Node's. */
export const ELECTRON_NATIVE_MODULES = ['better-sqlite3'] as const;

/**
 * From the sources, main loads better-sqlite3 from node_modules, which is built for Node (the CLI
 * and the tests use it). Electron needs its own build: made once per Electron version with
 * @electron/rebuild (a prebuilt binary where one exists, else compiled against Electron's
 * headers; either is downloaded, so the first start needs the network) into
 * dist/electron-native/, and linked into the bundle's own node_modules. Packaged apps get theirs
 * from electron-builder (npmRebuild) instead.
 */
export async function prepareElectronNative(
  bundleDir: string,
  o: { root?: string; rebuild?: (options: { buildPath: string; electronVersion: string; onlyModules: string[]; force: boolean }) => Promise<unknown> } = {},
): Promise<void> {
  const root = o.root ?? PROJECT_ROOT;
  const electronVersion = versionOf(join(root, 'node_modules', 'electron'));
  const nativeDir = join(root, 'dist', 'electron-native', `${electronVersion}-${process.platform}-${process.arch}`);
  for (const name of ELECTRON_NATIVE_MODULES) {
    const source = join(root, 'node_modules', name);
    const stamp = `${name}@${versionOf(source)} for Electron ${electronVersion}`;
    const built = join(nativeDir, 'node_modules', name);
    const stampFile = join(built, '.idleforge-electron-build');
    if (!existsSync(stampFile) || readFileSync(stampFile, 'utf8') !== stamp) {
      rmSync(built, { recursive: true, force: true });
      // Without Node's build (build/): the rebuild makes Electron's.
      cpSync(source, built, { recursive: true, filter: (src) => relative(source, src).split(sep)[0] !== 'build' });
      writeFileSync(join(nativeDir, 'package.json'), JSON.stringify({ name: 'idleforge-electron-native', private: true, dependencies: { [name]: versionOf(source) } }));
      const rebuild = o.rebuild ?? (await import('@electron/rebuild')).rebuild;
      try {
        await rebuild({ buildPath: nativeDir, electronVersion, onlyModules: [name], force: true });
      } catch (error) {
        rmSync(built, { recursive: true, force: true });
        throw new Error(`${name} could not be built for Electron ${electronVersion} (${error instanceof Error ? error.message : String(error)})`);
      }
      writeFileSync(stampFile, stamp);
    }
    const link = join(bundleDir, 'node_modules', name);
    mkdirSync(join(bundleDir, 'node_modules'), { recursive: true });
    rmSync(link, { recursive: true, force: true });
    symlinkSync(built, link, 'junction');
  }
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
