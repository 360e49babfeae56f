/**
 * Electricity prices by hour of the week, on the schedule's grid: 7 days × 24 hours, each with a
 * price per kWh. Type a price in the brush box, then click or drag over hours to give them that
 * price; by keyboard, the arrow keys move through the grid and Space sets an hour. Cheaper hours
 * are lighter (three shades, from the week's lowest price to its highest).
 */
import { useId, useRef, useState, type KeyboardEvent } from 'react';
import { formatMoney, parseMoney } from '../money.js';
import { DAYS } from './ScheduleGrid.js';

const hh = (h: number): string => `${String(h).padStart(2, '0')}:00`;
type Grid = number[][];

export const flatGrid = (micro: number): Grid => DAYS.map(() => Array.from({ length: 24 }, () => micro));

export function PriceGrid({ value, onChange, currency, disabled = false }: { value: Grid; onChange: (next: Grid) => void; currency: string; disabled?: boolean }) {
  const [brushText, setBrushText] = useState('');
  const [focus, setFocus] = useState({ d: 0, h: 0 });
  const brushId = useId();
  const painting = useRef(false);
  const cells = useRef(new Map<string, HTMLButtonElement>());
  const latest = useRef(value);
  latest.current = value;
  const brush = parseMoney(brushText);
  const usable = typeof brush === 'number';

  const set = (d: number, h: number): void => {
    if (!usable) return;
    const grid = latest.current;
    if (grid[d]?.[h] === brush) return;
    latest.current = grid.map((row, i) => (i === d ? row.map((c, j) => (j === h ? brush : c)) : row));
    onChange(latest.current);
  };
  const move = (d: number, h: number): void => {
    const next = { d: (d + 7) % 7, h: (h + 24) % 24 };
    setFocus(next);
    cells.current.get(`${next.d}:${next.h}`)?.focus();
  };
  const onKey = (e: KeyboardEvent, d: number, h: number): void => {
    const moves: Record<string, [number, number]> = { ArrowUp: [d - 1, h], ArrowDown: [d + 1, h], ArrowLeft: [d, h - 1], ArrowRight: [d, h + 1], Home: [d, 0], End: [d, 23] };
    const to = moves[e.key];
    if (to) {
      e.preventDefault();
      move(to[0], to[1]);
    }
  };
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
      <div
        className={`schedule-grid${disabled ? ' is-disabled' : ''}`}
        role="group"
        aria-label={`Electricity prices by hour: from ${formatMoney(low, currency)} to ${formatMoney(high, currency)} a kWh`}
        onMouseLeave={() => (painting.current = false)}
        onMouseUp={() => (painting.current = false)}
      >
        <span />
        {Array.from({ length: 24 }, (_, h) => (
          <span key={h} className="schedule-hour" aria-hidden="true">
            {h % 3 === 0 ? h : ''}
          </span>
        ))}
        {DAYS.map((day, d) => (
          <div key={day} className="schedule-row" role="presentation">
            <span className="schedule-day" aria-hidden="true">
              {day.slice(0, 3)}
            </span>
            {Array.from({ length: 24 }, (_, h) => {
              const price = value[d]?.[h] ?? 0;
              return (
                <button
                  key={h}
                  type="button"
                  ref={(el) => {
                    if (el) cells.current.set(`${d}:${h}`, el);
                  }}
                  className={`schedule-cell is-on ${shade(price)}`}
                  aria-label={`${day} ${hh(h)}: ${formatMoney(price, currency)} a kWh`}
                  title={`${day} ${hh(h)}–${hh((h + 1) % 24)}: ${formatMoney(price, currency)} a kWh`}
                  tabIndex={focus.d === d && focus.h === h ? 0 : -1}
                  disabled={disabled}
                  onKeyDown={(e) => onKey(e, d, h)}
                  onFocus={() => setFocus({ d, h })}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    painting.current = true;
                    set(d, h);
                  }}
                  onMouseEnter={() => {
                    if (painting.current) set(d, h);
                  }}
                  onClick={(e) => {
                    if (e.detail === 0) set(d, h);
                  }}
                />
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}
