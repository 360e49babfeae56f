/**
 * CPU time of a process tree on Linux, read from /proc: used by `bench hub` to say what the
 * PostgreSQL cluster it started spent per cycle (its postmaster, the backends alive now, and,
 * through the postmaster's children's times, every backend that has exited).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Clock ticks a second of /proc's times (USER_HZ: 100 on every Linux the project runs on). */
const TICKS_PER_S = 100;

interface Stat {
  ppid: number;
  /** utime + stime, ticks. */
  own: number;
  /** cutime + cstime (waited-for children), ticks. */
  children: number;
}

/** Fields of /proc/<pid>/stat after the command's closing parenthesis (which may itself hold spaces). */
export function parseStat(text: string): Stat | null {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
  const n = (field: number): number => Number(fields[field - 3]);
  const out = { ppid: n(4), own: n(14) + n(15), children: n(16) + n(17) };
  return Object.values(out).every(Number.isFinite) ? out : null;
}

function statOf(pid: number): Stat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** CPU ms of process `pid`, the children it has waited for, and its live children; null off Linux or when it is gone. */
export function treeCpuMs(pid: number): number | null {
  const root = statOf(pid);
  if (!root) return null;
  let ticks = root.own + root.children;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(Number(name));
    if (s && s.ppid === pid) ticks += s.own;
  }
  return (ticks * 1000) / TICKS_PER_S;
}

/** The postmaster's pid of the cluster in `pgdata` (first line of postmaster.pid), or null. */
export function postmasterPid(pgdata: string): number | null {
  try {
    const pid = Number(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
