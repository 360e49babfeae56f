/** The dashboard's icons: inline SVG paths (24×24, stroked), hidden from screen readers. */
const PATHS = {
  home: 'M3 11.5 12 4l9 7.5M5.5 10v10h13V10',
  chart: 'M4 20V10m5.3 10V4m5.4 16v-7m5.3 7V8',
  wallet: 'M4 7.5A2.5 2.5 0 0 1 6.5 5H19v4M4 7.5V17a2.5 2.5 0 0 0 2.5 2.5H20v-10H6.5A2.5 2.5 0 0 1 4 7.5Zm12.5 6.5h.01',
  gpu: 'M3 7h18v10H3zM7 17v3m5-3v3m5-3v3M7 4v3m10-3v3m-8 3h6v4H9z',
  settings: 'M12 15.2a3.2 3.2 0 1 0 0-6.4 3.2 3.2 0 0 0 0 6.4Zm7.4-3.2 1.6-1.2-1.6-2.8-1.9.6a7 7 0 0 0-1.6-.9L15.5 5h-3.2l-.4 2.5a7 7 0 0 0-1.6.9l-1.9-.6-1.6 2.8 1.6 1.2a7 7 0 0 0 0 1.8l-1.6 1.2 1.6 2.8 1.9-.6c.5.4 1 .7 1.6.9l.4 2.5h3.2l.4-2.5c.6-.2 1.1-.5 1.6-.9l1.9.6 1.6-2.8-1.6-1.2a7 7 0 0 0 0-1.8Z',
  help: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Zm-2.5-11.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6v.6m0 3.5h.01',
  pause: 'M8 5v14m8-14v14',
  play: 'M7 4.5v15l13-7.5z',
  moon: 'M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5Z',
  copy: 'M9 9h10v11H9zM5 15V4h10',
  check: 'm5 12.5 4.5 4.5L19 7.5',
  alert: 'M12 9v4.5m0 3.5h.01M10.3 4.2 2.6 18a2 2 0 0 0 1.7 3h15.4a2 2 0 0 0 1.7-3L13.7 4.2a2 2 0 0 0-3.4 0Z',
  x: 'm6 6 12 12M18 6 6 18',
  thermo: 'M14 14.8V5a2 2 0 1 0-4 0v9.8a4 4 0 1 0 4 0Z',
  download: 'M12 4v11m-5-5 5 5 5-5M5 20h14',
  bolt: 'M13 3 5 13.5h6L10.5 21 19 10h-6z',
  clock: 'M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18Zm0-13v4.5l3 2',
  plug: 'M9 3v5m6-5v5M6.5 8h11v3a5.5 5.5 0 0 1-11 0zM12 16.5V21',
  shield: 'M12 3 4.5 6v5.5c0 4.6 3.2 8.3 7.5 9.5 4.3-1.2 7.5-4.9 7.5-9.5V6z',
  key: 'M14.5 9.5a4.5 4.5 0 1 1-3.3-4.3M14.5 9.5 21 16v3h-3v-2h-2v-2h-2l-1.3-1.3',
  eye: 'M2.5 12S6 5.5 12 5.5 21.5 12 21.5 12 18 18.5 12 18.5 2.5 12 2.5 12Zm9.5 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6Z',
  gamepad: 'M7 9v4m-2-2h4m6.5-1h.01M17.5 12h.01M6.5 6h11a4 4 0 0 1 3.9 4.8l-1 5a2.5 2.5 0 0 1-4.4 1L14.5 15h-5L8 16.8a2.5 2.5 0 0 1-4.4-1l-1-5A4 4 0 0 1 6.5 6Z',
  battery: 'M3 8h15v8H3zm15 3h2.5v2H18M6 10.5v3',
  calendar: 'M4 6h16v14H4zm0 4h16M8 3.5V7m8-3.5V7',
  user: 'M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8Zm-7 8.5a7 7 0 0 1 14 0',
  cloud: 'M7 18.5a4.5 4.5 0 0 1-.6-9A6 6 0 0 1 18 9a4.5 4.5 0 0 1 0 9.5z',
  refresh: 'M20 11a8 8 0 0 0-14.6-4.5M4 4v3.5h3.5M4 13a8 8 0 0 0 14.6 4.5M20 20v-3.5h-3.5',
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 20, className }: { name: IconName; size?: number; className?: string }) {
  return (
    <svg className={className ? `icon ${className}` : 'icon'} width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={PATHS[name]} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
