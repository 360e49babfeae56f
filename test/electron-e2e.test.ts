/**
 * The desktop app end to end in Electron (Playwright's Electron support), against a local network:
 * the tray menu's actions, the dashboard opening and hiding to the tray, a task run in the hidden
 * compute renderer and credited, Quit. The app runs from its bundle with IDLEFORGE_E2E=1, which
 * exposes the tray's menu to the test (electron/test-hooks.ts), and on SwiftShader's WebGPU.
 *
 * Needs the Electron binary (node_modules/electron/dist) and, on Linux, a display (xvfb-run works);
 * without them it is skipped and says so. The shell's logic is unit-tested in electron/*.test.ts
 * either way.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { bundleDesktop } from '../build/desktop-bundle.js';
import { desktopArgs, desktopEnv, findElectronBinary, prepareElectronNative } from '../cli/desktop.js';
import type { EngineStatusView } from '../protocol/index.js';
import { runCli, startCli, tempDir, type CliRun } from './helpers.js';

const binary = findElectronBinary();
const display = process.platform !== 'linux' || !!(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const skip = !binary
  ? 'no Electron binary (node_modules/electron/dist is empty: installed without it); the shell’s logic is tested in electron/*.test.ts'
  : !display
    ? 'no display (neither DISPLAY nor WAYLAND_DISPLAY is set): run the tests under xvfb-run'
    : false;

type Hook = 'menu' | 'click' | 'tray' | 'dashboard' | 'openDashboard' | 'closeDashboard' | 'compute' | 'call';

describe('desktop app in Electron', { skip, timeout: 240_000 }, () => {
  const dir = tempDir('electron-e2e');
  let devnet: CliRun;
  let app: ElectronApplication;
  const logs: string[] = [];

  /** Calls a test hook in the main process. (One inline arrow: Playwright sends its source.) */
  const hook = <T>(name: Hook, ...args: unknown[]): Promise<T> =>
    app.evaluate((_electron, [n, a]) => (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => unknown>>).__idleforgeE2E![n as string]!(...(a as unknown[])), [name, args] as const) as Promise<T>;

  async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}\n${logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const status = (): Promise<EngineStatusView> => hook<EngineStatusView>('call', 'getStatus', {});

  before(async () => {
    devnet = startCli(['devnet', '--json', '--port', '0', '--data', join(dir.path, 'devnet')]);
    const ready = await devnet.waitFor((e): e is Extract<typeof e, { event: 'ready' }> => e.event === 'ready');
    const wallet = await runCli(['wallet', 'create', '--data', join(dir.path, 'worker')]);
    assert.equal(wallet.code, 0, wallet.stderr);
    const bundleDir = join(dir.path, 'desktop');
    await bundleDesktop({ outdir: bundleDir });
    await prepareElectronNative(bundleDir);
    app = await electron.launch({
      executablePath: binary as string,
      // Hidden, as at login: the dashboard opens from the tray, in a test below.
      args: desktopArgs({ hub: ready.hub, rpc: ready.rpc, dataDir: join(dir.path, 'worker'), bundleDir, hidden: true }),
      env: { ...desktopEnv(process.env), IDLEFORGE_E2E: '1', IDLEFORGE_WEBGPU: 'swiftshader' } as Record<string, string>,
    });
    app.process().stdout?.on('data', (d: Buffer) => logs.push(...d.toString().trim().split('\n')));
    app.process().stderr?.on('data', (d: Buffer) => logs.push(...d.toString().trim().split('\n')));
    await until('the app to start', () => app.evaluate(() => '__idleforgeE2E' in globalThis), Boolean);
    // Work may start at once: no wait for idle time.
    await hook('call', 'updateSettings', { idleMinutes: 0 });
  });

  after(async () => {
    if (app) await app.close().catch(() => {});
    devnet?.child.kill('SIGINT');
    await devnet?.exit;
    dir.remove();
  });

  test('a task runs in the hidden compute renderer and is credited', async () => {
    const s = await until('a credited task', status, (v) => v.credited >= 1, 180_000);
    assert.ok(s.credited >= 1);
    const compute = await hook<{ created: number }>('compute');
    assert.ok(compute.created >= 1, 'the task ran in a compute renderer');
    assert.ok(logs.some((l) => /✔ (matmul|hashsearch) task done/.test(l)), logs.join('\n'));
  });

  test('the tray menu: status lines, Pause, Snooze, Resume', async () => {
    const ids = (await hook<{ id: string | null }[]>('menu')).map((m) => m.id);
    for (const id of ['status', 'detail', 'pause', 'snooze-30m', 'snooze-1h', 'snooze-tomorrow', 'open-dashboard', 'quit']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    assert.equal(await hook('click', 'pause'), true);
    await until('paused', () => hook<{ pause: string; state: string }>('tray'), (t) => t.pause === 'paused' && t.state === 'paused');
    assert.ok((await hook<{ id: string | null }[]>('menu')).some((m) => m.id === 'resume'));
    assert.equal(await hook('click', 'snooze-1h'), true);
    await until('snoozed', () => hook<{ pause: string; tooltip: string }>('tray'), (t) => t.pause === 'snoozed' && /Snoozed until/.test(t.tooltip));
    assert.equal(await hook('click', 'resume'), true);
    await until('resumed', () => hook<{ pause: string }>('tray'), (t) => t.pause === 'none');
  });

  test('the dashboard opens from the tray, talks to the engine over its bridge, and hides to the tray', async () => {
    assert.deepEqual(await hook('dashboard'), { exists: false, visible: false }, 'started hidden in the tray');
    const opened = app.waitForEvent('window', { predicate: (p: Page) => p.url().startsWith('idleforge://dashboard') });
    assert.equal(await hook('click', 'open-dashboard'), true);
    const page = await opened;
    await until('the dashboard to show', () => hook<{ visible: boolean }>('dashboard'), (d) => d.visible);
    const bridge = await page.evaluate(async () => {
      const engine = (globalThis as unknown as { idleforgeEngine?: Record<string, unknown> & { getStatus(p: object): Promise<{ address: string | null }> } }).idleforgeEngine;
      return {
        methods: engine ? Object.keys(engine).sort() : [],
        address: engine ? (await engine.getStatus({})).address : null,
        node: typeof (globalThis as { process?: unknown }).process,
        ipc: 'ipcRenderer' in globalThis,
      };
    });
    assert.ok(bridge.methods.includes('getStatus') && bridge.methods.includes('onEvent'));
    assert.match(bridge.address ?? '', /^0x[0-9a-fA-F]{40}$/);
    assert.equal(bridge.node, 'undefined', 'no Node in the dashboard');
    assert.equal(bridge.ipc, false);
    await hook('closeDashboard');
    await until('hidden', () => hook<{ visible: boolean; exists: boolean }>('dashboard'), (d) => !d.visible);
    assert.equal((await status()).state !== undefined, true, 'still running in the tray');
    await hook('openDashboard');
    await until('shown again', () => hook<{ visible: boolean }>('dashboard'), (d) => d.visible);
  });

  test('Quit in the tray ends the app', async () => {
    const closed = new Promise<void>((resolve) => app.process().once('exit', () => resolve()));
    await hook('click', 'quit');
    await closed;
    assert.ok(logs.some((l) => /quitting: finishing up/.test(l)));
  });
});
