/**
 * Runs anvil (npm `@foundry-rs/anvil`, the binary of its platform package) as a child process
 * on 127.0.0.1 and a free port. Offline: the binary ships inside node_modules.
 *
 * On POSIX systems anvil runs under a tiny `sh` guardian that reads its stdin: when this process
 * ends in any way (even SIGKILL) the pipe closes and the guardian stops anvil with SIGTERM (so it
 * dumps its state), instead of leaving an orphan chain running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

/** Anvil's well-known development mnemonic: its accounts' keys are public, for local chains only. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
/** Private keys of anvil's first development accounts (derived from ANVIL_MNEMONIC; public knowledge). */
export const ANVIL_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
] as const;

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/** Starts anvil ("$@"), waits for stdin to close, then stops anvil gracefully and waits for it. */
const GUARDIAN = '"$@" & a=$!; cat >/dev/null; kill -TERM "$a" 2>/dev/null; wait "$a"';

/** Path of the anvil binary for this platform, or null when the package is not installed. */
export function findAnvil(): string | null {
  const arch = ARCH[process.arch];
  if (arch === undefined) return null;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    const root = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
    const bin = join(root, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    return existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

export interface AnvilOptions {
  chainId?: number;
  /** Load the chain from this file if it exists and dump it there on exit (and every `stateIntervalS`). */
  statePath?: string;
  stateIntervalS?: number;
  /** Binary to run; default findAnvil(). */
  bin?: string;
}

export interface Anvil {
  readonly rpcUrl: string;
  readonly process: ChildProcess;
  /** Stops anvil (SIGTERM, so it dumps its state), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export async function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const bin = opts.bin ?? findAnvil();
  if (bin === null) throw new Error('anvil is not installed (npm package @foundry-rs/anvil); run npm install');
  const args = ['--host', '127.0.0.1', '--port', '0', '--chain-id', String(opts.chainId ?? 31337), '--mnemonic', ANVIL_MNEMONIC];
  if (opts.statePath !== undefined) args.push('--state', opts.statePath, '--state-interval', String(opts.stateIntervalS ?? 2));
  const guarded = process.platform !== 'win32';
  const child = guarded
    ? spawn('/bin/sh', ['-c', GUARDIAN, 'anvil-guardian', bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const output: string[] = [];
  const rpcUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('anvil did not start listening within 30 s')), 30_000);
    const lines = createInterface({ input: child.stdout });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    lines.on('line', (line) => {
      if (output.length < 200) output.push(line);
      const m = /Listening on (127\.0\.0\.1:\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]!}`);
      }
    });
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    child.once('error', (err) => fail(err));
    child.once('exit', (code, signal) => fail(new Error(`anvil exited (${code ?? signal}) before it was ready:\n${output.slice(-20).join('\n')}`)));
  });
  // Keep draining its output so it never blocks on a full pipe.
  child.stdout.resume();
  let stopping: Promise<void> | null = null;
  return {
    rpcUrl,
    process: child,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        if (guarded) child.stdin?.end();
        else child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
