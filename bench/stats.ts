/** Small statistics for the bench commands' figures. */

/** The q-quantile (0 ≤ q ≤ 1) of values sorted ascending, by the nearest rank below; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The q-quantile of values in any order. */
export const quantileOf = (values: readonly number[], q: number): number => quantile([...values].sort((a, b) => a - b), q);

/** A figure rounded for printing. */
export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));

/**
 * The machine's speed now: milliseconds a fixed loop of integer arithmetic takes on one core.
 * A shared or throttled machine swings (this project's 2-core one: 415–700 ms from one minute to
 * the next); figures of two runs compare only where this is alike.
 */
export function loopMs(steps = 300_000_000): number {
  const t0 = performance.now();
  let x = 0;
  for (let i = 0; i < steps; i++) x += i % 7;
  const ms = performance.now() - t0;
  // The sum is used, so the loop is not optimised away.
  return x < 0 ? Number.NaN : round(ms, 0);
}
