/**
 * Which other processes are using the GPU now? A render in Blender, a game no list knows, a
 * film's video decoding: any of them means the GPU is wanted, so work stops. Sources:
 *
 * - Linux DRM per-client usage (Documentation/gpu/drm-usage-stats.rst): every open DRM file has
 *   `/proc/<pid>/fdinfo/<fd>` with `drm-driver`, `drm-client-id` and the client's cumulative busy
 *   time per engine (`drm-engine-<name>: <ns> ns`; xe: `drm-cycles-<class>` over
 *   `drm-total-cycles-<class>`). A client uses the GPU when its busy time grew between two reads
 *   by at least `minBusyPercent` of the time between them. amdgpu, i915, xe, msm, panfrost,
 *   panthor and v3d report it; a driver that reports only memory cannot tell busy from idle, so
 *   its clients never count.
 * - NVIDIA's tool: `nvidia-smi pmon -c 1 -s u` (graphics and compute processes with SM, encoder
 *   or decoder use in the last sample), or, where pmon is not supported,
 *   `nvidia-smi --query-compute-apps` (every process with a compute context, busy or idle).
 * - Windows: the `GPU Engine(pid_<n>_…)\Utilization Percentage` performance counters (typeperf),
 *   names from tasklist.
 *
 * The worker itself (process.pid, `ownPids()`, and on Linux every descendant of process.pid, such
 * as Electron's GPU process) never counts, nor do display servers and compositors, which draw
 * the desktop whoever uses it.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { execRun, onPath, type Run } from './exec.js';

/** Names of other processes using the GPU now; null when it cannot be told here. */
export type GpuProcessSource = () => Promise<string[] | null>;

/** Display servers and compositors (lower case, without .exe). */
export const COMPOSITORS: readonly string[] = [
  'xorg', 'x', 'xwayland', 'gnome-shell', 'kwin_wayland', 'kwin_x11', 'kwin', 'mutter', 'sway', 'hyprland', 'weston', 'picom',
  'compton', 'xfwm4', 'marco', 'muffin', 'cinnamon', 'budgie-wm', 'labwc', 'wayfire', 'river', 'cage', 'enlightenment', 'compiz',
  'gamescope-wl', 'dwm', 'windowserver',
];

export interface GpuProcessOptions {
  /** Processes of this worker besides process.pid (the compute renderer, the GPU process). */
  ownPids?: () => readonly number[];
  /** Process names that never count; default COMPOSITORS. */
  ignore?: readonly string[];
}

const baseName = (s: string): string => s.split(/[\\/]/).pop()?.trim() ?? '';
const ignoredBy = (ignore: readonly string[] = COMPOSITORS): ((name: string) => boolean) => {
  const set = new Set(ignore.map((n) => n.toLowerCase()));
  return (name) => set.has(name.toLowerCase().replace(/\.exe$/, ''));
};
const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort((a, b) => a.localeCompare(b));

// ------------------------------------------------------------------------------- Linux fdinfo

export interface DrmClientSample {
  driver: string;
  /** Driver, device and client id: the client, however many fds or processes share it. */
  client: string;
  /** Cumulative busy nanoseconds per engine. */
  engineNs: Record<string, number>;
  /** xe: busy and total GPU cycles per engine class. */
  cycles: Record<string, { busy: number; total: number }>;
}

/** Parses one `/proc/<pid>/fdinfo/<fd>`; null when it is not a DRM client with an id. */
export function parseDrmFdinfo(text: string): DrmClientSample | null {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const driver = kv.get('drm-driver');
  const id = kv.get('drm-client-id');
  if (!driver || !id) return null;
  const engineNs: Record<string, number> = {};
  const busy: Record<string, number> = {};
  const total: Record<string, number> = {};
  for (const [k, v] of kv) {
    let m = /^drm-engine-(.+)$/.exec(k);
    if (m && !m[1]!.startsWith('capacity-')) {
      const ns = /^(\d+)\s*ns$/.exec(v);
      if (ns) engineNs[m[1]!] = Number(ns[1]);
      continue;
    }
    m = /^drm-(total-)?cycles-(.+)$/.exec(k);
    if (m && /^\d+$/.test(v)) (m[1] ? total : busy)[m[2]!] = Number(v);
  }
  const cycles: DrmClientSample['cycles'] = {};
  for (const [k, b] of Object.entries(busy)) if (total[k] !== undefined) cycles[k] = { busy: b, total: total[k] };
  return { driver, client: `${driver}/${kv.get('drm-pdev') ?? ''}/${id}`, engineNs, cycles };
}

