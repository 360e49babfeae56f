/** Helpers for end-to-end tests: run the real `idleforge` command and read its JSON events. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CliEventSchema, type CliEvent } from '../protocol/index.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// Workers started by the tests protect their wallets with this passphrase; a cheaper scrypt
// keeps the many worker starts quick (the keystore records its own cost).
process.env.IDLEFORGE_PASSPHRASE ??= 'idleforge-test-passphrase';
process.env.IDLEFORGE_KEYSTORE_SCRYPT_N ??= '16384';
export const BIN = join(ROOT, 'bin', 'idleforge.mjs');

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `idleforge-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Every `idleforge` process a test file starts and that is still running when the file's tests
 * end (a failed assertion skipped its stop) is stopped then: Ctrl-C first, so a devnet stops its
 * chain and hub, then SIGKILL after 10 s. Without this the file would never end.
 */
const running = new Set<ChildProcess>();
const alive = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;
after(async () => {
  const left = [...running].filter(alive);
  await Promise.all(
    left.map(async (child) => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
});
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

export interface CliRun {
  child: ChildProcess;
  events: CliEvent[];
  stderr: string[];
  /** Resolves with the first event that `match` accepts (rejects if the process exits first). */
  waitFor<E extends CliEvent>(match: (e: CliEvent) => e is E, timeoutMs?: number): Promise<E>;
  exit: Promise<number>;
}

/** Starts `idleforge ...args`; every stdout line must be a protocol event. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  const events: CliEvent[] = [];
  const stderr: string[] = [];
  const waiters: Array<() => void> = [];
  const exit = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 0))));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const parsed = CliEventSchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`not a protocol event on stdout: ${line}`);
    events.push(parsed.data);
    waiters.forEach((w) => w());
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const waitFor = <E extends CliEvent>(match: (e: CliEvent) => e is E, timeoutMs = 60_000): Promise<E> =>
    new Promise<E>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for an event; stderr:\n${stderr.join('\n')}`)), timeoutMs);
      const check = (): void => {
        const found = events.find(match);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      waiters.push(check);
      check();
      void exit.then((code) => {
        clearTimeout(timer);
        setImmediate(() => reject(new Error(`idleforge ${args[0]} exited (${code}) first; stderr:\n${stderr.join('\n')}`)));
      });
    });
  return { child, events, stderr, waitFor, exit };
}

/** Runs a one-shot command to completion and returns its stdout, stderr and exit code. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, input?: string, timeoutMs = 180_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    track(child);
    child.stdin.end(input ?? '');
    let stdout = '';
    let stderr = '';
    // A command that should end on its own but does not fails the test instead of holding it.
    const timer = setTimeout(() => {
      stderr += `\n[test] idleforge ${args[0]} did not end in ${timeoutMs / 1000} s: killed\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export function randomMatrix(rows: number, cols: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: rows * cols }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  });
}

/** A TCP port free on 127.0.0.1 at this moment (for a server a test starts with a fixed port). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Polls `probe` every 100 ms (250 ms with `everyMs`) until it gives a truthy value, and returns it;
 * a probe that throws counts as not yet. Fails naming `what` after `timeoutMs`.
 */
export async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
