/**
 * Is a fullscreen window in front? A game, a film or a presentation that fills the screen means
 * the user is using the machine, whether or not the game is on any list and whether or not they
 * touch the keyboard. One source per desktop:
 *
 * - X11: the active window's EWMH state (`_NET_WM_STATE_FULLSCREEN`), through `xprop`: kept
 *   running with `-spy`, so it prints changes as they happen (x11SpySource), or run per read;
 * - Windows: `SHQueryUserNotificationState` (a Direct3D fullscreen app, presentation mode or a
 *   fullscreen app in front), from a PowerShell helper that keeps running and prints a sample
 *   every 400 ms (its start, Add-Type's compile included, costs about a second of CPU);
 * - macOS: the frontmost app's layer-0 window covering a whole display, from
 *   `CGWindowListCopyWindowInfo` in a JXA helper (`osascript -l JavaScript`), likewise kept
 *   running.
 *
 * Each gives the app's name, or null: none in front, or it cannot be told here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execRun, lineHelper, onPath, type Run } from './exec.js';

/** The name of the app whose window is fullscreen in front, or null (also when it cannot be told). */
export type FullscreenSource = () => Promise<string | null>;

export interface FullscreenOptions {
  /** Runs a command once; injected by tests (recorded outputs). */
  run?: Run;
  /** Processes of this worker (besides process.pid): their windows never count. */
  ownPids?: () => readonly number[];
}

const cannotTell: FullscreenSource = async () => null;
const isOwn = (pid: number | null, o: FullscreenOptions): boolean => pid !== null && (pid === process.pid || (o.ownPids?.() ?? []).includes(pid));

// ---------------------------------------------------------------------------------------- X11

/** The window id in `xprop -root _NET_ACTIVE_WINDOW`'s output; null for none (0x0) or no WM. */
export function parseActiveWindow(out: string): string | null {
  const m = /_NET_ACTIVE_WINDOW\(WINDOW\): window id # (0x[0-9a-f]+)/i.exec(out);
  if (!m || /^0x0+$/i.test(m[1]!)) return null;
  return m[1]!;
}

export interface X11Window {
  fullscreen: boolean;
  /** The app's name: WM_CLASS's class, else the title. */
  name: string;
  pid: number | null;
}

const xString = (s: string): string => s.replace(/\\(.)/g, '$1');

/** Parses `xprop -id <win> _NET_WM_STATE WM_CLASS _NET_WM_NAME _NET_WM_PID`. */
export function parseX11Window(out: string): X11Window {
  const state = /^_NET_WM_STATE\(ATOM\) = (.*)$/m.exec(out)?.[1] ?? '';
  const cls = /^WM_CLASS\(\w+\) = "((?:[^"\\]|\\.)*)"(?:, "((?:[^"\\]|\\.)*)")?/m.exec(out);
  const title = /^_NET_WM_NAME\(\w+\) = "((?:[^"\\]|\\.)*)"/m.exec(out)?.[1];
  const pid = /^_NET_WM_PID\(CARDINAL\) = (\d+)/m.exec(out)?.[1];
  const klass = cls ? xString(cls[2] ?? cls[1]!) : '';
  const named = title ? xString(title) : '';
  // Proton's class (steam_app_1091500) says less than the game's title.
  const name = (klass && !/^steam_app_\d+$/.test(klass) ? klass : named || klass) || 'an unnamed window';
  return { fullscreen: state.split(/,\s*/).includes('_NET_WM_STATE_FULLSCREEN'), name, pid: pid ? Number(pid) : null };
}

/**
 * The X11 source: two `xprop` calls (a few ms). Without a display or `xprop` it cannot tell.
 * `display` defaults to $DISPLAY.
 */
export function x11FullscreenSource(o: FullscreenOptions & { display?: string } = {}): FullscreenSource {
  const display = o.display ?? process.env.DISPLAY;
  let run = o.run;
  if (!run) {
    const xprop = display ? onPath('xprop') : null;
    if (!xprop) return cannotTell;
    const exec = execRun(1500, { ...process.env, DISPLAY: display });
    run = (_cmd, args) => exec(xprop, args);
  }
  const r = run;
  return async () => {
    try {
      const win = parseActiveWindow(await r('xprop', ['-root', '_NET_ACTIVE_WINDOW']));
      if (!win) return null;
      const w = parseX11Window(await r('xprop', ['-id', win, '_NET_WM_STATE', 'WM_CLASS', '_NET_WM_NAME', '_NET_WM_PID']));
      return w.fullscreen && !isOwn(w.pid, o) ? w.name : null;
    } catch {
      return null;
    }
  };
}

/**
 * The X11 source without polling: `xprop -root -spy _NET_ACTIVE_WINDOW` prints a line whenever
 * the active window changes, and `xprop -id <win> -spy …` whenever that window's state, class,
 * title or pid do, so a read costs nothing (the polling source spawned `xprop` twice per read:
 * about 2.5% of a core at two reads a second). While the helpers are not running (they ended, or
 * have not printed yet) it reads through `fallback`, the polling source. The helpers never hold
 * the event loop, are killed when this process exits, and are restarted at most every 10 s.
 */
