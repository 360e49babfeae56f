/**
 * Earnings by hour, day or week for the dashboard's chart: exact sums (bigint) in buckets that
 * start on the viewer's local hour, midnight, or Monday midnight.
 */
import type { SeriesBucket } from '../../protocol/index.js';
import type { StatusSums } from '../store/rollups.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SIZE: Record<SeriesBucket, number> = { hour: HOUR, day: DAY, week: 7 * DAY };

/** Buckets shown when the dashboard does not say: a day of hours, two weeks of days, a quarter of weeks. */
export const DEFAULT_SERIES_COUNT: Record<SeriesBucket, number> = { hour: 24, day: 14, week: 12 };

/** The start (UTC ms) of the bucket holding `t`, for a viewer `offsetMs` east of UTC. */
export function bucketStart(t: number, bucket: SeriesBucket, offsetMs: number): number {
  const local = t + offsetMs;
  if (bucket === 'hour') return Math.floor(local / HOUR) * HOUR - offsetMs;
  const day = Math.floor(local / DAY) * DAY;
  if (bucket === 'day') return day - offsetMs;
  const mondayFirst = (new Date(day).getUTCDay() + 6) % 7;
  return day - mondayFirst * DAY - offsetMs;
}

export interface SeriesInput {
  bucket: SeriesBucket;
  count: number;
  now: Date;
  /** The viewer's offset from UTC in minutes, east positive. */
  utcOffsetMinutes: number;
}

/** The first instant the series covers (entries before it are not needed). */
export function seriesStart(q: SeriesInput): Date {
  const last = bucketStart(q.now.getTime(), q.bucket, q.utcOffsetMinutes * 60_000);
  return new Date(last - (q.count - 1) * SIZE[q.bucket]);
}

/** The end (exclusive, UTC ms) of the bucket that starts at `start`: a fixed size in a fixed offset. */
const bucketEnd = (start: number, bucket: SeriesBucket): number => start + SIZE[bucket];

/**
 * The series from the store's sums by hour and day (store/rollups.ts): each bucket one range of
 * sums, so a year of entries costs what a day of them does. Rejected entries are worth nothing
 * and are not counted as tasks, as in `earningsSeries`.
 */
export function seriesFromSums(
  sumsBetween: (fromMs: number, toMs: number) => StatusSums,
  q: SeriesInput,
): Array<{ start: string; amount: string; tasks: number }> {
  const first = seriesStart(q).getTime();
  return Array.from({ length: q.count }, (_, i) => {
    const start = first + i * SIZE[q.bucket];
    const s = sumsBetween(start, bucketEnd(start, q.bucket));
    return {
      start: new Date(start).toISOString(),
      amount: (s.pending.amount + s.verified.amount + s.paid.amount).toString(),
      tasks: s.pending.entries + s.verified.entries + s.paid.entries,
    };
  });
}

/** The same series from the entries themselves (the reference the sums are checked against). */
export function earningsSeries(
  entries: Iterable<{ createdAt: string; amount: string }>,
  q: SeriesInput,
): Array<{ start: string; amount: string; tasks: number }> {
  const offsetMs = q.utcOffsetMinutes * 60_000;
  const first = seriesStart(q).getTime();
  const size = SIZE[q.bucket];
  const sums = Array.from({ length: q.count }, () => ({ amount: 0n, tasks: 0 }));
  for (const e of entries) {
    const t = Date.parse(e.createdAt);
    if (!Number.isFinite(t) || t < first) continue;
    // Week and day sizes are exact multiples in a fixed offset, so the index is a plain division.
    const i = Math.round((bucketStart(t, q.bucket, offsetMs) - first) / size);
    const slot = sums[i];
    if (!slot) continue;
    slot.amount += BigInt(e.amount);
    slot.tasks += 1;
  }
  return sums.map((s, i) => ({ start: new Date(first + i * size).toISOString(), amount: s.amount.toString(), tasks: s.tasks }));
}
