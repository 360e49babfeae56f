import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineHelper } from './exec.js';
import {
  MAC_ONCE,
  macFullscreenSource,
  parseActiveWindow,
  parseMacSample,
  parseWindowsSample,
  parseX11Window,
  WINDOWS_ONCE,
  windowsFullscreenSource,
  x11FullscreenSource,
} from './fullscreen.js';

// xprop's outputs as recorded under Xvfb + openbox (xmessage), and a Proton game's.
const ROOT = '_NET_ACTIVE_WINDOW(WINDOW): window id # 0x400030\n';
const XMESSAGE_FULL = '_NET_WM_STATE(ATOM) = _NET_WM_STATE_FULLSCREEN\nWM_CLASS(STRING) = "xmessage", "Xmessage"\n_NET_WM_NAME:  not found.\n_NET_WM_PID:  not found.\n';
const XMESSAGE_NORMAL = '_NET_WM_STATE(ATOM) = \nWM_CLASS(STRING) = "xmessage", "Xmessage"\n_NET_WM_NAME:  not found.\n_NET_WM_PID:  not found.\n';
const PROTON =
  '_NET_WM_STATE(ATOM) = _NET_WM_STATE_FOCUSED, _NET_WM_STATE_FULLSCREEN\nWM_CLASS(STRING) = "steam_app_1091500", "steam_app_1091500"\n' +
  '_NET_WM_NAME(UTF8_STRING) = "Cyberpunk 2077 (C) 2020 by CD Projekt RED"\n_NET_WM_PID(CARDINAL) = 48213\n';

describe('fullscreen on X11 (recorded xprop outputs)', () => {
  it('reads the active window and its EWMH state', () => {
    assert.equal(parseActiveWindow(ROOT), '0x400030');
    assert.equal(parseActiveWindow('_NET_ACTIVE_WINDOW(WINDOW): window id # 0x0\n'), null, 'no window active');
    assert.equal(parseActiveWindow('_NET_ACTIVE_WINDOW:  no such atom on any window.\n'), null, 'no window manager');
    assert.deepEqual(parseX11Window(XMESSAGE_FULL), { fullscreen: true, name: 'Xmessage', pid: null });
    assert.equal(parseX11Window(XMESSAGE_NORMAL).fullscreen, false);
    assert.deepEqual(parseX11Window(PROTON), { fullscreen: true, name: 'Cyberpunk 2077 (C) 2020 by CD Projekt RED', pid: 48213 });
    assert.equal(parseX11Window('_NET_WM_STATE(ATOM) = _NET_WM_STATE_MAXIMIZED_VERT, _NET_WM_STATE_MAXIMIZED_HORZ\n').fullscreen, false, 'maximized is not fullscreen');
  });

  it('asks xprop twice and names the app; its own windows and failures say null', async () => {
    const calls: string[][] = [];
    let window = PROTON;
    const source = x11FullscreenSource({
      ownPids: () => [777],
      run: async (cmd, args) => {
        calls.push([cmd, ...args]);
        return args[0] === '-root' ? ROOT : window;
      },
    });
    assert.equal(await source(), 'Cyberpunk 2077 (C) 2020 by CD Projekt RED');
    assert.deepEqual(calls, [
      ['xprop', '-root', '_NET_ACTIVE_WINDOW'],
      ['xprop', '-id', '0x400030', '_NET_WM_STATE', 'WM_CLASS', '_NET_WM_NAME', '_NET_WM_PID'],
    ]);
    window = XMESSAGE_NORMAL;
    assert.equal(await source(), null);
    window = PROTON.replace('48213', '777');
    assert.equal(await source(), null, 'the worker’s own window');
    const gone = x11FullscreenSource({ run: async (_c, args) => (args[0] === '-root' ? ROOT : Promise.reject(new Error('BadWindow'))) });
    assert.equal(await gone(), null, 'the window closed between the two calls');
    assert.equal(await x11FullscreenSource({ display: '' })(), null, 'no display: cannot tell');
  });
});