export function x11SpySource(o: FullscreenOptions & { display?: string } = {}): FullscreenSource {
  const display = o.display ?? process.env.DISPLAY;
  const xprop = display ? onPath('xprop') : null;
  if (!display || !xprop) return cannotTell;
  const fallback = x11FullscreenSource({ ...o, display });
  const env = { ...process.env, DISPLAY: display };
  let root: ChildProcess | null = null;
  let rootStartedAt = 0;
  let active: string | null | undefined;
  let win: ChildProcess | null = null;
  /** The active window's properties, by name, as xprop last printed them. */
  let props = new Map<string, string>();
  let known = false;

  const spy = (args: string[], onLine: (line: string) => void, onEnd: () => void): ChildProcess | null => {
    let c: ChildProcess;
    try {
      c = spawn(xprop, args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return null;
    }
    const kill = (): void => void c.kill();
    process.once('exit', kill);
    let rest = '';
    c.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line);
    });
    c.on('error', () => undefined);
    c.on('exit', () => {
      process.removeListener('exit', kill);
      onEnd();
    });
    c.unref();
    (c.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    return c;
  };
  const watchWindow = (id: string | null): void => {
    win?.kill();
    win = null;
    props = new Map();
    if (id === null) return;
    const me = spy(['-id', id, '-spy', '_NET_WM_STATE', 'WM_CLASS', '_NET_WM_NAME', '_NET_WM_PID'], (line) => {
      const name = /^([A-Z_]+)\(/.exec(line)?.[1] ?? /^([A-Z_]+):/.exec(line)?.[1];
      if (name) props.set(name, line);
    }, () => {
      if (win === me) win = null;
    });
    win = me;
  };
  const start = (): void => {
    if (root || Date.now() - rootStartedAt < 10_000) return;
    rootStartedAt = Date.now();
    const me = spy(['-root', '-spy', '_NET_ACTIVE_WINDOW'], (line) => {
      const id = parseActiveWindow(line);
      known = true;
      if (id !== active) {
        active = id;
        watchWindow(id);
      }
    }, () => {
      if (root === me) root = null;
      known = false;
      active = undefined;
      watchWindow(null);
    });
    root = me;
  };
  return async () => {
    start();
    if (!known || !root) return fallback();
    if (active === null) return null;
    // The window's helper has not printed its properties yet: ask once.
    if (!win || !props.has('_NET_WM_STATE') && !props.has('WM_CLASS')) return fallback();
    const w = parseX11Window([...props.values()].join('\n'));
    return w.fullscreen && !isOwn(w.pid, o) ? w.name : null;
  };
}

// ------------------------------------------------------------------------------------ Windows

/** Prints "<QUERY_USER_NOTIFICATION_STATE> <foreground pid> <its process name>". */
const WIN_SAMPLE =
  "Add-Type -Namespace Idleforge -Name Fs -MemberDefinition '" +
  '[DllImport("shell32.dll")] public static extern int SHQueryUserNotificationState(out int state); ' +
  '[DllImport("user32.dll")] public static extern System.IntPtr GetForegroundWindow(); ' +
  '[DllImport("user32.dll")] public static extern uint GetWindowThreadProcessId(System.IntPtr hWnd, out uint pid);' +
  "'; function Sample { $s = 0; [void][Idleforge.Fs]::SHQueryUserNotificationState([ref]$s); $p = [uint32]0; " +
  '[void][Idleforge.Fs]::GetWindowThreadProcessId([Idleforge.Fs]::GetForegroundWindow(), [ref]$p); $n = ""; ' +
  'try { $n = (Get-Process -Id $p -ErrorAction Stop).ProcessName } catch {}; [Console]::WriteLine("$s $p $n"); [Console]::Out.Flush() }';
export const WINDOWS_ONCE = `${WIN_SAMPLE}; Sample`;
export const WINDOWS_LOOP = `${WIN_SAMPLE}; while ($true) { Sample; Start-Sleep -Milliseconds 400 }`;
const POWERSHELL_ARGS = ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command'];

/** QUNS_BUSY (2), QUNS_RUNNING_D3D_FULL_SCREEN (3), QUNS_PRESENTATION_MODE (4). */
const FULLSCREEN_STATES = new Set([2, 3, 4]);

/** Parses the last sample line: the foreground app's name when a fullscreen state is on. */
export function parseWindowsSample(out: string, ownPids: readonly number[] = []): string | null {
  const line = out.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).at(-1);
  const m = line ? /^(\d+)\s+(\d+)\s*(.*)$/.exec(line) : null;
  if (!m || !FULLSCREEN_STATES.has(Number(m[1]))) return null;
  const pid = Number(m[2]);
  if (pid === process.pid || ownPids.includes(pid)) return null;
  return m[3]!.trim() || 'a fullscreen app';
}

