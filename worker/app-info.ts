/** The app's version and default places, read once. */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageJson(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

export const APP_VERSION: string = (() => {
  const file = findPackageJson();
  if (!file) return '0.0.0';
  const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
})();

/** Where the worker keeps its files when no --data is given. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.IDLEFORGE_DATA) return env.IDLEFORGE_DATA;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Idleforge');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Idleforge');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'idleforge');
}
