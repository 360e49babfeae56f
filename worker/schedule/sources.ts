/**
 * Where the readings come from. Each source is a small interface: the Electron shell passes
 * powerMonitor-backed ones, the headless worker the Node ones below, tests fakes.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import si from 'systeminformation';
import { onPath } from './exec.js';
import { nodeFullscreenSource, x11SpySource } from './fullscreen.js';
import { nodeGpuProcessSource } from './gpu-processes.js';

const run = promisify(execFile);

export interface GpuSensorReading {
  temperatureC: number | null;
  utilizationPercent: number | null;
  /** The fans' speed, percent of their most; absent or null where it cannot be read. */
  fanPercent?: number | null;
}

export interface ConditionSources {
  /** Seconds since the last user input; Infinity where there is no user (a rig); null unknown. */
  idleSeconds(): Promise<number | null>;
  onBattery(): Promise<boolean | null>;
  runningPrograms(): Promise<string[] | null>;
  gpuSensors(): Promise<GpuSensorReading>;
  /** The app whose window is fullscreen in front (see fullscreen.ts); absent or null: cannot tell. */
  fullscreenApp?(): Promise<string | null>;
  /** Other processes using the GPU now (see gpu-processes.ts); absent or null: cannot tell. */
  gpuProcesses?(): Promise<string[] | null>;
}

/**
 * Idle time headless: X11's, through `xprintidle`, where there is a display and the tool;
 * otherwise the machine has no user at its keyboard (a rig or a server), so it counts as idle.
 */
export function nodeIdleSource(): { idleSeconds(): Promise<number | null>; describe: string } {
  const tool = process.env.DISPLAY ? onPath('xprintidle') : null;
  if (!tool) return { idleSeconds: async () => Infinity, describe: 'no display: always idle (rig mode)' };
  return {
    describe: `X11 idle time (${tool})`,
    idleSeconds: async () => {
      try {
        const { stdout } = await run(tool, [], { timeout: 2000 });
        const ms = Number(stdout.trim());
        return Number.isFinite(ms) ? ms / 1000 : null;
      } catch {
        return null;
      }
    },
  };
}

/** The GPUs whose sensors count: the selected ones by name, or all. */
const selected = (model: string, names: readonly string[]): boolean =>
  names.length === 0 || names.some((n) => model.toLowerCase().includes(n.toLowerCase()));

/**
 * Names of running programs on Linux straight from /proc (a few ms, where systeminformation
 * takes most of a second): argv[0]'s file name, which keeps Wine and Proton games' `.exe` names,
 * or the kernel's (15-character) name when there is no command line.
 */
export function linuxProgramNames(proc = '/proc'): string[] {
  const names = new Set<string>();
  for (const pid of readdirSync(proc)) {
    if (!/^[0-9]+$/.test(pid)) continue;
    try {
      const argv0 = readFileSync(`${proc}/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '';
      const base = argv0.split(/[\\/]/).pop()?.trim();
      if (base) names.add(base);
      else names.add(readFileSync(`${proc}/${pid}/comm`, 'latin1').trim());
    } catch {
      // The process ended while we looked.
    }
  }
  names.delete('');
  return [...names];
}

/**
 * The GPUs' fan speed on Linux from the kernel's hwmon files (amdgpu, nouveau, and others that
 * report one): `pwm1` over `pwm1_max` (255 where absent), else `fan1_input` over `fan1_max`
 * (RPM); the fastest card's. Null where no card reports either.
 */
export function linuxHwmonFanPercent(sys = '/sys'): number | null {
  const read = (file: string): number | null => {
    try {
      const n = Number(readFileSync(file, 'latin1').trim());
      return Number.isFinite(n) ? n : null;
    } catch {
      return null;
    }
  };
  let most: number | null = null;
  let cards: string[];
  try {
    cards = readdirSync(`${sys}/class/drm`).filter((c) => /^card\d+$/.test(c));
  } catch {
    return null;
  }
  for (const card of cards) {
    let monitors: string[] = [];
    try {
      monitors = readdirSync(`${sys}/class/drm/${card}/device/hwmon`);
    } catch {
      continue;
    }
    for (const hw of monitors) {
      const dir = `${sys}/class/drm/${card}/device/hwmon/${hw}`;
      const pwm = read(`${dir}/pwm1`);
      const rpm = read(`${dir}/fan1_input`);
      const rpmMax = read(`${dir}/fan1_max`);
      const pct = pwm !== null ? (pwm / (read(`${dir}/pwm1_max`) ?? 255)) * 100 : rpm !== null && rpmMax ? (rpm / rpmMax) * 100 : null;
      if (pct !== null) most = Math.max(most ?? 0, Math.min(100, Math.max(0, pct)));
    }
  }
  return most === null ? null : Math.round(most);
}

export interface NodeSourceOptions {
  gpuNames?: () => readonly string[];
  /**
   * This worker's other processes (the compute renderer, Electron's GPU process): their windows
   * and GPU use are the worker's own. On Linux every descendant of this process counts as own anyway.
   */
  ownPids?: () => readonly number[];
  /** The X display to watch for fullscreen windows; default $DISPLAY. */
  display?: string;
}

export function nodeSources(options: NodeSourceOptions = {}): ConditionSources {
  const idle = nodeIdleSource();
  const own = { ownPids: options.ownPids };
  const fullscreen = options.display !== undefined ? x11SpySource({ ...own, display: options.display }) : nodeFullscreenSource(own);
  const gpuProcesses = nodeGpuProcessSource(own);
  return {
    idleSeconds: idle.idleSeconds,
    fullscreenApp: fullscreen,
    gpuProcesses,
    async onBattery() {
      try {
        const b = await si.battery();
        if (!b.hasBattery) return false;
        return !b.acConnected && !b.isCharging;
      } catch {
        return null;
      }
    },
    async runningPrograms() {
      try {
        if (process.platform === 'linux' && existsSync('/proc/self/cmdline')) return linuxProgramNames();
        const p = await si.processes();
        return p.list.map((proc) => proc.name).filter((n): n is string => typeof n === 'string' && n.length > 0);
      } catch {
        return null;
      }
    },
    async gpuSensors() {
      try {
        const g = await si.graphics();
        const names = options.gpuNames?.() ?? [];
        const hot = g.controllers
          .filter((c) => selected(`${c.vendor} ${c.model}`, names))
          .map((c) => ({
            t: typeof c.temperatureGpu === 'number' ? c.temperatureGpu : null,
            u: typeof c.utilizationGpu === 'number' ? c.utilizationGpu : null,
            f: typeof c.fanSpeed === 'number' ? c.fanSpeed : null,
          }));
        const temps = hot.map((h) => h.t).filter((t): t is number => t !== null);
        const utils = hot.map((h) => h.u).filter((u): u is number => u !== null);
        const fans = hot.map((h) => h.f).filter((u): u is number => u !== null);
        return {
          temperatureC: temps.length > 0 ? Math.max(...temps) : null,
          utilizationPercent: utils.length > 0 ? Math.max(...utils) : null,
          fanPercent: fans.length > 0 ? Math.max(...fans) : process.platform === 'linux' ? linuxHwmonFanPercent() : null,
        };
      } catch {
        return { temperatureC: null, utilizationPercent: null, fanPercent: null };
      }
    },
  };
}
