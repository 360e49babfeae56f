/**
 * Files that hold a secret (the worker's passphrase file, the hub's treasury key) must be open
 * to their owner alone: a key that other users of the machine can read is a key they can take.
 * One check, shared by the worker and the hub.
 */
import { statSync } from 'node:fs';

/**
 * Why `file` should not be trusted with a secret, in words that name the fix, or null when only
 * its owner may read or write it. Windows has no POSIX mode bits (Node reports 0o666 for every
 * file there; access is by ACL), so the check is skipped on it.
 */
export function privateFileProblem(file: string, platform: NodeJS.Platform = process.platform): string | null {
  if (platform === 'win32') return null;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  return `${file} is open to other users of this machine (mode ${mode.toString(8).padStart(3, '0')}); run: chmod 600 ${file}`;
}
