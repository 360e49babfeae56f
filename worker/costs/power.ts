/**
 * The GPU's power draw: measured where a sensor gives it (NVIDIA through `nvidia-smi`, AMD through
 * the kernel's hwmon `power1_average` on Linux), otherwise estimated from the board's power and
 * the duty cycle, and labelled as an estimate. Each sensor is a small function over a `Run` or a
 * /sys root, so tests feed them the tool's output or a fixture tree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execRun, onPath, type Run } from '../schedule/exec.js';

export interface PowerReading {
  /** Milliwatts (an integer: energy is counted exactly from here on). */
  milliwatts: number;
  /** Where the figure comes from. */
  source: 'nvidia-smi' | 'hwmon' | 'estimate';
  /** For an estimate, what it was made from, in words. */
  basis?: string;
}

/** The board's power, where a sensor tells it: its power limit (W). */
export interface PowerSensor {
  /** The draw now and the board's limit, W; null where nothing can be read. */
  read(): Promise<{ drawW: number | null; limitW: number | null } | null>;
  readonly name: 'nvidia-smi' | 'hwmon';
}

const finite = (text: string | undefined): number | null => {
  const n = Number((text ?? '').trim());
  return text !== undefined && (text ?? '').trim() !== '' && Number.isFinite(n) ? n : null;
};

/**
 * Parses `nvidia-smi --query-gpu=power.draw,power.limit --format=csv,noheader,nounits`: one line
 * per GPU, watts, `[N/A]` where a GPU does not report one. The GPUs' draws are added up.
 */
export function parseNvidiaPower(text: string): { drawW: number | null; limitW: number | null } | null {
  let draw: number | null = null;
  let limit: number | null = null;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [d, l] = line.split(',');
    const dw = finite(d);
    const lw = finite(l);
    if (dw !== null) draw = (draw ?? 0) + dw;
    if (lw !== null) limit = (limit ?? 0) + lw;
  }
  return draw === null && limit === null ? null : { drawW: draw, limitW: limit };
}

export function nvidiaPowerSensor(o: { run?: Run } = {}): PowerSensor | null {
  const tool = o.run ? 'nvidia-smi' : onPath('nvidia-smi');
  if (!tool) return null;
  const run = o.run ?? execRun(3000);
  return {
    name: 'nvidia-smi',
    async read() {
      try {
        return parseNvidiaPower(await run(tool, ['--query-gpu=power.draw,power.limit', '--format=csv,noheader,nounits']));
      } catch {
        return null;
      }
    },
  };
}

/**
 * AMD (amdgpu) and others on Linux: `power1_average` (or `power1_input`) in microwatts under each
 * card's hwmon, and `power1_cap` as the board's limit; the cards' draws are added up.
 */
export function hwmonPowerSensor(sys = '/sys'): PowerSensor | null {
  const read = (file: string): number | null => {
    try {
      return finite(readFileSync(file, 'latin1'));
    } catch {
      return null;
    }
  };
  const dirs = (): string[] => {
    const out: string[] = [];
    let cards: string[];
    try {
      cards = readdirSync(`${sys}/class/drm`).filter((c) => /^card\d+$/.test(c));
    } catch {
      return out;
    }
    for (const card of cards) {
      try {
        for (const hw of readdirSync(`${sys}/class/drm/${card}/device/hwmon`)) out.push(`${sys}/class/drm/${card}/device/hwmon/${hw}`);
      } catch {
        // a card without hwmon
      }
    }
    return out;
  };
  const found = dirs().filter((d) => read(`${d}/power1_average`) !== null || read(`${d}/power1_input`) !== null);
  if (found.length === 0) return null;
  return {
    name: 'hwmon',
    async read() {
      let draw: number | null = null;
      let limit: number | null = null;
      for (const d of found) {
        const uw = read(`${d}/power1_average`) ?? read(`${d}/power1_input`);
        const cap = read(`${d}/power1_cap`);
        if (uw !== null) draw = (draw ?? 0) + uw / 1e6;
        if (cap !== null) limit = (limit ?? 0) + cap / 1e6;
      }
      return draw === null && limit === null ? null : { drawW: draw, limitW: limit };
    },
  };
}

