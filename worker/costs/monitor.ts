/**
 * What the GPU earns and costs, kept up to date while the worker runs:
 * - the energy it uses while working, every few seconds, measured or estimated (power.ts), added
 *   by hour to the store at the electricity price of that hour (store/energy.ts);
 * - whether working now costs more than it earns, handed to the governor as a reading (the
 *   "work only while it earns more than the electricity costs" condition);
 * - the outlook the dashboard shows: "about N tokens an hour now", beside the last 24 hours.
 */
import { formatUnits, type EngineResult, type Rates, type Settings } from '../../protocol/index.js';
import { hourOf } from '../store/energy.js';
import type { WorkerStore } from '../store/index.js';
import { bestEarning, calibrate, costPerHour, earningsPerHour, priceNow, speedFromModel, tokenValueOf, unprofitable, valueOf, type Speed } from './estimate.js';
import type { PowerMeter, PowerReading } from './power.js';

export type CostOutlook = EngineResult<'getCostOutlook'>;

export interface CostMonitorOptions {
  store: WorkerStore;
  power: PowerMeter;
  settings: () => Settings;
  rates: () => Rates | null;
  /** This GPU's measured speed (the weekly score); null before it is measured. */
  speed: () => Speed | null;
  /** The GPU's name, for an estimate from its model. */
  gpuName: string;
  /** Whether the engine is working on a task now. */
  working: () => boolean;
  /** The duty cycle work runs at, 0..1. */
  duty: () => number;
  /** Gets the profitability reading. */
  governor: { update(r: { unprofitable: boolean | null }): void };
  now?: () => Date;
  everyMs?: number;
  /** A line for people (the headless worker prints it): the estimate, once there is one and when what it is from changes. */
  log?: (line: string) => void;
}

const FROM_WORDS: Record<NonNullable<CostOutlook['estimate']>['from'], string> = {
  benchmark: "this GPU's measured speed",
  model: "its model (not measured yet)",
  tasks: 'its recent tasks',
};

/** "this GPU earns about 1,234.5 IDLE an hour now (matmul, from its recent tasks)" */
export function estimateLine(e: NonNullable<CostOutlook['estimate']>, token: { symbol: string; decimals: number }): string {
  return `this GPU earns about ${formatUnits(BigInt(e.perHour), token.decimals, 2)} ${token.symbol} an hour now (${e.kind} at the hub's rate, from ${FROM_WORDS[e.from]})`;
}

/** A gap between two readings longer than this is not counted (the machine slept). */
const MAX_GAP_MS = 30_000;

export class CostMonitor {
  private timer: NodeJS.Timeout | null = null;
  private lastTick: number | null = null;
  /** The last draw read while working (the expected draw while not). */
  private lastWorking: PowerReading | null = null;
  /** Microjoules under a whole millijoule, carried to the next sample. */
  private carry = 0;
  private busy = false;
  /** What the last estimate told in `log` was from. */
  private told: string | null = null;
  /** The last 24 hours' work by kind (the calibration), read again at most once a minute. */
  private workedCache: { at: number; rows: ReturnType<WorkerStore['energy']['worked']> } | null = null;

