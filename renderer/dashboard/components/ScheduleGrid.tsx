/**
 * The weekly schedule: 7 days × 24 hours. Click or drag to paint hours on or off; by keyboard,
 * the arrow keys move through the grid (one tab stop) and Space toggles an hour.
 */
import { useRef, useState, type KeyboardEvent } from 'react';
import type { WeekGrid } from '../../../protocol/settings.js';

export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const hh = (h: number): string => `${String(h).padStart(2, '0')}:00`;

const fill = (f: (day: number, hour: number) => boolean): WeekGrid => DAYS.map((_, d) => Array.from({ length: 24 }, (_, h) => f(d, h)));

export const PRESETS: Array<{ label: string; grid: () => WeekGrid }> = [
  { label: 'Every hour', grid: () => fill(() => true) },
  { label: 'Nights (22:00–08:00)', grid: () => fill((_, h) => h >= 22 || h < 8) },
  { label: 'Work hours (09:00–17:00 weekdays)', grid: () => fill((d, h) => d < 5 && h >= 9 && h < 17) },
  { label: 'Clear', grid: () => fill(() => false) },
];

export function ScheduleGrid({ value, onChange, disabled = false }: { value: WeekGrid; onChange: (next: WeekGrid) => void; disabled?: boolean }) {
  const [focus, setFocus] = useState({ d: 0, h: 0 });
  const paint = useRef<boolean | null>(null);
  const cells = useRef(new Map<string, HTMLButtonElement>());

  // The grid as last changed: several cells may be painted between two renders while dragging.
  const latest = useRef(value);
  latest.current = value;
  const set = (d: number, h: number, on: boolean): void => {
    const grid = latest.current;
    if (grid[d]?.[h] === on) return;
    latest.current = grid.map((row, i) => (i === d ? row.map((c, j) => (j === h ? on : c)) : row));
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

  const allowed = value.flat().filter(Boolean).length;
  return (
    <div className="schedule">
      <div className="schedule-presets" role="group" aria-label="Schedule presets">
        {PRESETS.map((p) => (
          <button key={p.label} type="button" className="chip" disabled={disabled} onClick={() => onChange(p.grid())}>
            {p.label}
          </button>
        ))}
      </div>
      <div
        className={`schedule-grid${disabled ? ' is-disabled' : ''}`}
        role="group"
        aria-label={`Weekly schedule: work allowed in ${allowed} of 168 hours`}
        onMouseLeave={() => (paint.current = null)}
        onMouseUp={() => (paint.current = null)}
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
              const on = value[d]?.[h] ?? false;
              return (
                <button
                  key={h}
                  type="button"
                  ref={(el) => {
                    if (el) cells.current.set(`${d}:${h}`, el);
                  }}
                  className={`schedule-cell${on ? ' is-on' : ''}`}
                  aria-pressed={on}
                  aria-label={`${day} ${hh(h)}`}
                  title={`${day} ${hh(h)}–${hh((h + 1) % 24)}: ${on ? 'work allowed' : 'no work'}`}
                  tabIndex={focus.d === d && focus.h === h ? 0 : -1}
                  disabled={disabled}
                  onKeyDown={(e) => onKey(e, d, h)}
                  onFocus={() => setFocus({ d, h })}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    paint.current = !on;
                    set(d, h, !on);
                  }}
                  onMouseEnter={() => {
                    if (paint.current !== null) set(d, h, paint.current);
                  }}
                  onClick={(e) => {
                    // Mouse clicks were handled on mousedown; this is Space or Enter.
                    if (e.detail === 0) set(d, h, !on);
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