/** How busy a client was between two samples (0–1, the busiest engine), `wallNs` apart. */
export function busyFraction(prev: DrmClientSample, next: DrmClientSample, wallNs: number): number {
  let most = 0;
  for (const [engine, ns] of Object.entries(next.engineNs)) {
    const before = prev.engineNs[engine];
    if (before !== undefined && ns > before && wallNs > 0) most = Math.max(most, (ns - before) / wallNs);
  }
  for (const [engine, c] of Object.entries(next.cycles)) {
    const before = prev.cycles[engine];
    if (before && c.busy > before.busy && c.total > before.total) most = Math.max(most, (c.busy - before.busy) / (c.total - before.total));
  }
  return most;
}

/** Argv[0]'s file name (keeps Wine's `.exe` names), else the kernel's name. */
export function processName(procRoot: string, pid: number): string | null {
  try {
    const argv0 = baseName(readFileSync(`${procRoot}/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '');
    if (argv0) return argv0;
    return readFileSync(`${procRoot}/${pid}/comm`, 'latin1').trim() || null;
  } catch {
    return null;
  }
}

/** The parent pid from `/proc/<pid>/stat` (after the last ')', the name may hold any). */
function parentPid(procRoot: string, pid: number): number | null {
  try {
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) && ppid > 0 ? ppid : null;
  } catch {
    return null;
  }
}

/** Whether `pid` is this worker or one of its descendants (checked through /proc where there is one). */
export function ownChecker(procRoot: string | null, ownPids: () => readonly number[] = () => []): (pid: number) => boolean {
  return (pid) => {
    const own = new Set([process.pid, ...ownPids()]);
    let p: number | null = pid;
    for (let depth = 0; p !== null && depth < 64; depth++) {
      if (own.has(p)) return true;
      if (!procRoot || p <= 1) return false;
      p = parentPid(procRoot, p);
    }
    return false;
  };
}

export interface DrmSourceOptions extends GpuProcessOptions {
  /** Default /proc. */
  procRoot?: string;
  /** Share of the time between two reads an engine must have been busy (percent); default 1. */
  minBusyPercent?: number;
  /**
   * A known process's fds are listed again every this many reads (default 10: 7.5 s at the
   * governor's 750 ms), spread over the processes; new processes at once. Listing costs a
   * readlink per open file, most of a read's cost on a desktop.
   */
  rescanEvery?: number;
  /** Monotonic clock in ms (tests). */
  now?: () => number;
}

/**
 * The DRM fdinfo source. Each call reads every readable process's DRM file descriptors (those
 * whose link points into /dev/dri) and compares with the previous call's sample, kept per pid
 * and client; the first call has nothing to compare with and says []. Processes of other users
 * cannot be read without privileges and so are not seen.
 *
 * While another process is using the GPU (the last call found one), work is stopped already and
 * what matters is noticing that it ends: then only the processes known to hold DRM files are
 * read, and /proc is walked again only every `rescanEvery` calls, for new processes alone. So
 * the source costs next to nothing while a game runs, however many processes the desktop has.
 */
export function drmFdinfoSource(o: DrmSourceOptions = {}): GpuProcessSource {
  const procRoot = o.procRoot ?? '/proc';
  const minBusy = (o.minBusyPercent ?? 1) / 100;
  const now = o.now ?? (() => performance.now());
  const isOwn = ownChecker(procRoot, o.ownPids);
  const ignored = ignoredBy(o.ignore);
  const rescanEvery = Math.max(1, o.rescanEvery ?? 10);
  /** pid → its DRM fds, as last listed. */
  let drmFds = new Map<string, string[]>();
  let scans = 0;
  let previous = new Map<string, DrmClientSample>();
  let previousAt: number | null = null;

  /** Whether the last call found another process using the GPU. */
  let inUse = false;

  return async () => {
    scans++;
    const drmFdsNow = new Map<string, string[]>();
    let pids: string[];
    if (inUse && scans % rescanEvery !== 0) {
      pids = [];
      for (const [p, fds] of drmFds) {
        if (fds.length > 0) pids.push(p);
        else drmFdsNow.set(p, fds);
      }
    } else {
      try {
        pids = readdirSync(procRoot).filter((p) => /^\d+$/.test(p));
      } catch {
        return null;
      }
    }
    const at = now();
    const wallNs = previousAt === null ? 0 : (at - previousAt) * 1e6;
    const samples = new Map<string, DrmClientSample>();
    /** client → the pids holding it. */
    const holders = new Map<string, number[]>();
    const busyClients = new Set<string>();
    for (const p of pids) {
      // A process's file descriptors are listed (and their links read) when it is new, and then
      // every `rescanEvery` reads, spread over the processes; in between only the DRM ones
      // found before are read. So a new program is seen at once, one that opens the GPU late
      // within a few reads, and the walk stays cheap on a desktop with thousands of fds.
      let fds = drmFds.get(p);
      if (!fds || (!inUse && (scans + Number(p)) % rescanEvery === 0)) {
        let all: string[];
        try {
          all = readdirSync(`${procRoot}/${p}/fd`);
        } catch {
          continue; // another user's process, or it ended
        }
        fds = [];
        for (const fd of all) {
          try {
            if (readlinkSync(`${procRoot}/${p}/fd/${fd}`).startsWith('/dev/dri/')) fds.push(fd);
          } catch {
            // the fd closed while we looked
          }
        }
      }
      drmFdsNow.set(p, fds);
      const pid = Number(p);
      const seen = new Set<string>();
      for (const fd of fds) {
        try {
          const s = parseDrmFdinfo(readFileSync(`${procRoot}/${p}/fdinfo/${fd}`, 'latin1'));
          if (!s || seen.has(s.client)) continue;
          seen.add(s.client);
          const key = `${pid}:${s.client}`;
          samples.set(key, s);
          holders.set(s.client, [...(holders.get(s.client) ?? []), pid]);
          const before = previous.get(key);
          if (before && busyFraction(before, s, wallNs) >= minBusy) busyClients.add(s.client);
        } catch {
          // the fd closed, or the process ended, while we looked
        }
      }
    }
    drmFds = drmFdsNow;
    const hadBaseline = previousAt !== null;
    previous = samples;
    previousAt = at;
    if (!hadBaseline) return [];
    const names: string[] = [];
    for (const client of busyClients) {
      const pidsOfClient = (holders.get(client) ?? []).sort((a, b) => a - b);
      // A client shared with the worker (a forked child that kept its fd) is the worker's.
      if (pidsOfClient.some(isOwn)) continue;
      const name = processName(procRoot, pidsOfClient[0]!);
      if (name && !ignored(name)) names.push(name);
    }
    inUse = names.length > 0;
    return sorted(names);
  };
}

// ------------------------------------------------------------------------------------- NVIDIA

export interface GpuProcess {
  pid: number;
  name: string;
}

/** Parses `nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv,noheader,nounits`. */
export function parseNvidiaComputeApps(out: string): GpuProcess[] {
  const list: GpuProcess[] = [];
  for (const line of out.split(/\r?\n/)) {
    const cols = line.split(',').map((c) => c.trim());
    if (cols.length < 2 || !/^\d+$/.test(cols[0]!)) continue;
    const pid = Number(cols[0]);
    const raw = cols.slice(1, cols.length >= 3 ? -1 : undefined).join(',');
    const name = baseName(raw);
    list.push({ pid, name: name && !name.startsWith('[') ? name : `process ${pid}` });
  }
  return list;
}

/**
 * Parses `nvidia-smi pmon -c 1 -s u`: the processes whose SM, encoder or decoder use in the
 * sample was above zero, graphics (G) and compute (C) alike. Columns are read from the header,
 * which has grown over driver versions (jpg, ofa).
 */
export function parseNvidiaPmon(out: string): GpuProcess[] {
  let header: string[] | null = null;
  const list: GpuProcess[] = [];
  for (const line of out.split(/\r?\n/)) {
    if (line.startsWith('#')) {
      const cols = line.slice(1).trim().split(/\s+/);
      if (cols[0] === 'gpu') header = cols;
      continue;
    }
    if (!header || !line.trim()) continue;
    const cols = line.trim().split(/\s+/);
    const at = (name: string): string | undefined => {
      const i = header!.indexOf(name);
      return i >= 0 ? cols[i] : undefined;
    };
    const pid = Number(at('pid'));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const used = ['sm', 'enc', 'dec'].some((c) => Number(at(c)) > 0);
    const command = cols.slice(header.indexOf('command')).join(' ');
    if (used) list.push({ pid, name: baseName(command) || `process ${pid}` });
  }
  return list;
}

export interface NvidiaOptions extends GpuProcessOptions {
  run?: Run;
  /**
   * Ask pmon (a one-second sample of who is busy, graphics and compute); default true. Without
   * it, or where it fails, every process holding a CUDA context counts, busy or not.
   */
  graphics?: boolean;
  /** Where to check ancestry (Linux); null elsewhere. */
  procRoot?: string | null;
}

export function nvidiaGpuProcessSource(o: NvidiaOptions = {}): GpuProcessSource {
  const tool = o.run ? 'nvidia-smi' : onPath('nvidia-smi');
  if (!tool) return async () => null;
  const run = o.run ?? execRun(4000);
  const isOwn = ownChecker(o.procRoot === undefined ? (process.platform === 'linux' ? '/proc' : null) : o.procRoot, o.ownPids);
  const ignored = ignoredBy(o.ignore);
  return async () => {
    // One call a poll: pmon's sample says who is busy now, graphics and compute alike. The
    // compute-apps list names every process holding a CUDA context, busy or idle (a browser or
    // a background service may hold one for hours), so it is asked only where pmon cannot answer
    // (not supported on every GPU or driver), and then each of its processes counts.
    let found: GpuProcess[] | null = null;
    if (o.graphics !== false) {
      try {
        found = parseNvidiaPmon(await run(tool, ['pmon', '-c', '1', '-s', 'u']));
      } catch {
        found = null;
      }
    }
    if (found === null) {
      try {
        found = parseNvidiaComputeApps(await run(tool, ['--query-compute-apps=pid,process_name,used_memory', '--format=csv,noheader,nounits']));
      } catch {
        return null;
      }
    }
    return sorted(found.filter((p) => !isOwn(p.pid) && !ignored(p.name)).map((p) => p.name));
  };
}

// ------------------------------------------------------------------------------------ Windows

/** Splits one CSV line of typeperf or tasklist (every field quoted). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"]|"")*)"/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1]!.replace(/""/g, '"'));
  return out;
}

/** Parses `typeperf "\GPU Engine(*)\Utilization Percentage" -sc 1`: the busiest engine per pid (percent). */
export function parseTypeperfGpu(out: string): Map<number, number> {
  const rows = out.split(/\r?\n/).filter((l) => l.startsWith('"')).map(csvFields);
  const header = rows.find((r) => r[0]?.startsWith('(PDH-CSV'));
  const values = rows.find((r) => r !== header && r.length === header?.length);
  const perPid = new Map<number, number>();
  if (!header || !values) return perPid;
  header.forEach((col, i) => {
    const pid = /GPU Engine\(pid_(\d+)_/i.exec(col)?.[1];
    const v = Number(values[i]);
    if (i === 0 || !pid || !Number.isFinite(v) || v < 0) return;
    perPid.set(Number(pid), Math.max(perPid.get(Number(pid)) ?? 0, v));
  });
  return perPid;
}

/** Parses `tasklist /FO CSV /NH`: pid → image name. */
export function parseTasklist(out: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of out.split(/\r?\n/)) {
    const [name, pid] = csvFields(line);
    if (name && pid && /^\d+$/.test(pid)) names.set(Number(pid), name);
  }
  return names;
}

export function windowsGpuProcessSource(o: GpuProcessOptions & { run?: Run; minPercent?: number } = {}): GpuProcessSource {
  const run = o.run ?? execRun(5000);
  const minPercent = o.minPercent ?? 1;
  const isOwn = ownChecker(null, o.ownPids);
  const ignored = ignoredBy(o.ignore);
  return async () => {
    let perPid: Map<number, number>;
    try {
      perPid = parseTypeperfGpu(await run('typeperf', ['\\GPU Engine(*)\\Utilization Percentage', '-sc', '1']));
    } catch {
      return null;
    }
    const busy = [...perPid].filter(([pid, pct]) => pct >= minPercent && pid > 0 && !isOwn(pid)).map(([pid]) => pid);
    if (busy.length === 0) return perPid.size > 0 ? [] : null;
    let names = new Map<number, string>();
    try {
      names = parseTasklist(await run('tasklist', ['/FO', 'CSV', '/NH']));
    } catch {
      // named by pid below
    }
    return sorted(busy.map((pid) => names.get(pid) ?? `process ${pid}`).filter((n) => !ignored(n)));
  };
}

// ------------------------------------------------------------------------------------ combined

/** All sources' names together; null only when none could tell. */
export function combineGpuProcessSources(...sources: GpuProcessSource[]): GpuProcessSource {
  return async () => {
    const all = await Promise.all(sources.map((s) => s().catch(() => null)));
    const told = all.filter((a): a is string[] => a !== null);
    return told.length === 0 ? null : sorted(told.flat());
  };
}

/** The sources for this OS: DRM fdinfo (plus nvidia-smi where installed) on Linux, the counters on Windows. */
export function nodeGpuProcessSource(o: GpuProcessOptions = {}): GpuProcessSource {
  if (process.platform === 'win32') return windowsGpuProcessSource(o);
  if (process.platform === 'linux') {
    const drm = drmFdinfoSource(o);
    return onPath('nvidia-smi') ? combineGpuProcessSources(drm, nvidiaGpuProcessSource(o)) : drm;
  }
  return async () => null;
}