/** The sensor of this machine: nvidia-smi where installed, else hwmon on Linux, else none. */
export function nodePowerSensor(): PowerSensor | null {
  return nvidiaPowerSensor() ?? (process.platform === 'linux' ? hwmonPowerSensor() : null);
}

/**
 * Typical board power of GPUs by name (W, the makers' published total board power), for an
 * estimate where no sensor reads the draw. The first pattern that matches wins.
 */
const BOARD_POWER: readonly [RegExp, number][] = [
  [/rtx\s*4090/i, 450],
  [/rtx\s*4080/i, 320],
  [/rtx\s*4070\s*ti/i, 285],
  [/rtx\s*4070/i, 200],
  [/rtx\s*4060\s*ti/i, 160],
  [/rtx\s*4060/i, 115],
  [/rtx\s*3090/i, 350],
  [/rtx\s*3080/i, 320],
  [/rtx\s*3070/i, 220],
  [/rtx\s*3060\s*ti/i, 200],
  [/rtx\s*3060/i, 170],
  [/rtx\s*20[0-9]0/i, 215],
  [/gtx\s*16[0-9]0/i, 120],
  [/rx\s*7900/i, 315],
  [/rx\s*7800/i, 263],
  [/rx\s*7700/i, 245],
  [/rx\s*7600/i, 165],
  [/rx\s*6[89]00/i, 300],
  [/rx\s*6700/i, 230],
  [/rx\s*6600/i, 132],
  [/arc\s*a7[0-9]0/i, 225],
  [/arc\s*a5[0-9]0/i, 185],
  [/apple|m[1-4]\b/i, 30],
  [/intel|iris|uhd/i, 15],
  [/swiftshader|llvmpipe|software/i, 65],
];
/** What an unknown GPU is assumed to draw at full load, W. */
export const UNKNOWN_BOARD_W = 150;

/** The board power to assume for `name`, W, and in words where it came from. */
export function boardPowerOf(name: string, limitW: number | null = null): { watts: number; basis: string } {
  if (limitW !== null && limitW > 0) return { watts: limitW, basis: `the board's power limit, ${Math.round(limitW)} W` };
  const hit = BOARD_POWER.find(([re]) => re.test(name));
  if (hit) return { watts: hit[1], basis: `${name}'s typical board power, ${hit[1]} W` };
  return { watts: UNKNOWN_BOARD_W, basis: `a typical GPU's ${UNKNOWN_BOARD_W} W (this one's is not known)` };
}

/** The draw estimated from the board's power and the duty cycle (0..1). */
export function estimatePower(board: { watts: number; basis: string }, duty: number): PowerReading {
  const share = Math.min(1, Math.max(0, duty));
  return {
    milliwatts: Math.round(board.watts * share * 1000),
    source: 'estimate',
    basis: `estimated from ${board.basis} at ${Math.round(share * 100)} % of the time`,
  };
}

export interface PowerMeterOptions {
  sensor: PowerSensor | null;
  /** The GPU's name, for the board power of an estimate. */
  gpuName: string;
}

/** Measures where it can, estimates where it cannot. */
export class PowerMeter {
  private limitW: number | null = null;

  constructor(private readonly o: PowerMeterOptions) {}

  /** The draw now, while working at `duty` (the estimate's share of the board power). */
  async read(duty: number): Promise<PowerReading> {
    const r = await this.o.sensor?.read().catch(() => null);
    if (r?.limitW) this.limitW = r.limitW;
    if (r && r.drawW !== null && this.o.sensor) return { milliwatts: Math.round(r.drawW * 1000), source: this.o.sensor.name };
    return estimatePower(boardPowerOf(this.o.gpuName, this.limitW), duty);
  }

  /** The draw to expect while working at `duty` (for the profitability check while not working). */
  expected(duty: number, lastWorking: PowerReading | null): PowerReading {
    if (lastWorking && lastWorking.source !== 'estimate') return lastWorking;
    return estimatePower(boardPowerOf(this.o.gpuName, this.limitW), duty);
  }
}
