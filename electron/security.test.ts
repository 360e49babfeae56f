/**
 * The security policy without Electron: every window's options from the one factory, the CSPs,
 * navigation and new-window denial, permissions, the IPC guard (sender frame checks and schema
 * parsing, with fake events), the engine's IPC handlers, and the app's scheme serving only its
 * own pages' files.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { BrowserWindow, BrowserWindowConstructorOptions, IpcMain } from 'electron';
import { z } from 'zod';
import { ENGINE_EVENT_CHANNEL, ENGINE_METHODS, EngineApiError, engineChannel, type EngineEvent } from '../protocol/index.js';
import { pageResponse, resolvePageFile } from './app-protocol.js';
import { forwardEngineEvents, registerEngineIpc } from './dashboard-ipc.js';
import { guardedHandler, guardedListener, originOf, senderProblem, type IpcSenderEvent } from './ipc-guard.js';
import { CSP, denyWindowOpen, guardNavigation, navigationAllowed, PAGE_KINDS, pageOrigin, pageUrl, permissionAllowed } from './security.js';
import { createHardenedWindow, windowOptions } from './windows.js';

const event = (id: number, url: string, subframe = false): IpcSenderEvent => ({ sender: { id }, senderFrame: { url, parent: subframe ? {} : null } });
const DASH = `${pageOrigin('dashboard')}/index.html`;
const rule = { webContentsId: () => 3, origin: pageOrigin('dashboard') };

describe('window factory', () => {
  test('every window: sandboxed, context-isolated, no Node, web security on, nothing experimental, its own preload', () => {
    for (const kind of PAGE_KINDS) {
      const o = windowOptions(kind, { bundleDir: '/app/dist/desktop', devTools: false });
      const p = o.webPreferences!;
      assert.equal(o.show, false, `${kind} is shown only once ready`);
      assert.equal(p.sandbox, true);
      assert.equal(p.contextIsolation, true);
      assert.equal(p.nodeIntegration, false);
      assert.equal(p.nodeIntegrationInWorker, false);
      assert.equal(p.nodeIntegrationInSubFrames, false);
      assert.equal(p.webSecurity, true);
      assert.equal(p.allowRunningInsecureContent, false);
      assert.equal(p.experimentalFeatures, false);
      assert.equal(p.webviewTag, false);
      assert.equal(p.enableBlinkFeatures, undefined);
      assert.equal(p.devTools, false);
      assert.equal(p.preload, join('/app/dist/desktop', 'preload', `${kind}.cjs`));
    }
    const compute = windowOptions('compute', { bundleDir: '/b', devTools: true });
    assert.equal(compute.webPreferences!.backgroundThrottling, false, 'the hidden compute page is never throttled');
    assert.equal(compute.skipTaskbar, true);
    assert.equal(compute.focusable, false);
    assert.equal(windowOptions('dashboard', { bundleDir: '/b', devTools: false }).webPreferences!.backgroundThrottling, true);
  });

  test('the factory denies new windows, webviews and navigation away from the page’s origin', () => {
    class FakeContents extends EventEmitter {
      openHandler: (() => unknown) | null = null;
      setWindowOpenHandler(h: () => unknown): void {
        this.openHandler = h;
      }
    }
    let made: BrowserWindowConstructorOptions | null = null;
    class FakeWindow {
      readonly webContents = new FakeContents();
      constructor(o: BrowserWindowConstructorOptions) {
        made = o;
      }
    }
    const denied: string[] = [];
    const win = createHardenedWindow(
      { BrowserWindow: FakeWindow as unknown as new (o: BrowserWindowConstructorOptions) => BrowserWindow, bundleDir: '/b', devTools: false, log: (l) => denied.push(l) },
      'dashboard',
    ) as unknown as FakeWindow;
    assert.equal(made!.webPreferences?.sandbox, true);
    assert.deepEqual(win.webContents.openHandler?.(), { action: 'deny' });
    const navigate = (name: string, url: string, asDetails = false): boolean => {
      let prevented = false;
      const e = { preventDefault: () => void (prevented = true), url };
      if (asDetails) win.webContents.emit(name, e);
      else win.webContents.emit(name, e, url);
      return prevented;
    };
    assert.equal(navigate('will-navigate', 'https://evil.example/'), true);
    assert.equal(navigate('will-navigate', 'file:///etc/passwd'), true);
    assert.equal(navigate('will-navigate', `${pageOrigin('compute')}/index.html`), true, 'not even to another page of the app');
    assert.equal(navigate('will-navigate', `${pageOrigin('dashboard')}/index.html#/earnings`), false);
    assert.equal(navigate('will-redirect', 'http://127.0.0.1:8787/'), true);
    assert.equal(navigate('will-frame-navigate', 'https://evil.example/', true), true);
    assert.equal(navigate('will-attach-webview', 'about:blank', true), true);
    assert.equal(denied.length, 5);
  });

  test('navigation rules, window.open, permissions', () => {
    assert.equal(navigationAllowed('compute', `${pageOrigin('compute')}/x`), true);
    assert.equal(navigationAllowed('compute', 'idleforge://compute.evil/x'), false);
    let prevented = false;
    guardNavigation('passphrase')({ preventDefault: () => void (prevented = true) }, 'javascript:alert(1)');
    assert.equal(prevented, true);
    assert.deepEqual(denyWindowOpen(), { action: 'deny' });
    assert.equal(permissionAllowed('clipboard-sanitized-write', DASH), true);
    assert.equal(permissionAllowed('clipboard-sanitized-write', `${pageOrigin('compute')}/index.html`), false);
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'hid', 'usb']) assert.equal(permissionAllowed(p, DASH), false, p);
  });
});

describe('Content-Security-Policy', () => {
  test('no inline script or style, no eval, nothing from anywhere but the page itself', () => {
    for (const kind of PAGE_KINDS) {
      const csp = CSP[kind];
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...v]) => [name!, v]));
      assert.deepEqual(directives.get('default-src'), ["'none'"], kind);
      assert.deepEqual(directives.get('script-src'), ["'self'"], kind);
      assert.deepEqual(directives.get('object-src'), ["'none'"], kind);
      assert.deepEqual(directives.get('base-uri'), ["'none'"], kind);
      assert.deepEqual(directives.get('frame-ancestors'), ["'none'"], kind);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:|ws:/, kind);
    }
    assert.equal(CSP.compute.includes('style-src'), false, 'the compute page has nothing to style');
  });
});

describe('IPC guard', () => {
  test('only the expected window’s main frame at its origin', () => {
    assert.equal(senderProblem(event(3, DASH), rule), null);
    assert.match(senderProblem(event(4, DASH), rule)!, /another window/);
    assert.match(senderProblem(event(3, DASH, true), rule)!, /subframe/);
    assert.match(senderProblem(event(3, 'https://evil.example/'), rule)!, /https:\/\/evil.example/);
    assert.match(senderProblem(event(3, 'idleforge://compute/index.html'), rule)!, /not idleforge:\/\/dashboard/);
    assert.match(senderProblem({ sender: { id: 3 }, senderFrame: null }, rule)!, /gone/);
    assert.match(senderProblem(event(3, DASH), { ...rule, webContentsId: () => null })!, /another window/, 'no dashboard open: nobody may call');
    assert.equal(originOf('idleforge://dashboard/a/b?c#d'), 'idleforge://dashboard');
    assert.equal(originOf('not a url'), null);
  });

  test('handlers answer refused senders and bad input with plain errors, and never run for them', async () => {
    const ran: unknown[] = [];
    const refused: string[] = [];
    const handler = guardedHandler({
      rule,
      schema: z.object({ for: z.enum(['30m', '1h']) }).strict(),
      handle: (input) => {
        ran.push(input);
        if (input.for === '1h') throw new EngineApiError('BUSY', 'not now');
        return { ok: 1 };
      },
      onRefused: (why) => refused.push(why),
    });
    assert.deepEqual(await handler(event(9, DASH), { for: '30m' }), { ok: false, error: { code: 'FORBIDDEN', message: 'refused: sent from another window' } });
    assert.deepEqual(await handler(event(3, DASH), { for: '2h' }), { ok: false, error: { code: 'INVALID_PARAMS', message: expectMessage(z.enum(['30m', '1h']), '2h', 'for') } });
    assert.equal((await handler(event(3, DASH), { for: '30m', extra: true })).ok, false);
    assert.deepEqual(await handler(event(3, DASH), { for: '30m' }), { ok: true, result: { ok: 1 } });
    assert.deepEqual(await handler(event(3, DASH), { for: '1h' }), { ok: false, error: { code: 'BUSY', message: 'not now' } });
    assert.deepEqual(ran, [{ for: '30m' }, { for: '1h' }]);
    assert.equal(refused.length, 1);
  });

  test('listeners drop what is refused or malformed', () => {
    const got: unknown[] = [];
    const refused: string[] = [];
    const l = guardedListener({ rule, schema: z.object({ id: z.number() }), handle: (m) => got.push(m), onRefused: (w) => refused.push(w) });
    l(event(3, 'https://x.example/'), { id: 1 });
    l(event(3, DASH), { id: 'one' });
    l(event(3, DASH), { id: 2 });
    assert.deepEqual(got, [{ id: 2 }]);
    assert.equal(refused.length, 2);
  });
});

function expectMessage(schema: z.ZodType, value: unknown, path: string): string {
  const r = schema.safeParse(value);
  assert.ok(!r.success);
  return `${path}: ${r.error.issues[0]!.message}`;
}

describe('engine IPC', () => {
  class FakeIpcMain {
    readonly handlers = new Map<string, (event: IpcSenderEvent, raw: unknown) => Promise<unknown>>();
    handle(channel: string, h: (event: IpcSenderEvent, raw: unknown) => Promise<unknown>): void {
      assert.ok(!this.handlers.has(channel), `${channel} registered twice`);
      this.handlers.set(channel, h);
    }
    removeHandler(channel: string): void {
      this.handlers.delete(channel);
    }
  }

  test('one guarded handler per API method; params parsed with ENGINE_API before the engine sees them', async () => {
    const ipc = new FakeIpcMain();
    const calls: [string, unknown][] = [];
    const after: string[] = [];
    const off = registerEngineIpc({
      ipc: ipc as unknown as Pick<IpcMain, 'handle' | 'removeHandler'>,
      rule,
      call: async (method, params) => {
        calls.push([method, params]);
        return { pause: { kind: 'none' } };
      },
      afterCall: (m) => after.push(m),
    });
    assert.deepEqual([...ipc.handlers.keys()].sort(), ENGINE_METHODS.map(engineChannel).sort());
    const snooze = ipc.handlers.get(engineChannel('snooze'))!;
    assert.deepEqual(await snooze(event(3, DASH), { for: '1h' }), { ok: true, result: { pause: { kind: 'none' } } });
    assert.equal(((await snooze(event(3, DASH), { for: 'forever' })) as { ok: boolean }).ok, false);
    assert.equal(((await snooze(event(5, DASH), { for: '1h' })) as { error: { code: string } }).error.code, 'FORBIDDEN');
    const settings = ipc.handlers.get(engineChannel('updateSettings'))!;
    const bad = (await settings(event(3, DASH), { temperatureLimitC: 500 })) as { ok: false; error: { code: string; message: string } };
    assert.equal(bad.error.code, 'INVALID_SETTINGS');
    assert.match(bad.error.message, /^temperatureLimitC: /);
    const reveal = ipc.handlers.get(engineChannel('revealPhrase'))!;
    assert.equal(((await reveal(event(3, DASH), {})) as { ok: boolean }).ok, false, 'the reveal needs its explicit confirmation');
    assert.deepEqual(calls, [['snooze', { for: '1h' }]]);
    assert.deepEqual(after, ['snooze']);
    off();
    assert.equal(ipc.handlers.size, 0);
  });

  test('events go to the dashboard while it exists', () => {
    let emit: ((e: EngineEvent) => void) | null = null;
    const sent: [string, unknown][] = [];
    let alive = true;
    const off = forwardEngineEvents(
      (send) => {
        emit = send;
        return () => (emit = null);
      },
      () => ({ isDestroyed: () => !alive, send: (c, d) => void sent.push([c, d]) }),
    );
    emit!({ type: 'ledger' });
    alive = false;
    emit!({ type: 'ledger' });
    assert.deepEqual(sent, [[ENGINE_EVENT_CHANNEL, { type: 'ledger' }]]);
    off();
    assert.equal(emit, null);
  });
});

describe('the app’s scheme', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-pages-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'dashboard', 'assets'), { recursive: true });
  mkdirSync(join(dir, 'compute'), { recursive: true });
  writeFileSync(join(dir, 'dashboard', 'index.html'), '<!doctype html><title>d</title>');
  writeFileSync(join(dir, 'dashboard', 'assets', 'main-1.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'outside any page');

  test('serves a page’s own files with its CSP; nothing else', async () => {
    assert.equal(resolvePageFile(pageUrl('dashboard'), dir)?.path, join(dir, 'dashboard', 'index.html'));
    assert.equal(resolvePageFile('idleforge://dashboard/', dir)?.path, join(dir, 'dashboard', 'index.html'));
    assert.equal(resolvePageFile('idleforge://dashboard/assets/main-1.js', dir)?.contentType, 'text/javascript; charset=utf-8');
    for (const url of [
      'idleforge://dashboard/../secret.txt',
      'idleforge://dashboard/%2e%2e/secret.txt',
      'idleforge://dashboard/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      'idleforge://dashboard/..%5csecret.txt',
      'idleforge://other/index.html',
      'https://dashboard/index.html',
      'idleforge://dashboard/%E0%A4%A',
      'idleforge://dashboard/index.exe',
    ]) {
      assert.equal(resolvePageFile(url, dir), null, url);
    }
    const page = await pageResponse(pageUrl('dashboard'), dir);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-security-policy'), CSP.dashboard);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await page.text(), '<!doctype html><title>d</title>');
    assert.equal(page.headers.get('cache-control'), 'no-store', 'a page is read afresh');
    assert.equal(resolvePageFile('idleforge://dashboard/assets/start-AB12CD34.js', dir)?.immutable, true, 'a hashed build output');
    assert.equal(resolvePageFile('idleforge://dashboard/assets/start.js', dir)?.immutable, false);
    assert.equal(resolvePageFile('idleforge://dashboard/favicon.svg', dir)?.immutable, false);
    assert.equal((await pageResponse('idleforge://compute/index.html', dir)).status, 404, 'a missing file');
    assert.equal((await pageResponse('idleforge://dashboard/../secret.txt', dir)).status, 404);
  });
});
