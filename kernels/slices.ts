/**
 * How much work one GPU submission holds, and how slices are fed to the GPU. A kernel cuts a task
 * into slices, so that a pause takes effect within two slices and no OS GPU watchdog (2 s on
 * Windows) fires. The size of a slice comes from the device's measured speed: the first slice of
 * a kind on a device is small, each finished slice updates the device's rate (units per ms, kept
 * on its KernelDevice), and
 * the next slice aims at `targetMs`, growing at most GROWTH-fold per slice. Tests pass a fixed
 * budget instead. `runSlices` keeps one slice queued behind the one running.
 */
import type { KernelDevice } from './device.js';
import { now, throwIfAborted } from './gpu.js';
import { sleep } from './sleep.js';

/** Target duration of one slice, ms: well under the 100 ms pause latency the design asks for. */
export const SLICE_TARGET_MS = 50;
/**
 * Share of a slice's expected duration that `runSlices` sleeps through before it asks the queue
 * (Dawn for Node polls, on the main thread, for as long as that question is open: measured about
 * 45% of a core beside SwiftShader, which would be a whole core beside a real GPU).
 */
export const QUIET_WAIT_SHARE = 0.6;
/** Largest factor by which a slice may outgrow the one before it. */
export const GROWTH = 4;
/** Per slice, the fastest rate seen forgets this share of itself (down to the latest sample). */
const FASTEST_DECAY = 0.9;

/** The measured speed of `kind` on the device in work units per ms, if any slice was timed yet. */
export function measuredRate(gpu: KernelDevice, kind: string): number | undefined {
  return gpu.rates.get(kind)?.perMs;
}

/** Records that `units` of `kind` took `ms` on the device. */
export function recordRate(gpu: KernelDevice, kind: string, units: number, ms: number): void {
  if (!(units > 0) || !(ms > 0)) return;
  const forDevice = gpu.rates;
  const sample = units / ms;
  const known = forDevice.get(kind);
  // Short slices are dominated by fixed overheads and understate the speed (the safe side);
  // weigh each sample equally with the history so one outlier cannot swing the next slice far.
  forDevice.set(kind, {
    perMs: known ? 0.5 * known.perMs + 0.5 * sample : sample,
    fastestPerMs: known ? Math.max(sample, FASTEST_DECAY * known.fastestPerMs) : sample,
  });
}

export interface SliceOptions {
  /** A fixed number of units per slice (tests); no measuring. */
  fixed?: number;
  /** Target duration of a slice, ms. Default SLICE_TARGET_MS. */
  targetMs?: number;
  /** Units of the first slice when the device's speed is unknown. */
  initial: number;
  /** Smallest and largest slice the kernel can dispatch. */
  min: number;
  max: number;
}

/** Plans the slices of one run: ask `next()` for a size, report each finished slice to `done()`. */
export class SlicePlanner {
  private last = 0;

  constructor(
    private readonly gpu: KernelDevice,
    private readonly kind: string,
    private readonly options: SliceOptions,
  ) {}

  /** Units for the next slice, between min and max. */
  next(): number {
    const { fixed, min, max } = this.options;
    if (fixed !== undefined) return clamp(fixed, min, max);
    const rate = measuredRate(this.gpu, this.kind);
    const target = this.options.targetMs ?? SLICE_TARGET_MS;
    let units = rate === undefined ? this.options.initial : rate * target;
    if (this.last > 0) units = Math.min(units, this.last * GROWTH);
    else if (rate === undefined) units = this.options.initial;
    return clamp(Math.floor(units), min, max);
  }

  /**
   * The least time a slice of `units` can be expected to take (ms), from the fastest rate seen
   * lately; undefined while unknown or with a fixed budget.
   */
  leastMs(units: number): number | undefined {
    if (this.options.fixed !== undefined) return undefined;
    const rate = this.gpu.rates.get(this.kind)?.fastestPerMs;
    return rate === undefined || !(rate > 0) ? undefined : units / rate;
  }

  /** Reports that a slice of `units` took `ms`, and remembers its size for the growth cap. */
  done(units: number, ms: number): void {
    this.last = units;
    if (this.options.fixed === undefined) recordRate(this.gpu, this.kind, units, ms);
  }
}

const clamp = (x: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, x));

export interface SliceRun {
  /** Encodes and submits the next slice of about `units` (the planner's choice); resolves with the units submitted, 0 when none are left. */
  submit(units: number): Promise<number>;
  signal?: AbortSignal | undefined;
  /** Called as each slice finishes on the GPU, with its units. */
  onDone?: (units: number) => void;
}

/**
 * Runs a task's slices with the queue kept fed: while the GPU works on one slice, the next one is
 * already queued behind it, so the GPU never waits on the host between slices (a late timer or
 * poll on a busy host would otherwise leave it idle each time). At most two slices are queued, so
 * a stop (the signal, checked before each submission) ends the GPU's work within two slices, about
 * 2 × SLICE_TARGET_MS; it then rejects with KernelError ABORTED.
 *
 * Waiting for a slice: Dawn for Node answers onSubmittedWorkDone by polling on the event loop (a
 * busy main thread for as long as it waits), so the first QUIET_WAIT_SHARE of the least time the
 * slice can take is slept through on a timer (a stop cuts the sleep short), and only then is the
 * queue asked, just before the next slice is submitted, so that the answer is for this slice
 * alone. A slice's time, for the planner, runs from when the one before it finished (it was
 * queued) to when it finishes: the GPU's time.
 */
export async function runSlices(device: GPUDevice, planner: SlicePlanner, run: SliceRun): Promise<void> {
  throwIfAborted(run.signal);
  let current = await run.submit(planner.next());
  let started = now();
  while (current > 0) {
    const least = planner.leastMs(current);
    if (least !== undefined) {
      const quiet = least * QUIET_WAIT_SHARE - (now() - started);
      if (quiet >= 2) await sleep(quiet, run.signal);
    }
    const finished = device.queue.onSubmittedWorkDone();
    let next = 0;
    let nextSubmitted = 0;
    try {
      if (!run.signal?.aborted) {
        next = await run.submit(planner.next());
        nextSubmitted = now();
      }
    } catch (error) {
      await finished.catch(() => undefined);
      throw error;
    }
    await finished;
    const end = now();
    planner.done(current, end - started);
    run.onDone?.(current);
    current = next;
    started = Math.max(end, nextSubmitted);
  }
  throwIfAborted(run.signal);
}
