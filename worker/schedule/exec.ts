/**
 * Small process helpers the scheduling sources share: find a tool on PATH, run a command once
 * (short timeout, stdout as text), or keep a helper process running that prints one sample per
 * line (for samplers whose start-up costs more than a sample: PowerShell with Add-Type, JXA).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Runs a command once and gives its stdout; rejects when it fails or times out. */
export type Run = (cmd: string, args: readonly string[]) => Promise<string>;

export function onPath(binary: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const name of process.platform === 'win32' ? [binary, `${binary}.exe`] : [binary]) {
      const full = join(dir, name);
      if (existsSync(full)) return full;
    }
  }
  return null;
}

/** `execFile` with a timeout and a bounded output, for one-shot readings. */
export function execRun(timeoutMs = 2000, env?: NodeJS.ProcessEnv): Run {
  return (cmd, args) =>
    new Promise((resolve, reject) => {
      execFile(cmd, [...args], { timeout: timeoutMs, maxBuffer: 4 << 20, windowsHide: true, encoding: 'utf8', env: env ?? process.env }, (err, stdout) => {
        if (err) reject(err);
        else resolve(stdout);
      });
    });
}

export interface LineHelper {
  /** The latest line, or null when none came within `staleMs`. */
  latest(): string | null;
  close(): void;
}

/**
 * Keeps `cmd args` running and remembers the last line it printed (stdout or stderr: JXA's
 * console.log writes to stderr). It never holds the event loop, is killed when this process
 * exits, and is started again (at most every `restartMs`) when it ends.
 */
export function lineHelper(cmd: string, args: readonly string[], o: { staleMs?: number; restartMs?: number } = {}): LineHelper {
  const staleMs = o.staleMs ?? 3000;
  const restartMs = o.restartMs ?? 10_000;
  let last: { line: string; at: number } | null = null;
  let child: ReturnType<typeof spawn> | null = null;
  let startedAt = 0;
  let closed = false;
  const kill = (): void => {
    child?.kill();
  };

  const start = (): void => {
    if (closed || child || Date.now() - startedAt < restartMs) return;
    startedAt = Date.now();
    let c: ReturnType<typeof spawn>;
    try {
      c = spawn(cmd, [...args], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch {
      return;
    }
    child = c;
    process.once('exit', kill);
    const onData = (buf: Buffer | string): void => {
      const lines = String(buf).split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
      const line = lines.at(-1);
      if (line !== undefined) last = { line, at: Date.now() };
    };
    c.stdout?.setEncoding('utf8').on('data', onData);
    c.stderr?.setEncoding('utf8').on('data', onData);
    const done = (): void => {
      if (child === c) child = null;
      process.removeListener('exit', kill);
    };
    c.on('error', done);
    c.on('exit', done);
    c.unref();
    for (const s of [c.stdout, c.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
  };

  return {
    latest() {
      start();
      if (!last || Date.now() - last.at > staleMs) return null;
      return last.line;
    },
    close() {
      closed = true;
      kill();
    },
  };
}
