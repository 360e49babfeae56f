/**
 * `npm start`'s choice (the desktop app, or the headless worker and one plain sentence why), the
 * Electron binary lookup (never a download), and the headless start end to end: the local
 * network, the worker, its dashboard URL, Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { BIN, ROOT, tempDir } from '../test/helpers.js';
import { chooseStartMode, desktopArgs, desktopEnv, findElectronBinary, prepareElectronNative } from './desktop.js';
import { dashboardLine } from './start.js';

describe('start mode', () => {
  test('the desktop app with a binary and a display; otherwise headless, saying why in one sentence', () => {
    assert.deepEqual(chooseStartMode({ electron: '/e/electron', platform: 'linux', env: { DISPLAY: ':0' } }), { mode: 'desktop', electron: '/e/electron' });
    assert.deepEqual(chooseStartMode({ electron: '/e/electron', platform: 'linux', env: { WAYLAND_DISPLAY: 'wayland-0' } }).mode, 'desktop');
    assert.deepEqual(chooseStartMode({ electron: 'C:/e/electron.exe', platform: 'win32', env: {} }).mode, 'desktop');
    const noBinary = chooseStartMode({ electron: null, platform: 'linux', env: { DISPLAY: ':0' } });
    assert.equal(noBinary.mode, 'headless');
    assert.equal(noBinary.mode === 'headless' && noBinary.why, 'There is no Electron binary (node_modules/electron/dist is empty), so the worker runs headless, with its dashboard in your browser.');
    const noDisplay = chooseStartMode({ electron: '/e/electron', platform: 'linux', env: {} });
    assert.match(noDisplay.mode === 'headless' ? noDisplay.why : '', /^There is no display \(neither DISPLAY nor WAYLAND_DISPLAY is set\), so the worker runs headless/);
    assert.equal(chooseStartMode({ electron: '/e/electron', platform: 'darwin', env: {}, headless: true }).mode, 'headless');
  });

  test('the Electron binary is found from path.txt (or ELECTRON_OVERRIDE_DIST_PATH), only when the file is there', () => {
    const root = tempDir('electron-root');
    try {
      const pkg = join(root.path, 'node_modules', 'electron');
      mkdirSync(join(pkg, 'dist'), { recursive: true });
      assert.equal(findElectronBinary(root.path, {}, 'linux'), null, 'no binary');
      writeFileSync(join(pkg, 'path.txt'), 'electron');
      assert.equal(findElectronBinary(root.path, {}, 'linux'), null, 'path.txt alone is not a binary');
      writeFileSync(join(pkg, 'dist', 'electron'), '');
      assert.equal(findElectronBinary(root.path, {}, 'linux'), join(pkg, 'dist', 'electron'));
      mkdirSync(join(root.path, 'override'));
      assert.equal(findElectronBinary(root.path, { ELECTRON_OVERRIDE_DIST_PATH: join(root.path, 'override') }, 'linux'), null);
      writeFileSync(join(root.path, 'override', 'electron'), '');
      assert.equal(findElectronBinary(root.path, { ELECTRON_OVERRIDE_DIST_PATH: join(root.path, 'override') }, 'linux'), join(root.path, 'override', 'electron'));
    } finally {
      root.remove();
    }
  });

  test('native modules: built for Electron once per version (a copy; Node’s build untouched), linked into the bundle', async () => {
    const root = tempDir('native-root');
    try {
      const node = join(root.path, 'node_modules');
      mkdirSync(join(node, 'electron'), { recursive: true });
      writeFileSync(join(node, 'electron', 'package.json'), JSON.stringify({ version: '45.5.0' }));
      mkdirSync(join(node, 'better-sqlite3', 'build', 'Release'), { recursive: true });
      writeFileSync(join(node, 'better-sqlite3', 'package.json'), JSON.stringify({ version: '12.11.1' }));
      writeFileSync(join(node, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'built for Node');
      const builds: string[] = [];
      const rebuild = async (o: { buildPath: string; electronVersion: string; onlyModules: string[] }): Promise<void> => {
        builds.push(`${o.onlyModules.join()} for ${o.electronVersion}`);
        const out = join(o.buildPath, 'node_modules', 'better-sqlite3', 'build', 'Release');
        assert.equal(existsSync(out), false, 'Node’s build is not copied');
        mkdirSync(out, { recursive: true });
        writeFileSync(join(out, 'better_sqlite3.node'), 'built for Electron');
      };
      const bundle = join(root.path, 'bundle');
      await prepareElectronNative(bundle, { root: root.path, rebuild });
      await prepareElectronNative(bundle, { root: root.path, rebuild });
      assert.deepEqual(builds, ['better-sqlite3 for 45.5.0'], 'built once');
      const linked = join(bundle, 'node_modules', 'better-sqlite3');
      assert.equal(readFileSync(join(linked, 'build', 'Release', 'better_sqlite3.node'), 'utf8'), 'built for Electron');
      assert.match(realpathSync(linked), /electron-native/);
      assert.equal(readFileSync(join(node, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'utf8'), 'built for Node');
      const failing = async (): Promise<void> => {
        throw new Error('no network');
      };
      writeFileSync(join(node, 'electron', 'package.json'), JSON.stringify({ version: '46.0.0' }));
      await assert.rejects(prepareElectronNative(bundle, { root: root.path, rebuild: failing }), /better-sqlite3 could not be built for Electron 46.0.0 \(no network\)/);
    } finally {
      root.remove();
    }
  });

  test('how the desktop app is launched', () => {
    assert.deepEqual(desktopArgs({ hub: 'http://127.0.0.1:8787', rpc: 'http://127.0.0.1:8545', dataDir: '/d', bundleDir: '/b' }), [
      join('/b', 'main.mjs'),
      '--data',
      '/d',
      '--hub',
      'http://127.0.0.1:8787',
      '--rpc',
      'http://127.0.0.1:8545',
    ]);
    assert.deepEqual(desktopArgs({ dataDir: '/d', hidden: true, bundleDir: '/b', rpc: null }).slice(-1), ['--hidden']);
    assert.equal(desktopEnv({ ELECTRON_RUN_AS_NODE: '1', PATH: '/bin' }).ELECTRON_RUN_AS_NODE, undefined);
    assert.equal(dashboardLine('dashboard: http://127.0.0.1:4000/#token=abc'), 'Dashboard:    http://127.0.0.1:4000/#token=abc  (open it in your browser)');
    assert.equal(dashboardLine('signed in to http://127.0.0.1:8787'), null);
  });
});

test('headless start: the network, the worker with its dashboard URL, then Ctrl-C stops everything', { timeout: 120_000 }, async (t) => {
  const data = tempDir('start');
  // Where this machine has Electron and a display, --headless keeps this test on the headless path.
  const natural = chooseStartMode({ electron: findElectronBinary(), platform: process.platform, env: process.env });
  const child = spawn(process.execPath, [BIN, 'start', '--data', data.path, ...(natural.mode === 'desktop' ? ['--headless'] : [])], {
    cwd: ROOT,
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  const err: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => err.push(l));
  const exit = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 0))));
  // Also after a failed assertion or a timeout: Ctrl-C first, for `start` stops the network and
  // the worker it started (a SIGKILL would leave them running); SIGKILL if it does not end.
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const ended = await Promise.race([exit.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000).unref())]);
      if (!ended) child.kill('SIGKILL');
    }
    child.stdout.destroy();
    child.stderr.destroy();
    data.remove();
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      out.push(l);
      const m = /^Dashboard: +(\S+) +\(open it in your browser\)$/.exec(l);
      if (m) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`start exited (${code}) before the dashboard; out:\n${out.join('\n')}\nerr:\n${err.join('\n')}`)));
  });
  if (natural.mode === 'headless') assert.equal(out[0], natural.why, 'the first line says why there is no desktop app');
  assert.ok(out.some((l) => /^Hub: +http:\/\/127\.0\.0\.1:\d+$/.test(l)));
  const page = await fetch(url.split('#')[0]!);
  assert.equal(page.status, 200, 'the dashboard answers');
  child.kill('SIGINT');
  assert.equal(await exit, 0, err.join('\n'));
  assert.equal(out.at(-1), 'Stopped.');
});
