/**
 * Gross, electricity and net by day or week (the dashboard's Earnings, the CSV): the ledger's
 * earnings (bigint base units) and the energy rows (millijoules × micro-units a kWh) summed
 * exactly per bucket; the gross's worth at the token's value now; net = worth − electricity.
 */
import type { EnergyPoint } from '../../protocol/index.js';
import { bucketStart, seriesStart, type SeriesInput } from '../api/series.js';
import { sumEnergy, type EnergyRow } from '../store/energy.js';
import { valueOf, type TokenValue } from './estimate.js';

/** Millijoules in a watt-hour. */
const MJ_PER_WH = 3_600_000n;

export function energySeries(
  q: SeriesInput & { bucket: 'day' | 'week' },
  o: {
    energy: readonly EnergyRow[];
    /** The earnings by the same buckets (api/series.ts `seriesFromSums`: the ledger's sums by hour and day). */
    gross: ReadonlyArray<{ start: string; amount: string }>;
    currency: string;
    value: TokenValue | null;
    decimals: number;
  },
): EnergyPoint[] {
  const gross = o.gross;
  const offsetMs = q.utcOffsetMinutes * 60_000;
  const first = seriesStart(q).getTime();
  const byBucket = new Map<number, EnergyRow[]>();
  for (const r of o.energy) {
    const t = Date.parse(r.hour);
    if (t < first) continue;
    const start = bucketStart(t, q.bucket, offsetMs);
    byBucket.set(start, [...(byBucket.get(start) ?? []), r]);
  }
  return gross.map((g) => {
    const e = sumEnergy(byBucket.get(Date.parse(g.start)) ?? [], o.currency);
    const grossValue = o.value && o.value.currency === o.currency ? valueOf(BigInt(g.amount), o.decimals, o.value.perToken) : null;
    return {
      start: g.start,
      wh: Number((e.mj + MJ_PER_WH / 2n) / MJ_PER_WH),
      gross: g.amount,
      grossValue: grossValue?.toString() ?? null,
      electricity: e.mj === 0n ? '0' : (e.cost?.toString() ?? null),
      net: grossValue !== null && (e.cost !== null || e.mj === 0n) ? (grossValue - (e.cost ?? 0n)).toString() : null,
      estimated: e.estimated,
      unpriced: e.unpriced,
    };
  });
}
