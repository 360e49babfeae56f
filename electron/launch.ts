/**
 * How the desktop app was started and what it asks of the OS at start: its command line
 * (`--hub`, `--rpc`, `--data`, `--hidden`; parsed with the settings schema like the CLI's flags),
 * the login item (launch at login, started hidden, from the `launchAtLogin` setting), and the
 * Chromium switches WebGPU needs.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeSettingsError, SettingsPatchSchema, type Settings, type SettingsPatch } from '../protocol/index.js';

export const HIDDEN_FLAG = '--hidden';

export interface LaunchOptions {
  dataDir: string | null;
  overrides: SettingsPatch;
  /** Start in the tray without opening the dashboard (launched at login). */
  hidden: boolean;
}

export class LaunchArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaunchArgsError';
  }
}

/**
 * The app's own arguments (after Electron's and the script's). Chromium switches (`--foo=bar`
 * that are not ours) are left alone.
 */
export function parseLaunchArgs(args: readonly string[]): LaunchOptions {
  const { values } = parseArgs({
    args: [...args],
    options: { hub: { type: 'string' }, rpc: { type: 'string' }, data: { type: 'string' }, hidden: { type: 'boolean' } },
    strict: false,
    allowPositionals: true,
  });
  const patch: Record<string, unknown> = {};
  if (values.hub !== undefined) patch.hubUrl = values.hub;
  if (values.rpc !== undefined) patch.rpcUrl = values.rpc;
  const parsed = SettingsPatchSchema.safeParse(patch);
  if (!parsed.success) throw new LaunchArgsError(describeSettingsError(parsed.error).replace(/^hubUrl:/, '--hub:').replace(/^rpcUrl:/, '--rpc:'));
  if (values.data !== undefined && (typeof values.data !== 'string' || values.data.trim() === '')) throw new LaunchArgsError('--data takes a folder');
  return { dataDir: typeof values.data === 'string' ? values.data : null, overrides: parsed.data, hidden: values.hidden === true };
}

/** app.setLoginItemSettings's argument for the current settings: at login, start in the tray. */
export function loginItemSettings(settings: Pick<Settings, 'launchAtLogin'>): { openAtLogin: boolean; openAsHidden: boolean; args: string[] } {
  return { openAtLogin: settings.launchAtLogin, openAsHidden: true, args: [HIDDEN_FLAG] };
}

/**
 * Linux has no login-item API: an XDG autostart entry does it. Its file, and its content (null:
 * the file must not exist). `executable` is the AppImage (APPIMAGE) or the installed binary.
 */
export function linuxAutostart(settings: Pick<Settings, 'launchAtLogin'>, executable: string, env: NodeJS.ProcessEnv, home: string): { file: string; content: string | null } {
  const file = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'autostart', 'idleforge.desktop');
  if (!settings.launchAtLogin) return { file, content: null };
  const quoted = `"${executable.replace(/(["`$\\])/g, '\\$1')}"`;
  return {
    file,
    content: ['[Desktop Entry]', 'Type=Application', 'Name=Idleforge', 'Comment=Rent out your idle GPU', `Exec=${quoted} ${HIDDEN_FLAG}`, 'X-GNOME-Autostart-enabled=true', ''].join('\n'),
  };
}

/** Whether to start without opening the dashboard. */
export function startsHidden(launch: Pick<LaunchOptions, 'hidden'>, openedAtLogin: boolean): boolean {
  return launch.hidden || openedAtLogin;
}

/**
 * Chromium switches: WebGPU is on by default on Windows and macOS; on Linux it still needs
 * `enable-unsafe-webgpu` and Vulkan. IDLEFORGE_WEBGPU=swiftshader selects the CPU Vulkan driver
 * (machines without a GPU, the tests).
 */
export function chromiumSwitches(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): [string, string?][] {
  const switches: [string, string?][] = [];
  if (platform === 'linux') switches.push(['enable-unsafe-webgpu'], ['enable-features', 'Vulkan']);
  if (env.IDLEFORGE_WEBGPU === 'swiftshader') {
    if (platform !== 'linux') switches.push(['enable-unsafe-webgpu']);
    switches.push(['use-vulkan', 'swiftshader'], ['use-webgpu-adapter', 'swiftshader']);
  }
  return switches;
}
