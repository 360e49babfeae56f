/**
 * The weekly schedule: 7 days × 24 hours, each Off or a thermal preset (Max, Balanced, Quiet,
 * Custom). Pick a brush above the grid, then click or drag to paint hours with it (clicking an
 * hour that already has the brush's preset turns it off); by keyboard, the arrow keys move
 * through the grid (one tab stop) and Space paints an hour. Each preset has its colour, named in
 * the legend.
 */
import { useId, useState } from 'react';
import { BUILTIN_PRESETS, type Slot, type WeekGrid } from '../../../protocol/settings.js';
import { clockHour, DAYS, HourGrid } from './HourGrid.js';

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
  const [brush, setBrush] = useState<Slot>('custom');
  const brushName = useId();

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
      <HourGrid
        value={value}
        onChange={onChange}
        empty="off"
        stroke={stroke}
        label={`Weekly schedule: work allowed in ${allowed} of 168 hours`}
        disabled={disabled}
        cell={(slot, day, h) => {
          const on = slot !== 'off';
          return {
            className: `schedule-cell slot-${slot}${on ? ' is-on' : ''}`,
            pressed: on,
            label: `${day} ${clockHour(h)}`,
            description: SLOT_WORDS[slot],
            title: `${day} ${clockHour(h)}–${clockHour((h + 1) % 24)}: ${SLOT_WORDS[slot]} (${presetWords(slot, custom)})`,
          };
        }}
      />
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