export function windowsFullscreenSource(o: FullscreenOptions = {}): FullscreenSource {
  const own = (): readonly number[] => o.ownPids?.() ?? [];
  if (o.run) {
    const run = o.run;
    return async () => {
      try {
        return parseWindowsSample(await run('powershell.exe', [...POWERSHELL_ARGS, WINDOWS_ONCE]), own());
      } catch {
        return null;
      }
    };
  }
  const helper = lineHelper('powershell.exe', [...POWERSHELL_ARGS, WINDOWS_LOOP]);
  return async () => {
    const line = helper.latest();
    return line === null ? null : parseWindowsSample(line, own());
  };
}

// -------------------------------------------------------------------------------------- macOS

/** JXA: the frontmost app, the screens (Cocoa frames) and the on-screen layer-0 windows. */
const MAC_SAMPLE =
  "ObjC.import('CoreGraphics'); ObjC.import('AppKit'); function sample() {" +
  ' var f = $.NSWorkspace.sharedWorkspace.frontmostApplication;' +
  ' var screens = ObjC.unwrap($.NSScreen.screens).map(function (s) { var r = s.frame; return [r.origin.x, r.origin.y, r.size.width, r.size.height]; });' +
  ' var w = ObjC.deepUnwrap(ObjC.castRefToObject($.CGWindowListCopyWindowInfo(1 | 16, 0))) || [];' +
  ' return JSON.stringify({ front: f.isNil() ? null : { pid: f.processIdentifier, name: ObjC.unwrap(f.localizedName) }, screens: screens,' +
  ' windows: w.filter(function (x) { return x.kCGWindowLayer === 0; }).map(function (x) { var b = x.kCGWindowBounds;' +
  ' return [x.kCGWindowOwnerPID, x.kCGWindowOwnerName, b.X, b.Y, b.Width, b.Height]; }) }); }';
export const MAC_ONCE = `${MAC_SAMPLE} sample();`;
export const MAC_LOOP = `${MAC_SAMPLE} while (true) { console.log(sample()); delay(0.5); }`;

interface MacSample {
  front: { pid: number; name: string } | null;
  screens: [number, number, number, number][];
  windows: [number, string, number, number, number, number][];
}

const isNums = (a: unknown, n: number): boolean => Array.isArray(a) && a.length === n && a.every((x) => typeof x === 'number' && Number.isFinite(x));

function macSample(v: unknown): MacSample | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const f = o.front as Record<string, unknown> | null | undefined;
  const front = f && typeof f.pid === 'number' && typeof f.name === 'string' ? { pid: f.pid, name: f.name } : null;
  if (!Array.isArray(o.screens) || !Array.isArray(o.windows)) return null;
  const screens = o.screens.filter((s): s is MacSample['screens'][number] => isNums(s, 4));
  const windows = o.windows.filter(
    (w): w is MacSample['windows'][number] => Array.isArray(w) && w.length === 6 && typeof w[0] === 'number' && typeof w[1] === 'string' && isNums(w.slice(2), 4),
  );
  return { front, screens, windows };
}

/**
 * Parses the JXA sample (its last JSON line): the frontmost app, when one of its layer-0 windows
 * covers a whole display. Cocoa's screen frames have their origin at the main screen's bottom
 * left, CoreGraphics' window bounds at its top left.
 */
export function parseMacSample(out: string, ownPids: readonly number[] = []): string | null {
  const line = out.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('{')).at(-1);
  if (!line) return null;
  let s: MacSample | null;
  try {
    s = macSample(JSON.parse(line));
  } catch {
    return null;
  }
  if (!s?.front || s.screens.length === 0) return null;
  const front = s.front;
  if (front.pid === process.pid || ownPids.includes(front.pid)) return null;
  const mainHeight = s.screens[0]![3];
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= 1;
  const covers = s.windows.some(
    ([pid, , x, y, w, h]) =>
      pid === front.pid && s.screens.some(([sx, sy, sw, sh]) => near(x, sx) && near(y, mainHeight - (sy + sh)) && near(w, sw) && near(h, sh)),
  );
  return covers ? front.name : null;
}

export function macFullscreenSource(o: FullscreenOptions = {}): FullscreenSource {
  const own = (): readonly number[] => o.ownPids?.() ?? [];
  if (o.run) {
    const run = o.run;
    return async () => {
      try {
        return parseMacSample(await run('osascript', ['-l', 'JavaScript', '-e', MAC_ONCE]), own());
      } catch {
        return null;
      }
    };
  }
  const helper = lineHelper('osascript', ['-l', 'JavaScript', '-e', MAC_LOOP]);
  return async () => {
    const line = helper.latest();
    return line === null ? null : parseMacSample(line, own());
  };
}

/** The source for this OS (X11 on Linux and the BSDs; Wayland-only apps are not seen). */
export function nodeFullscreenSource(o: { ownPids?: () => readonly number[] } = {}): FullscreenSource {
  if (process.platform === 'win32') return windowsFullscreenSource(o);
  if (process.platform === 'darwin') return macFullscreenSource(o);
  return x11SpySource(o);
}
