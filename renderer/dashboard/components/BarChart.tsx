/**
 * Earnings per hour, day or week as bars: hand-made SVG (no chart library), heights as exact
 * ratios of bigint amounts. Each bar has a tooltip; a hidden table gives screen readers the same.
 */
import type { SeriesBucket } from '../../../protocol/engine-api.js';
import { formatAmount, formatDay, formatShortDate, formatTime, plural, ratio } from '../format.js';

export interface ChartPoint {
  start: string;
  amount: string;
  tasks: number;
}

const W = 720;
const H = 220;
const PAD = { top: 16, right: 12, bottom: 28, left: 64 };

export function bucketLabel(start: string, bucket: SeriesBucket): string {
  if (bucket === 'hour') return formatTime(start);
  if (bucket === 'day') return formatDay(start);
  return `Week of ${formatShortDate(start)}`;
}

function tickLabel(start: string, bucket: SeriesBucket): string {
  if (bucket === 'hour') return formatTime(start);
  return formatShortDate(start);
}

export function BarChart({ points, bucket, token }: { points: readonly ChartPoint[]; bucket: SeriesBucket; token: { symbol: string; decimals: number } }) {
  const amounts = points.map((p) => BigInt(p.amount));
  const max = amounts.reduce((m, a) => (a > m ? a : m), 0n);
  const total = amounts.reduce((s, a) => s + a, 0n);
  const tasks = points.reduce((s, p) => s + p.tasks, 0);
  const innerW = W - PAD.left - PAD.right;
  const innerH = H - PAD.top - PAD.bottom;
  const slot = innerW / Math.max(1, points.length);
  const barW = Math.max(2, slot * 0.68);
  const every = Math.ceil(points.length / (bucket === 'hour' ? 8 : 10));
  const best = points[amounts.findIndex((a) => a === max)];
  const summary =
    total === 0n
      ? `No earnings in the last ${plural(points.length, bucket)}.`
      : `${formatAmount(total, token.decimals)} ${token.symbol} from ${plural(tasks, 'task')} over the last ${plural(points.length, bucket)}; best ${bucket}: ${best ? bucketLabel(best.start, bucket) : ''}, ${formatAmount(max, token.decimals)} ${token.symbol}.`;

  return (
    <figure className="chart" aria-label={`Earnings by ${bucket}`}>
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={summary}>
        <defs>
          <linearGradient id="bar-fill" x1="0" y1="0" x2="0" y2="1">
            <stop offset="0" stopColor="#ffb547" />
            <stop offset="1" stopColor="#ff6a1a" />
          </linearGradient>
          <linearGradient id="bar-now" x1="0" y1="0" x2="0" y2="1">
            <stop offset="0" stopColor="#ffe08a" />
            <stop offset="1" stopColor="#ff9a3d" />
          </linearGradient>
        </defs>
        {(max === 0n ? [0] : [0, 0.5, 1]).map((f) => (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={PAD.top + innerH * (1 - f)} y2={PAD.top + innerH * (1 - f)} className="chart-grid" />
            <text x={PAD.left - 8} y={PAD.top + innerH * (1 - f) + 4} textAnchor="end" className="chart-axis">
              {f === 0 ? '0' : formatAmount((max * BigInt(f * 2)) / 2n, token.decimals)}
            </text>
          </g>
        ))}
        {points.map((p, i) => {
          const h = Math.max(p.tasks > 0 ? 2 : 0, innerH * ratio(amounts[i]!, max));
          const x = PAD.left + slot * i + (slot - barW) / 2;
          const current = i === points.length - 1;
          return (
            <g key={p.start} className="chart-bar">
              <rect x={PAD.left + slot * i} y={PAD.top} width={slot} height={innerH} fill="transparent">
                <title>{`${bucketLabel(p.start, bucket)}: ${formatAmount(p.amount, token.decimals)} ${token.symbol} from ${plural(p.tasks, 'task')}`}</title>
              </rect>
              {h > 0 ? <rect x={x} y={PAD.top + innerH - h} width={barW} height={h} rx={Math.min(4, barW / 2)} fill={current ? 'url(#bar-now)' : 'url(#bar-fill)'} pointerEvents="none" /> : null}
              {i % every === (points.length - 1) % every ? (
                <text x={PAD.left + slot * i + slot / 2} y={H - 8} textAnchor="middle" className="chart-axis">
                  {tickLabel(p.start, bucket)}
                </text>
              ) : null}
            </g>
          );
        })}
        {total === 0n ? (
          <text x={PAD.left + innerW / 2} y={PAD.top + innerH / 2} textAnchor="middle" className="chart-empty">
            Nothing earned in this period yet
          </text>
        ) : null}
      </svg>
      <table className="sr-only">
        <caption>{`Earnings by ${bucket}`}</caption>
        <thead>
          <tr>
            <th scope="col">{bucket}</th>
            <th scope="col">Earned ({token.symbol})</th>
            <th scope="col">Tasks</th>
          </tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.start}>
              <td>{bucketLabel(p.start, bucket)}</td>
              <td>{formatAmount(p.amount, token.decimals)}</td>
              <td>{p.tasks}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
