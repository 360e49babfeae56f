/** GPU temperature against its limit: a half-circle gauge with the limit marked. */
const MIN = 30;
const MAX = 100;
const R = 70;
const CX = 90;
const CY = 86;

/** The point on the arc for a temperature (left = MIN, right = MAX). */
function at(t: number, r = R): { x: number; y: number } {
  const f = (Math.min(MAX, Math.max(MIN, t)) - MIN) / (MAX - MIN);
  const angle = Math.PI * (1 - f);
  return { x: CX + r * Math.cos(angle), y: CY - r * Math.sin(angle) };
}

const arc = (from: number, to: number): string => {
  const a = at(from);
  const b = at(to);
  return `M ${a.x.toFixed(2)} ${a.y.toFixed(2)} A ${R} ${R} 0 0 1 ${b.x.toFixed(2)} ${b.y.toFixed(2)}`;
};

export function tempTone(t: number | null, limit: number): 'cool' | 'warm' | 'hot' | 'unknown' {
  if (t === null) return 'unknown';
  if (t >= limit) return 'hot';
  return t >= limit - 8 ? 'warm' : 'cool';
}

export function TempGauge({ temperatureC, limitC }: { temperatureC: number | null; limitC: number }) {
  const tone = tempTone(temperatureC, limitC);
  const limitIn = at(limitC, R - 12);
  const limitOut = at(limitC, R + 10);
  const label =
    temperatureC === null
      ? `GPU temperature cannot be read on this machine; limit ${limitC} °C`
      : `GPU at ${Math.round(temperatureC)} °C, limit ${limitC} °C`;
  return (
    <div className={`gauge gauge-${tone}`}>
      <svg viewBox="0 0 180 100" width="100%" role="img" aria-label={label}>
        <path d={arc(MIN, MAX)} className="gauge-track" fill="none" strokeWidth="12" strokeLinecap="round" />
        {temperatureC !== null ? <path d={arc(MIN, Math.max(MIN + 0.5, temperatureC))} className="gauge-value" fill="none" strokeWidth="12" strokeLinecap="round" /> : null}
        <line x1={limitIn.x} y1={limitIn.y} x2={limitOut.x} y2={limitOut.y} className="gauge-limit" strokeWidth="3" strokeLinecap="round" />
        <text x={CX} y={CY - 12} textAnchor="middle" className="gauge-number">
          {temperatureC === null ? '—' : `${Math.round(temperatureC)}°`}
        </text>
        <text x={CX} y={CY + 8} textAnchor="middle" className="gauge-caption">
          {`limit ${limitC} °C`}
        </text>
      </svg>
      {temperatureC === null ? <p className="muted small">This machine does not report its GPU temperature.</p> : null}
    </div>
  );
}
