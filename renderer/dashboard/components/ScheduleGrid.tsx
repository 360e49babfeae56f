/**
 * The weekly schedule: 7 days × 24 hours, each Off or a thermal preset (Max, Balanced, Quiet,
 * Custom). Pick a brush above the grid, then click or drag to paint hours with it (clicking an
 * hour that already has the brush's preset turns it off); by keyboard, the arrow keys move
 * through the grid (one tab stop) and Space paints an hour. Each preset has its colour, named in
 * the legend.
 */
import { useId, useRef, useState, type KeyboardEvent } from 'react';
import { BUILTIN_PRESETS, type Slot, type WeekGrid } from '../../../protocol/settings.js';

export const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const hh = (h: number): string => `${String(h).padStart(2, '0')}:00`;

/** The words for each slot, in the brush's order. */
export const SLOT_WORDS: Record<Slot, string> = { off: 'Off', max: 'Max', balanced: 'Balanced', quiet: 'Quiet', custom: 'Custom' };
const BRUSHES: readonly Slot[] = ['off', 'max', 'balanced', 'quiet', 'custom'];

const fill = (f: (day: number, hour: number) => boolean, slot: Slot): WeekGrid =>
  DAYS.map((_, d) => Array.from({ length: 24 }, (_, h): Slot => (f(d, h) ? slot : 'off')));

/** Shortcuts that fill the grid: the chosen hours with the brush's preset, the others Off. */
export const PRESETS: Array<{ label: string; grid: (brush: Slot) => WeekGrid }> = [
  { label: 'Every hour', grid: (b) => fill(() => true, b) },
  { label: 'Nights (22:00–08:00)', grid: (b) => fill((_, h) => h >= 22 || h < 8, b) },
  { label: 'Work hours (09:00–17:00 weekdays)', grid: (b) => fill((d, h) => d < 5 && h >= 9 && h < 17, b) },
  { label: 'Clear', grid: () => fill(() => false, 'off') },
];

/** What a preset means, for the legend and the hour's tooltip. */
export function presetWords(slot: Slot, custom: { targetC: string; capPercent: number }): string {
  if (slot === 'off') return 'no work';
  if (slot === 'custom') return `hold ${custom.targetC || '…'} °C, up to ${custom.capPercent} % of the time`;
  const p = BUILTIN_PRESETS[slot];
  return `hold ${p.targetC} °C, up to ${p.dutyCapPercent} % of the time${p.fanCapPercent !== undefined ? `, fans ≤ ${p.fanCapPercent} %` : ''}`;
}

export function ScheduleGrid({
  value,
  onChange,
  disabled = false,
  custom,
}: {
  value: WeekGrid;
  onChange: (next: WeekGrid) => void;
  disabled?: boolean;
  /** The Custom preset's target and cap as being edited, for the legend. */
  custom: { targetC: string; capPercent: number };
}) {
  const [focus, setFocus] = useState({ d: 0, h: 0 });
  const [brush, setBrush] = useState<Slot>('custom');
  const brushName = useId();
  const paint = useRef<Slot | null>(null);
  const cells = useRef(new Map<string, HTMLButtonElement>());

  // The grid as last changed: several cells may be painted between two renders while dragging.
  const latest = useRef(value);
  latest.current = value;
  const set = (d: number, h: number, slot: Slot): void => {
    const grid = latest.current;
    if (grid[d]?.[h] === slot) return;
    latest.current = grid.map((row, i) => (i === d ? row.map((c, j) => (j === h ? slot : c)) : row));
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

  /** The brush's preset, or Off where the hour already has it (a click toggles). */
  const stroke = (current: Slot): Slot => (current === brush && brush !== 'off' ? 'off' : brush);
  const allowed = value.flat().filter((slot) => slot !== 'off').length;
  return (
    <div className="schedule">
      <div className="schedule-brushes" role="radiogroup" aria-label="Paint hours with">
        {BRUSHES.map((b) => (
          <label key={b} className={`brush slot-${b}${b === brush ? ' is-active' : ''}`} title={presetWords(b, custom)}>
            <input type="radio" name={brushName} className="sr-only" checked={b === brush} disabled={disabled} onChange={() => setBrush(b)} />
            <span className="swatch" aria-hidden="true" />
            <span>{SLOT_WORDS[b]}</span>
          </label>
        ))}
      </div>
      <div className="schedule-presets" role="group" aria-label="Schedule presets">
        {PRESETS.map((p) => (
          <button key={p.label} type="button" className="chip" disabled={disabled} onClick={() => onChange(p.grid(brush === 'off' ? 'custom' : brush))}>
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
              const slot = value[d]?.[h] ?? 'off';
              const on = slot !== 'off';
              return (
                <button
                  key={h}
                  type="button"
                  ref={(el) => {
                    if (el) cells.current.set(`${d}:${h}`, el);
                  }}
                  className={`schedule-cell slot-${slot}${on ? ' is-on' : ''}`}
                  aria-pressed={on}
                  aria-label={`${day} ${hh(h)}`}
                  aria-description={SLOT_WORDS[slot]}
                  title={`${day} ${hh(h)}–${hh((h + 1) % 24)}: ${SLOT_WORDS[slot]} (${presetWords(slot, custom)})`}
                  tabIndex={focus.d === d && focus.h === h ? 0 : -1}
                  disabled={disabled}
                  onKeyDown={(e) => onKey(e, d, h)}
                  onFocus={() => setFocus({ d, h })}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    paint.current = stroke(slot);
                    set(d, h, paint.current);
                  }}
                  onMouseEnter={() => {
                    if (paint.current !== null) set(d, h, paint.current);
                  }}
                  onClick={(e) => {
                    // Mouse clicks were handled on mousedown; this is Space or Enter.
                    if (e.detail === 0) set(d, h, stroke(slot));
                  }}
                />
              );
            })}
          </div>
        ))}
      </div>
      <ul className="schedule-legend" aria-label="Presets">
        {BRUSHES.map((b) => (
          <li key={b} className={`slot-${b}`}>
            <span className="swatch" aria-hidden="true" />
            <strong>{SLOT_WORDS[b]}</strong> {presetWords(b, custom)}
          </li>
        ))}
      </ul>
    </div>
  );
}
