/**
 * The hours of a week as a grid, 7 days × 24 hours, painted by pointer or keyboard: press on an
 * hour and drag over others to give them what the press chose; by keyboard, the arrow keys move
 * through the grid (one tab stop; Home and End go to the day's first and last hour) and Space or
 * Enter paints an hour. What an hour holds, what a press paints and how an hour looks and reads
 * are the caller's: ScheduleGrid (thermal presets) and PriceGrid (prices per kWh) use it.
 */
import { useRef, useState, type KeyboardEvent } from 'react';

export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/** An hour as a clock reads it: 7 → "07:00". */
export const clockHour = (h: number): string => `${String(h).padStart(2, '0')}:00`;

/** How one hour's button looks and reads. */
export interface HourCell {
  className: string;
  /** Its accessible name. */
  label: string;
  title: string;
  /** aria-pressed, where an hour is on or off. */
  pressed?: boolean;
  /** aria-description. */
  description?: string;
}

export function HourGrid<T extends string | number>({
  value,
  onChange,
  empty,
  stroke,
  cell,
  label,
  disabled = false,
}: {
  /** By day (Monday first), then hour. */
  value: T[][];
  onChange: (next: T[][]) => void;
  /** What an hour missing from `value` holds. */
  empty: T;
  /** What a press on an hour holding `current` paints (and a drag from it, over the hours it enters); null: nothing. */
  stroke: (current: T) => T | null;
  /** An hour's look and words; `day` is its day's name. */
  cell: (current: T, day: string, hour: number) => HourCell;
  /** The grid's accessible name. */
  label: string;
  disabled?: boolean;
}) {
  const [focus, setFocus] = useState({ d: 0, h: 0 });
  const paint = useRef<T | null>(null);
  const cells = useRef(new Map<string, HTMLButtonElement>());

  // The grid as last changed: several cells may be painted between two renders while dragging.
  const latest = useRef(value);
  latest.current = value;
  const set = (d: number, h: number, next: T | null): void => {
    if (next === null) return;
    const grid = latest.current;
    if (grid[d]?.[h] === next) return;
    latest.current = grid.map((row, i) => (i === d ? row.map((c, j) => (j === h ? next : c)) : row));
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

  return (
    <div
      className={`schedule-grid${disabled ? ' is-disabled' : ''}`}
      role="group"
      aria-label={label}
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
            const current = value[d]?.[h] ?? empty;
            const look = cell(current, day, h);
            return (
              <button
                key={h}
                type="button"
                ref={(el) => {
                  if (el) cells.current.set(`${d}:${h}`, el);
                }}
                className={look.className}
                aria-pressed={look.pressed}
                aria-label={look.label}
                aria-description={look.description}
                title={look.title}
                tabIndex={focus.d === d && focus.h === h ? 0 : -1}
                disabled={disabled}
                onKeyDown={(e) => onKey(e, d, h)}
                onFocus={() => setFocus({ d, h })}
                onMouseDown={(e) => {
                  e.preventDefault();
                  paint.current = stroke(current);
                  set(d, h, paint.current);
                }}
                onMouseEnter={() => set(d, h, paint.current)}
                onClick={(e) => {
                  // Mouse clicks were handled on mousedown; this is Space or Enter.
                  if (e.detail === 0) set(d, h, stroke(current));
                }}
              />
            );
          })}
        </div>
      ))}
    </div>
  );
}
