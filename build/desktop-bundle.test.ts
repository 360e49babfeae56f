/**
 * The desktop bundle as npm start launches it and electron-builder packages it: main loads only
 * Node built-ins and the native externals (never Dawn), each preload is a few hundred bytes that
 * require only `electron`, every page carries its CSP, and the app's scheme serves them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pageResponse } from '../electron/app-protocol.js';
import { CSP, metaCsp, PAGE_KINDS, PRELOAD_FILE, pageUrl } from '../electron/security.js';
import { bundleDesktop, MAIN_EXTERNALS, type DesktopBundle } from './desktop-bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'idleforge-desktop-bundle-'));
let bundle: DesktopBundle;
before(async () => {
  bundle = await bundleDesktop({ outdir: dir, dashboard: false });
});
after(() => rmSync(dir, { recursive: true, force: true }));
const read = (file: string): string => readFileSync(join(dir, file), 'utf8');

test('main.mjs: valid, loads only Node built-ins and the native externals, never Dawn', () => {
  execFileSync(process.execPath, ['--check', join(dir, 'main.mjs')]);
  // node:sqlite is built into Electron 45's Node (22), not into Node 20's: undici asks for it
  // only when probing for its optional SQLite cache, inside a try.
  const builtins = new Set([...builtinModules, 'sqlite']);
  const unexpected = bundle.mainImports.filter((m) => !MAIN_EXTERNALS.includes(m) && !builtins.has(m.replace(/^node:/, '')));
  assert.deepEqual(unexpected, []);
  assert.ok(bundle.mainImports.includes('electron'));
  assert.ok(bundle.mainImports.includes('better-sqlite3'));
  assert.ok(!bundle.mainImports.includes('webgpu'), 'Dawn stays out of the desktop app');
  assert.match(read('main.mjs'), /Dawn is not part of it/);
});

test('preloads: tiny, and they require electron and nothing else', () => {
  for (const kind of PAGE_KINDS) {
    const text = read(PRELOAD_FILE[kind]);
    assert.ok(text.length < 4000, `${kind} preload is ${text.length} bytes`);
    assert.deepEqual([...new Set([...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))], ['electron'], kind);
    assert.match(text, /exposeInMainWorld/, kind);
    assert.doesNotMatch(text, /exposeInMainWorld\([^)]*ipcRenderer\)/, `${kind} must not expose ipcRenderer itself`);
  }
  // The dashboard's gets every engine method by name.
  assert.match(read(PRELOAD_FILE.dashboard), /"idleforge:engine:getStatus"/);
});

test('pages carry their CSP in a meta tag, and the scheme sends it as a header', async () => {
  for (const kind of PAGE_KINDS) {
    const html = read(join('pages', kind, 'index.html'));
    assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${metaCsp(kind)}" />`), kind);
    assert.doesNotMatch(html, /<script>|\son[a-z]+=|\sstyle=/, `${kind}: no inline script, handler or style`);
    const res = await pageResponse(pageUrl(kind), join(dir, 'pages'));
    assert.equal(res.status, 200, kind);
    assert.equal(res.headers.get('content-security-policy'), CSP[kind]);
  }
  assert.equal(bundle.dashboard, 'not built');
  assert.match(read('pages/dashboard/index.html'), /The dashboard is not part of this build/);
  assert.match(read('pages/compute/compute.js'), /idleforgeComputeHost/);
  assert.ok(existsSync(join(dir, 'pages', 'passphrase', 'passphrase.js')));
  assert.ok(existsSync(join(dir, 'tray', 'workingTemplate@2x.png')));
  assert.ok(existsSync(join(dir, 'tray', 'error-32.png')));
  assert.ok(existsSync(join(dir, 'icon.png')));
});

test('the bundle holds the built dashboard', async () => {
  const withDash = mkdtempSync(join(tmpdir(), 'idleforge-desktop-dash-'));
  try {
    const b = await bundleDesktop({ outdir: withDash, dashboard: true });
    assert.equal(b.dashboard, 'built');
    const html = readFileSync(join(withDash, 'pages', 'dashboard', 'index.html'), 'utf8');
    assert.match(html, /Content-Security-Policy/);
    const script = /<script[^>]*src="([^"]+)"/.exec(html)?.[1];
    assert.ok(script, 'the dashboard loads its script from a file');
    assert.equal((await pageResponse(`idleforge://dashboard/${script.replace(/^\.\//, '')}`, join(withDash, 'pages'))).status, 200);
  } finally {
    rmSync(withDash, { recursive: true, force: true });
  }
});
