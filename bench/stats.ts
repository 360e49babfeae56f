/** Small statistics for the bench commands' figures. */

/** The q-quantile (0 ≤ q ≤ 1) of values sorted ascending, by the nearest rank below; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The q-quantile of values in any order. */
export const quantileOf = (values: readonly number[], q: number): number => quantile([...values].sort((a, b) => a - b), q);

/** A figure rounded for printing. */
export const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