// Not run on the real OS: outputs of the PowerShell sampler (state, foreground pid, its name).
describe('fullscreen on Windows (recorded outputs; not run on the real OS)', () => {
  it('treats QUNS_BUSY, QUNS_RUNNING_D3D_FULL_SCREEN and QUNS_PRESENTATION_MODE as fullscreen', () => {
    assert.equal(parseWindowsSample('3 10244 Cyberpunk2077\r\n'), 'Cyberpunk2077');
    assert.equal(parseWindowsSample('2 5120 vlc\r\n'), 'vlc');
    assert.equal(parseWindowsSample('4 7000 POWERPNT\r\n'), 'POWERPNT');
    assert.equal(parseWindowsSample('5 4096 explorer\r\n'), null, 'QUNS_ACCEPTS_NOTIFICATIONS');
    assert.equal(parseWindowsSample('1 0 \r\n'), null, 'QUNS_NOT_PRESENT (locked, or the screen saver)');
    assert.equal(parseWindowsSample('3 10244 \r\n'), 'a fullscreen app', 'the name could not be read');
    assert.equal(parseWindowsSample(`3 ${process.pid} electron\r\n`), null, 'the worker’s own window');
    assert.equal(parseWindowsSample('Add-Type : Cannot add type.\r\n'), null);
  });

  it('runs the sampler once through `run` when one is given', async () => {
    let seen: readonly string[] = [];
    const source = windowsFullscreenSource({
      run: async (cmd, args) => {
        seen = [cmd, ...args];
        return '3 10244 Cyberpunk2077\r\n';
      },
    });
    assert.equal(await source(), 'Cyberpunk2077');
    assert.equal(seen[0], 'powershell.exe');
    assert.equal(seen.at(-1), WINDOWS_ONCE);
    assert.match(WINDOWS_ONCE, /SHQueryUserNotificationState/);
    assert.equal(await windowsFullscreenSource({ run: async () => Promise.reject(new Error('spawn ENOENT')) })(), null);
  });
});

// Not run on the real OS: JXA samples (frontmost app, Cocoa screen frames, layer-0 windows in
// CoreGraphics coordinates).
describe('fullscreen on macOS (recorded outputs; not run on the real OS)', () => {
  const screens = [
    [0, 0, 1512, 982],
    [1512, -100, 2560, 1440],
  ];
  const sample = (front: { pid: number; name: string } | null, windows: unknown[]): string => JSON.stringify({ front, screens, windows });

  it('is fullscreen when the frontmost app’s window covers a whole display', () => {
    const game = sample({ pid: 812, name: 'Baldur’s Gate 3' }, [
      [812, 'Baldur’s Gate 3', 0, 0, 1512, 982],
      [99, 'Finder', 0, 25, 800, 600],
    ]);
    assert.equal(parseMacSample(game), 'Baldur’s Gate 3');
    // The second screen sits 100 pt lower than the main one's top in Cocoa, so its CG y is 982 - (−100 + 1440) = −358.
    assert.equal(parseMacSample(sample({ pid: 900, name: 'IINA' }, [[900, 'IINA', 1512, -358, 2560, 1440]])), 'IINA');
    assert.equal(parseMacSample(sample({ pid: 901, name: 'Safari' }, [[901, 'Safari', 0, 33, 1512, 949]])), null, 'maximized under the menu bar');
    assert.equal(parseMacSample(sample({ pid: 902, name: 'Notes' }, [[812, 'Baldur’s Gate 3', 0, 0, 1512, 982]])), null, 'a fullscreen app behind the front one');
    assert.equal(parseMacSample(sample({ pid: process.pid, name: 'Idleforge' }, [[process.pid, 'Idleforge', 0, 0, 1512, 982]])), null, 'the worker’s own window');
    assert.equal(parseMacSample('execution error: Error: ReferenceError (-2700)'), null);
    assert.equal(parseMacSample('{"front": 3}'), null);
  });

  it('runs the JXA sampler once through `run` when one is given', async () => {
    let seen: readonly string[] = [];
    const source = macFullscreenSource({
      run: async (cmd, args) => {
        seen = [cmd, ...args];
        return `${sample({ pid: 812, name: 'Baldur’s Gate 3' }, [[812, 'Baldur’s Gate 3', 0, 0, 1512, 982]])}\n`;
      },
    });
    assert.equal(await source(), 'Baldur’s Gate 3');
    assert.deepEqual(seen, ['osascript', '-l', 'JavaScript', '-e', MAC_ONCE]);
  });
});

describe('a sampler kept running (the Windows and macOS helpers)', () => {
  it('gives its latest line, and null once it stops printing', async () => {
    const helper = lineHelper('sh', ['-c', 'i=0; while [ $i -lt 5 ]; do echo "3 42 Game$i"; i=$((i+1)); sleep 0.05; done'], { staleMs: 400 });
    try {
      assert.equal(helper.latest(), null, 'nothing yet');
      await new Promise((r) => setTimeout(r, 150));
      assert.match(helper.latest() ?? '', /^3 42 Game\d$/);
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(helper.latest(), null, 'stale once the helper ended');
    } finally {
      helper.close();
    }
  });
});
