/**
 * The device's weekly score (kernels/benchmark: matmul GFLOP/s, hashsearch MH/s, render
 * GFLOP/s), sent in heartbeats. Measured (≤ 3 s) the first time work is allowed, kept in the store
 * a week per adapter, and read from there while it is fresh (a score stored before the benchmark
 * measured render is measured again: the hub sizes render tasks from it).
 */
import type { ComputeHost } from '../compute/compute-host.js';
import type { WorkerStore } from '../store/index.js';
import { LINE } from './words.js';

export interface GpuScore {
  gflops: number;
  mhs: number;
  /** Absent from a host that does not measure render. */
  renderGflops?: number;
}

export interface WeeklyGpuScoreOptions {
  host: ComputeHost;
  store: WorkerStore;
  /** Called just before a measurement starts (the engine shows it). */
  onMeasuring: () => void;
  log: (line: string) => void;
}

/** A stored score is used for this long, then measured again. */
const SCORE_KEPT_MS = 7 * 24 * 3600_000;

export class WeeklyGpuScore {
  private score: GpuScore | null = null;
  private settled = false;

  constructor(private readonly o: WeeklyGpuScoreOptions) {}

  /** The score to report; null before it is read or measured, or when it could not be. */
  get current(): GpuScore | null {
    return this.score;
  }

  /**
   * Reads a fresh stored score, else measures the device when `allowed()` (once per run, whether
   * or not the measurement succeeds). Returns true when it measured.
   */
  async settle(allowed: () => boolean): Promise<boolean> {
    if (this.settled) return false;
    const { host } = this.o;
    const adapter = host.adapter;
    const key = `${adapter.vendor}|${adapter.device}|${adapter.description}`;
    const saved = this.o.store.settings.score(key);
    if (saved && Date.now() - Date.parse(saved.at) < SCORE_KEPT_MS && (saved.renderGflops !== undefined || !host.benchmark)) {
      this.score = scoreOf(saved);
      this.settled = true;
      return false;
    }
    if (!host.benchmark) {
      this.settled = true; // a host that cannot measure never will
      return false;
    }
    if (!allowed()) return false;
    this.settled = true;
    this.o.onMeasuring();
    try {
      const s = await host.benchmark();
      this.score = scoreOf(s);
      this.o.store.settings.setScore(key, this.score);
      this.o.log(LINE.score(s));
    } catch (error) {
      this.o.log(LINE.scoreFailed(error));
    }
    return true;
  }
}

/** The figures a heartbeat carries, from a measurement or a stored score. */
const scoreOf = (s: GpuScore): GpuScore => ({ gflops: s.gflops, mhs: s.mhs, ...(s.renderGflops !== undefined ? { renderGflops: s.renderGflops } : {}) });
