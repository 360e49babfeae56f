/**
 * The governor keeps the latest readings of every source, decides with `decide()`, and tells the
 * engine at once when the answer changes: `workSignal()` aborts the moment work must stop.
 */
import type { Settings } from '../../protocol/settings.js';
import { decide, stillThere, type Decision, type PauseState, type Readings } from './conditions.js';
import type { ConditionSources } from './sources.js';

export interface GovernorOptions {
  sources: ConditionSources;
  settings: () => Settings;
  pause: () => PauseState;
  /** Ends a pause that waited for a program once it is gone (the store forgets it). */
  clearPause?: () => void;
  now?: () => Date;
  /** How often each source is read, in ms. */
  intervals?: Partial<Record<keyof typeof DEFAULT_INTERVALS, number>>;
}

/**
 * A fullscreen window is read every 250 ms (on X11 the answer `xprop -spy` last printed: free),
 * so it is noticed well within a second; other processes' GPU use every 750 ms (a walk over
 * /proc's DRM file descriptors), so a program that starts using the GPU is noticed within about
 * a second.
 */
const DEFAULT_INTERVALS = { idleWorking: 200, idleWaiting: 1000, programs: 3000, battery: 10_000, sensors: 3000, fullscreen: 250, gpuProcesses: 750 };

export class Governor {
  private readings: Readings;
  private current: Decision;
  private hot = false;
  private working = false;
  private utilization: number | null = null;
  private readonly listeners = new Set<(d: Decision) => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopAbort: AbortController | null = null;
  private readonly intervals: typeof DEFAULT_INTERVALS;
  private lastIdleRead = 0;

  constructor(private readonly o: GovernorOptions) {
    this.intervals = { ...DEFAULT_INTERVALS, ...o.intervals };
    this.readings = {
      now: this.now(),
      idleSeconds: null,
      onBattery: null,
      runningPrograms: null,
      temperatureC: null,
      fanPercent: null,
      otherGpuUsePercent: null,
      fullscreenApp: null,
      otherGpuProcesses: null,
    };
    this.current = this.evaluate();
  }

  get decision(): Decision {
    return this.current;
  }

  get latest(): Readonly<Readings> {
    return this.readings;
  }

  /** Reads every source once, then keeps reading each on its interval. */
  async start(): Promise<void> {
    await Promise.all([this.readIdle(), this.readPrograms(), this.readBattery(), this.readSensors(), this.readFullscreen(), this.readGpuProcesses()]);
    const every = (ms: number, fn: () => Promise<void>): void => {
      // A reading slower than its interval (a helper tool that hangs) is not started again on top of itself.
      let busy = false;
      const t = setInterval(() => {
        if (busy) return;
        busy = true;
        fn().then(
          () => (busy = false),
          () => (busy = false),
        );
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    // Idle time is polled fast while working (to stop within a fraction of a second of the
    // user's return) and slowly while waiting.
    every(this.intervals.idleWorking, async () => {
      if (this.working || Date.now() - this.lastIdleRead >= this.intervals.idleWaiting) await this.readIdle();
    });
    every(this.intervals.programs, () => this.readPrograms());
    every(this.intervals.battery, () => this.readBattery());
    every(this.intervals.sensors, () => this.readSensors());
    if (this.o.sources.fullscreenApp) every(this.intervals.fullscreen, () => this.readFullscreen());
    if (this.o.sources.gpuProcesses) every(this.intervals.gpuProcesses, () => this.readGpuProcesses());
    every(1000, async () => this.update({ now: this.now() }));
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  onChange(listener: (d: Decision) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-decides now (after a settings or pause change). */
  reevaluate(): void {
    this.update({ now: this.now() });
  }

  /** While working, the GPU's own load is ours, so "another program is busy" is not judged. */
  setWorking(working: boolean): void {
    this.working = working;
    this.update({ otherGpuUsePercent: working ? null : this.utilization });
  }

  /** An AbortSignal that fires as soon as work must stop (already fired if it must now). */
  workSignal(): AbortSignal {
    if (!this.stopAbort || this.stopAbort.signal.aborted) this.stopAbort = new AbortController();
    if (!this.current.allowed) this.stopAbort.abort(this.current.reason);
    return this.stopAbort.signal;
  }

  /** Resolves once work is allowed, or when `signal` aborts. */
  waitUntilAllowed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (this.current.allowed || signal?.aborted) return resolve();
      const done = (): void => {
        off();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const off = this.onChange((d) => {
        if (d.allowed) done();
      });
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Feeds readings in directly (push-style sources, tests, the pause benchmark). */
  update(partial: Partial<Readings>): void {
    this.readings = { ...this.readings, ...partial };
    const before = this.current;
    this.current = this.evaluate();
    this.hot = this.current.hot;
    if (!this.current.allowed) this.stopAbort?.abort(this.current.reason);
    if (changed(before, this.current)) for (const l of this.listeners) l(this.current);
  }

  private evaluate(): Decision {
    const readings = { ...this.readings, now: this.now() };
    let pause = this.o.pause();
    // "Pause until this game closes": once it is seen gone, the pause is over for good.
    if (pause.kind === 'until-gone' && !stillThere(pause.program, readings)) {
      this.o.clearPause?.();
      pause = { kind: 'none' };
    }
    return decide(this.o.settings(), pause, readings, this.hot);
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  private async readIdle(): Promise<void> {
    this.lastIdleRead = Date.now();
    this.update({ idleSeconds: await this.o.sources.idleSeconds() });
  }
  private async readPrograms(): Promise<void> {
    this.update({ runningPrograms: await this.o.sources.runningPrograms() });
  }
  private async readBattery(): Promise<void> {
    this.update({ onBattery: await this.o.sources.onBattery() });
  }
  private async readFullscreen(): Promise<void> {
    const read = this.o.sources.fullscreenApp;
    if (read) this.update({ fullscreenApp: await read.call(this.o.sources).catch(() => null) });
  }
  private async readGpuProcesses(): Promise<void> {
    const read = this.o.sources.gpuProcesses;
    if (read) this.update({ otherGpuProcesses: await read.call(this.o.sources).catch(() => null) });
  }
  private async readSensors(): Promise<void> {
    const s = await this.o.sources.gpuSensors();
    this.utilization = s.utilizationPercent;
    this.update({ temperatureC: s.temperatureC, fanPercent: s.fanPercent ?? null, otherGpuUsePercent: this.working ? null : s.utilizationPercent });
  }
}

function changed(a: Decision, b: Decision): boolean {
  if (a.allowed !== b.allowed) return true;
  if (!a.allowed && !b.allowed) return a.code !== b.code || a.reason !== b.reason;
  return a.allowed && b.allowed ? a.notes.join() !== b.notes.join() : false;
}
