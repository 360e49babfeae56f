/**
 * What the tray shows, from the engine's status alone: the state (working, waiting, paused,
 * error), its image for this platform, the tooltip (the state's reason, today's earnings, the GPU's
 * temperature) and the menu's status lines. Pure: the tray controller (tray.ts) puts it on screen.
 */
import { formatUnits, fromAmount, type EngineStatusView } from '../protocol/index.js';

export type TrayState = 'working' | 'waiting' | 'paused' | 'error';
export type PauseKind = 'none' | 'paused' | 'snoozed';

export interface TrayImage {
  /** File name under the tray images folder (assets/tray, copied beside the bundle). */
  file: string;
  scaleFactor: number;
}

export interface TrayModel {
  state: TrayState;
  images: TrayImage[];
  /** Whether `images` are macOS template images (black with alpha, tinted by the menu bar). */
  template: boolean;
  tooltip: string;
  /** The menu's first line: the state in words. */
  statusLine: string;
  /** The menu's second line: today's earnings and the GPU's temperature. */
  detailLine: string;
  pause: PauseKind;
  /** A game, fullscreen app or program on the GPU stopping work now, that "Pause until it closes" can wait out. */
  waitOut: string | null;
}

/** The codes whose blocker the user may wait out from the tray. */
const WAITABLE: ReadonlySet<string> = new Set(['blocked-program', 'fullscreen', 'gpu-process']);

export function trayState(status: EngineStatusView | null): TrayState {
  if (!status) return 'waiting';
  switch (status.state) {
    case 'working':
      return 'working';
    case 'paused':
      return 'paused';
    case 'error':
    case 'offline':
      return 'error';
    default:
      return 'waiting';
  }
}

/** Coloured images on Windows (16 and 32 px for 100% and 200% scaling) and Linux (32 px, the panel scales it); templates on macOS. */
export function trayImages(state: TrayState, platform: NodeJS.Platform): { images: TrayImage[]; template: boolean } {
  if (platform === 'darwin') {
    return {
      template: true,
      images: [
        { file: `${state}Template.png`, scaleFactor: 1 },
        { file: `${state}Template@2x.png`, scaleFactor: 2 },
      ],
    };
  }
  if (platform === 'win32') {
    return {
      template: false,
      images: [
        { file: `${state}-16.png`, scaleFactor: 1 },
        { file: `${state}-32.png`, scaleFactor: 2 },
      ],
    };
  }
  return { template: false, images: [{ file: `${state}-32.png`, scaleFactor: 1 }] };
}

/**
 * An amount for people: exact (no floats), at most 4 decimals; a positive amount too small to
 * show says so instead of reading as zero.
 */
export function formatEarnings(amount: string, decimals: number, symbol: string): string {
  const value = fromAmount(amount);
  const shown = Math.min(4, decimals);
  const text = formatUnits(value, decimals, shown);
  const smallest = 10n ** BigInt(decimals - shown);
  if (value > 0n && value < smallest) return `< ${formatUnits(smallest, decimals)} ${symbol}`;
  return `${text} ${symbol}`;
}

export const formatTemperature = (c: number | null): string => (c === null ? 'GPU temperature unknown' : `GPU ${Math.round(c)} °C`);

/** Windows cuts tray tooltips at 127 characters. */
export const TOOLTIP_MAX = 127;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;
}

export function pauseKind(status: EngineStatusView | null): PauseKind {
  if (status?.blockedBy === 'paused') return 'paused';
  if (status?.blockedBy === 'snoozed') return 'snoozed';
  return 'none';
}

export function trayModel(status: EngineStatusView | null, platform: NodeJS.Platform): TrayModel {
  const state = trayState(status);
  const { images, template } = trayImages(state, platform);
  if (!status) {
    return { state, images, template, tooltip: 'Idleforge: starting', statusLine: 'Starting…', detailLine: 'Today: nothing yet', pause: 'none', waitOut: null };
  }
  const today = `Today ${formatEarnings(status.earnedToday, status.token.decimals, status.token.symbol)}`;
  const detailLine = `${today} · ${formatTemperature(status.temperatureC)}`;
  const statusLine = clip(status.reason, 60);
  const tooltip = clip(`Idleforge: ${clip(status.reason, TOOLTIP_MAX - detailLine.length - 13)}\n${detailLine}`, TOOLTIP_MAX);
  const waitOut = status.blockedBy !== null && WAITABLE.has(status.blockedBy) ? (status.blocker ?? null) : null;
  return { state, images, template, tooltip, statusLine, detailLine, pause: pauseKind(status), waitOut };
}

/** Whether the tray must be redrawn: only what it shows counts. */
export function sameTrayModel(a: TrayModel | null, b: TrayModel): boolean {
  return (
    a !== null &&
    a.state === b.state &&
    a.tooltip === b.tooltip &&
    a.statusLine === b.statusLine &&
    a.detailLine === b.detailLine &&
    a.pause === b.pause &&
    a.waitOut === b.waitOut &&
    a.template === b.template &&
    a.images.map((i) => i.file).join() === b.images.map((i) => i.file).join()
  );
}
