/**
 * What this GPU earns and costs an hour, exactly where money is concerned: the hub's rates
 * (base units per GFLOP or MH, `GET /v1/rates`) times this GPU's measured speed (the weekly score,
 * kernels/benchmark: GFLOP/s, MH/s) give base units an hour (bigint); the token's value (micro-
 * units of a currency per whole token) turns them into money; the power draw (mW) times the
 * electricity price (micro-units per kWh) gives what the hour costs. Pure: tested on known inputs.
 */
import { specOf } from '../../jobs/index.js';
import { electricityPriceAt, type Rates, type Settings } from '../../protocol/index.js';
import { dayIndex } from '../schedule/conditions.js';

export interface Speed {
  gflops: number;
  mhs: number;
  /** Render's speed, in the operations render is paid by (absent from a score measured before render had one). */
  renderGflops?: number;
}

/**
 * Typical f32 throughput of GPUs by name, for an estimate before the GPU was measured: a share
 * (MATMUL_SHARE) of the makers' peak TFLOPS, and SHA-256 hashes in proportion (HASH_PER_GFLOP).
 */
const PEAK_TFLOPS: readonly [RegExp, number][] = [
  [/rtx\s*4090/i, 82.6],
  [/rtx\s*4080/i, 48.7],
  [/rtx\s*4070\s*ti/i, 40.1],
  [/rtx\s*4070/i, 29.1],
  [/rtx\s*4060/i, 15.1],
  [/rtx\s*3090/i, 35.6],
  [/rtx\s*3080/i, 29.8],
  [/rtx\s*3070/i, 20.3],
  [/rtx\s*3060/i, 12.7],
  [/rtx\s*20[0-9]0/i, 10],
  [/gtx\s*16[0-9]0/i, 5],
  [/rx\s*7900/i, 61],
  [/rx\s*7800/i, 37],
  [/rx\s*7[67]00/i, 21.5],
  [/rx\s*6[89]00/i, 20.6],
  [/rx\s*6[67]00/i, 10.6],
  [/arc\s*a7[0-9]0/i, 17.2],
];
/** The share of peak a real matmul reaches (tiles, memory). */
const MATMUL_SHARE = 0.4;
/** MH/s per GFLOP/s of matmul (SHA-256 is integer work; measured GPUs land near this). */
const HASH_PER_GFLOP = 0.6;
/** Render's paid operations a second per GFLOP/s of matmul: a path tracer's branches and scattered reads keep it below a matrix product. */
const RENDER_PER_GFLOP = 0.5;

/** This GPU's speed estimated from its model, or null when the model is not known. */
export function speedFromModel(name: string): (Speed & { basis: string }) | null {
  const hit = PEAK_TFLOPS.find(([re]) => re.test(name));
  if (!hit) return null;
  const gflops = hit[1] * 1000 * MATMUL_SHARE;
  return { gflops, mhs: gflops * HASH_PER_GFLOP, renderGflops: gflops * RENDER_PER_GFLOP, basis: `estimated from its model (${name})` };
}

export interface KindEarning {
  kind: string;
  /** Base units an hour at full speed. */
  perHour: bigint;
  /** Whether the hub has tasks of this kind waiting now. */
  inDemand: boolean;
}

/** Base units an hour for each kind the hub publishes, at this speed, working all the time. */
export function earningsPerHour(rates: Rates, speed: Speed): KindEarning[] {
  return rates.kinds.map((k) => {
    // The kind's own measure of speed (render's is not matmul's); a score without it earns nothing here.
    const unitsPerS = speed[specOf(k.kind).speedScore] ?? 0;
    // units a second, in thousandths (exact integers from here on), × rate per unit × 3600 s.
    const milliUnitsPerS = BigInt(Math.floor(unitsPerS * 1000));
    return { kind: k.kind, perHour: (milliUnitsPerS * BigInt(k.rate) * 3600n) / 1000n, inDemand: k.queued > 0 };
  });
}

/** Tasks of a kind whose GPU time calibrates the estimate, at least. */
export const CALIBRATION_TASKS = 5;

/**
 * The estimate by real work: where this machine has done CALIBRATION_TASKS or more of a kind
 * lately, what they earned per hour of its GPU time replaces the benchmark's figure (which counts
 * compute alone, not the inputs' upload, the readback or a busy CPU). Returns the list with each
 * calibrated kind's rate and the number of tasks behind it.
 */
export function calibrate(list: readonly KindEarning[], worked: ReadonlyArray<{ kind: string; amount: bigint; gpuMs: number; tasks: number }>): Array<KindEarning & { tasks: number }> {
  return list.map((k) => {
    const w = worked.find((x) => x.kind === k.kind);
    if (!w || w.tasks < CALIBRATION_TASKS || w.gpuMs <= 0) return { ...k, tasks: 0 };
    return { ...k, perHour: (w.amount * 3_600_000n) / BigInt(Math.round(w.gpuMs)), tasks: w.tasks };
  });
}

/** The kind that earns most among those in demand (or among all when none is), or null. */
export function bestEarning<K extends KindEarning>(list: readonly K[]): K | null {
  const pool = list.some((k) => k.inDemand) ? list.filter((k) => k.inDemand) : list;
  return pool.reduce<K | null>((best, k) => (best === null || k.perHour > best.perHour ? k : best), null);
}

/** `amount` base units in micro-units of a currency, at `perToken` micro-units a whole token. */
export function valueOf(amount: bigint, decimals: number, perToken: number): bigint {
  return (amount * BigInt(perToken)) / 10n ** BigInt(decimals);
}

/** What drawing `milliwatts` for an hour costs, micro-units, at `perKwh` micro-units a kWh. */
export function costPerHour(milliwatts: number, perKwh: number): bigint {
  // mW × 1 h = mWh; a kWh is 10⁶ mWh.
  return (BigInt(Math.round(milliwatts)) * BigInt(perKwh)) / 1_000_000n;
}

export interface TokenValue {
  /** Micro-units of `currency` per whole token. */
  perToken: number;
  currency: string;
  /** 'yours' (Settings) or the hub's reference price (labelled as such). */
  source: 'yours' | 'hub-reference';
  label: string | null;
}

/** The token's value: the user's own, else the hub's reference when it is in the same currency. */
export function tokenValueOf(settings: Pick<Settings, 'tokenValue' | 'electricity'>, rates: Rates | null): TokenValue | null {
  const currency = settings.electricity.currency;
  if (settings.tokenValue !== null) return { perToken: settings.tokenValue, currency, source: 'yours', label: null };
  const ref = rates?.referencePrice;
  if (ref && ref.currency === currency) return { perToken: ref.perToken, currency, source: 'hub-reference', label: ref.label };
  return null;
}

/** The electricity price now (local day and hour), micro-units a kWh; null when not set. */
export const priceNow = (settings: Pick<Settings, 'electricity'>, now: Date): number | null => electricityPriceAt(settings.electricity, dayIndex(now), now.getHours());

/**
 * Whether working now costs more in electricity than it earns: true or false where both sides are
 * known (the token's value, the price, the draw, an earning rate), else null (unknown: the
 * condition never stops work on a guess).
 */
export function unprofitable(o: { earnPerHour: bigint | null; decimals: number; value: TokenValue | null; milliwatts: number | null; pricePerKwh: number | null }): boolean | null {
  if (o.earnPerHour === null || o.value === null || o.milliwatts === null || o.pricePerKwh === null) return null;
  return costPerHour(o.milliwatts, o.pricePerKwh) > valueOf(o.earnPerHour, o.decimals, o.value.perToken);
}
