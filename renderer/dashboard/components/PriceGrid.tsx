/**
 * Electricity prices by hour of the week, on the schedule's grid: 7 days × 24 hours, each with a
 * price per kWh. Type a price in the brush box, then click or drag over hours to give them that
 * price; by keyboard, the arrow keys move through the grid and Space sets an hour. Cheaper hours
 * are lighter (three shades, from the week's lowest price to its highest).
 */
import { useId, useState } from 'react';
import { formatMoney, parseMoney } from '../money.js';
import { clockHour, DAYS, HourGrid } from './HourGrid.js';

type Grid = number[][];

export const flatGrid = (micro: number): Grid => DAYS.map(() => Array.from({ length: 24 }, () => micro));

export function PriceGrid({ value, onChange, currency, disabled = false }: { value: Grid; onChange: (next: Grid) => void; currency: string; disabled?: boolean }) {
  const [brushText, setBrushText] = useState('');
  const brushId = useId();
  const brush = parseMoney(brushText);
  const usable = typeof brush === 'number';

  const all = value.flat();
  const low = Math.min(...all);
  const high = Math.max(...all);
  const shade = (p: number): string => (high === low ? 'slot-balanced' : p <= low + (high - low) / 3 ? 'slot-quiet' : p >= high - (high - low) / 3 ? 'slot-max' : 'slot-balanced');
  return (
    <div className="schedule price-grid">
      <div className="field">
        <label className="field-label" htmlFor={brushId}>
          Price to paint hours with ({currency} per kWh)
        </label>
        <input id={brushId} inputMode="decimal" value={brushText} disabled={disabled} placeholder="0.40" onChange={(e) => setBrushText(e.target.value)} aria-invalid={brushText !== '' && !usable} />
        <span className="field-hint">{brushText !== '' && !usable ? 'Enter a price like 0.40 (up to six decimals).' : 'Then click or drag over the hours that cost this.'}</span>
      </div>
      <HourGrid
        value={value}
        onChange={onChange}
        empty={0}
        stroke={() => (usable ? brush : null)}
        label={`Electricity prices by hour: from ${formatMoney(low, currency)} to ${formatMoney(high, currency)} a kWh`}
        disabled={disabled}
        cell={(price, day, h) => ({
          className: `schedule-cell is-on ${shade(price)}`,
          label: `${day} ${clockHour(h)}: ${formatMoney(price, currency)} a kWh`,
          title: `${day} ${clockHour(h)}–${clockHour((h + 1) % 24)}: ${formatMoney(price, currency)} a kWh`,
        })}
      />
    </div>
  );
}