  constructor(private readonly o: CostMonitorOptions) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.o.everyMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  /**
   * One round: count the energy since the last, and judge whether work pays now. Run every few
   * seconds, and when work starts or stops (compose.ts), so a stretch of work is counted whole.
   */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = this.now();
      const settings = this.o.settings();
      const working = this.o.working();
      // Counted from the reading that started work to the one that saw it end: the last
      // stretch at the draw last read.
      if (working || this.lastTick !== null) {
        const reading = working ? await this.o.power.read(this.o.duty()) : this.lastWorking;
        if (working) this.lastWorking = reading;
        const t = now.getTime();
        const gap = this.lastTick === null ? 0 : t - this.lastTick;
        this.lastTick = working ? t : null;
        if (reading && gap > 0 && gap <= MAX_GAP_MS) {
          // mW × ms = µJ; whole millijoules are stored, the rest carried.
          const uj = reading.milliwatts * gap + this.carry;
          const mj = Math.floor(uj / 1000);
          this.carry = uj - mj * 1000;
          this.o.store.energy.add({
            hour: hourOf(now),
            source: reading.source === 'estimate' ? 'estimated' : 'measured',
            currency: settings.electricity.currency,
            pricePerKwh: priceNow(settings, now),
            mj,
            workMs: gap,
          });
        }
      }
      const outlook = this.outlook({ withLast24h: false });
      this.o.governor.update({ unprofitable: outlook.unprofitable });
      const e = outlook.estimate;
      if (e && this.o.log && this.told !== e.from) {
        this.told = e.from;
        this.o.log(estimateLine(e, outlook.token));
      }
    } finally {
      this.busy = false;
    }
  }

  /** This machine's recent work by kind (store/energy.ts `worked`); read again at most once a minute. */
  private worked(now: Date): ReturnType<WorkerStore['energy']['worked']> {
    const t = now.getTime();
    if (!this.workedCache || t - this.workedCache.at > 60_000 || t < this.workedCache.at) {
      this.workedCache = { at: t, rows: this.o.store.energy.worked(new Date(t - 24 * 3600_000).toISOString()) };
    }
    return this.workedCache.rows;
  }

  /**
   * The outlook for the dashboard, and the profitability reading (which leaves out the last
   * 24 hours' sum: it is judged every few seconds).
   */
  outlook(o: { withLast24h?: boolean } = {}): CostOutlook {
    const now = this.now();
    const settings = this.o.settings();
    const rates = this.o.rates();
    const measured = this.o.speed();
    const modelled = measured ? null : speedFromModel(this.o.gpuName);
    const speed = measured ? { ...measured, basis: 'measured' as const } : modelled ? { gflops: modelled.gflops, mhs: modelled.mhs, renderGflops: modelled.renderGflops, basis: 'model' as const } : null;
    const duty = Math.min(1, Math.max(0, this.o.duty()));
    const best = rates && speed ? bestEarning(calibrate(earningsPerHour(rates, speed), this.worked(now))) : null;
    // At the duty cycle work runs at now: a GPU resting half the time earns half.
    const perHour = best ? (best.perHour * BigInt(Math.round(duty * 1000))) / 1000n : null;
    const decimals = rates?.token.decimals ?? this.o.store.hubs.token(settings.hubUrl).decimals;
    const value = tokenValueOf(settings, rates);
    const power = this.lastWorking ?? this.o.power.expected(duty, null);
    const price = priceNow(settings, now);
    // From the ledger's sums by hour and day (store/rollups.ts): rejected entries are worth nothing.
    const day = o.withLast24h === false ? null : this.o.store.ledger.sumsBetween(now.getTime() - 24 * 3600_000, now.getTime() + 1);
    const last24h = day === null ? 0n : day.pending.amount + day.verified.amount + day.paid.amount;
    const noEstimate = !rates ? 'The hub’s rates are not known yet.' : !speed ? 'This GPU has not been measured yet (a few seconds, once work may start).' : null;
    return {
      speed,
      estimate:
        best && perHour !== null
          ? { perHour: perHour.toString(), kind: best.kind, inDemand: best.inDemand, from: best.tasks > 0 ? ('tasks' as const) : speed!.basis === 'model' ? ('model' as const) : ('benchmark' as const), tasks: best.tasks }
          : null,
      noEstimate,
      last24h: last24h.toString(),
      token: rates?.token ?? this.o.store.hubs.token(settings.hubUrl),
      tokenValue: value,
      power: { milliwatts: power.milliwatts, source: power.source, basis: power.basis ?? null },
      currency: settings.electricity.currency,
      pricePerKwh: price,
      valuePerHour: perHour !== null && value ? valueOf(perHour, decimals, value.perToken).toString() : null,
      costPerHour: price !== null ? costPerHour(power.milliwatts, price).toString() : null,
      unprofitable: unprofitable({ earnPerHour: perHour, decimals, value, milliwatts: power.milliwatts, pricePerKwh: price }),
    };
  }
}
