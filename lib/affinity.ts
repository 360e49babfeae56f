/**
 * CPU affinity for the benchmarks (Linux `taskset`, from util-linux): keeps a process, all its
 * threads included, on some cores, so that two programs measured side by side on one small
 * machine do not take CPU time from each other. Nothing else in the app pins anything.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((p) => existsSync(p)) ?? null;

/** Whether processes can be pinned here. */
export const canPin = TASKSET !== null && process.platform === 'linux';

/** Pins every thread of `pid` (and the threads it starts later) to `cpus` ("0", "0-2"). */
export function pinProcess(pid: number, cpus: string): void {
  if (!TASKSET) throw new Error('taskset is not installed: cannot pin processes to cores');
  execFileSync(TASKSET, ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * How to split this machine's cores between a server and what it serves: the last core for the
 * server, the others for the client; null on a machine with one core or without taskset.
 */
export function splitCores(count: number): { server: string; client: string } | null {
  if (!canPin || count < 2) return null;
  return { server: String(count - 1), client: count === 2 ? '0' : `0-${count - 2}` };
}
