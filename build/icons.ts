/**
 * Idleforge's mark, drawn from shapes: an anvil with sparks flying off its face (the forge where
 * idle GPUs are put to work). One small rasteriser (supersampled coverage, source-over and
 * destination-out layers) draws every size, so each is sharp, not a scaled copy:
 *
 * - the app icon: the anvil and sparks on a dark rounded square (build/icon.png, .ico, .icns);
 * - tray images for Windows and Linux, coloured by state (assets/tray/<state>-16.png, -32.png);
 * - macOS menu-bar template images, black with alpha, the state in the shape
 *   (assets/tray/<state>Template.png, <state>Template@2x.png).
 *
 * Coordinates are in a unit square, y down.
 */
import type { Rgba } from '../lib/png.js';

export const TRAY_STATES = ['working', 'waiting', 'paused', 'error'] as const;
export type TrayImageState = (typeof TRAY_STATES)[number];

type Point = readonly [number, number];
type Color = readonly [number, number, number, number]; // r, g, b 0–255, alpha 0–1

interface Shape {
  /** Bounding box in unit coordinates: x0, y0, x1, y1. */
  box: readonly [number, number, number, number];
  inside(x: number, y: number): boolean;
}

type Paint = Color | ((x: number, y: number) => Color);
interface Layer {
  shape: Shape;
  paint: Paint;
  /** `over`: paint on top; `clear`: cut out what is below (destination-out). */
  op: 'over' | 'clear';
}

function polygon(points: readonly Point[]): Shape {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  return {
    box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
    inside(x, y) {
      let inside = false;
      for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
        const [xi, yi] = points[i]!;
        const [xj, yj] = points[j]!;
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
      return inside;
    },
  };
}

function circle(cx: number, cy: number, r: number): Shape {
  return { box: [cx - r, cy - r, cx + r, cy + r], inside: (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r };
}

function roundRect(x0: number, y0: number, x1: number, y1: number, r: number): Shape {
  return {
    box: [x0, y0, x1, y1],
    inside(x, y) {
      if (x < x0 || x > x1 || y < y0 || y > y1) return false;
      const dx = Math.max(x0 + r - x, 0, x - (x1 - r));
      const dy = Math.max(y0 + r - y, 0, y - (y1 - r));
      return dx * dx + dy * dy <= r * r;
    },
  };
}

/** A star with `points` tips (sparks are four-pointed). */
function star(cx: number, cy: number, outer: number, inner: number, points = 4, turn = 0): Shape {
  const pts: Point[] = [];
  for (let i = 0; i < points * 2; i++) {
    const r = i % 2 === 0 ? outer : inner;
    const a = turn + (i * Math.PI) / points - Math.PI / 2;
    pts.push([cx + r * Math.cos(a), cy + r * Math.sin(a)]);
  }
  return polygon(pts);
}

/** The anvil's outline in its own box (width 1, height 0.62): horn to the left, face on top. */
const ANVIL: readonly Point[] = [
  [0.0, 0.07],
  [0.12, 0.025],
  [0.27, 0.0],
  [1.0, 0.0],
  [1.0, 0.17],
  [0.87, 0.2],
  [0.76, 0.24],
  [0.7, 0.4],
  [0.79, 0.49],
  [0.86, 0.53],
  [0.86, 0.62],
  [0.22, 0.62],
  [0.22, 0.53],
  [0.29, 0.49],
  [0.38, 0.4],
  [0.35, 0.24],
  [0.29, 0.2],
  [0.17, 0.165],
  [0.07, 0.125],
];
const ANVIL_HEIGHT = 0.62;

function anvil(x: number, y: number, width: number): Shape {
  return polygon(ANVIL.map(([ax, ay]) => [x + ax * width, y + ay * width] as Point));
}

const mix = (a: Color, b: Color, t: number): Color => [
  a[0] + (b[0] - a[0]) * t,
  a[1] + (b[1] - a[1]) * t,
  a[2] + (b[2] - a[2]) * t,
  a[3] + (b[3] - a[3]) * t,
];
const clamp01 = (t: number): number => Math.min(1, Math.max(0, t));
const vertical =
  (top: Color, bottom: Color, y0: number, y1: number) =>
  (_x: number, y: number): Color =>
    mix(top, bottom, clamp01((y - y0) / (y1 - y0)));
const radial =
  (inner: Color, outer: Color, cx: number, cy: number, r: number) =>
  (x: number, y: number): Color =>
    mix(inner, outer, clamp01(Math.hypot(x - cx, y - cy) / r));

/** Draws the layers at `size` px with `ss`×`ss` samples per pixel. */
export function render(layers: readonly Layer[], size: number, ss: number): Rgba {
  const n = size * size;
  const r = new Float64Array(n);
  const g = new Float64Array(n);
  const b = new Float64Array(n);
  const a = new Float64Array(n);
  for (const layer of layers) {
    const [bx0, by0, bx1, by1] = layer.shape.box;
    const px0 = Math.max(0, Math.floor(bx0 * size));
    const py0 = Math.max(0, Math.floor(by0 * size));
    const px1 = Math.min(size - 1, Math.ceil(bx1 * size));
    const py1 = Math.min(size - 1, Math.ceil(by1 * size));
    for (let py = py0; py <= py1; py++) {
      for (let px = px0; px <= px1; px++) {
        let hits = 0;
        for (let sy = 0; sy < ss; sy++) {
          for (let sx = 0; sx < ss; sx++) {
            if (layer.shape.inside((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size)) hits++;
          }
        }
        if (hits === 0) continue;
        const coverage = hits / (ss * ss);
        const i = py * size + px;
        if (layer.op === 'clear') {
          a[i] = a[i]! * (1 - coverage);
          continue;
        }
        const c = typeof layer.paint === 'function' ? layer.paint((px + 0.5) / size, (py + 0.5) / size) : layer.paint;
        const sa = c[3] * coverage;
        const da = a[i]!;
        const oa = sa + da * (1 - sa);
        if (oa === 0) continue;
        r[i] = (c[0] * sa + r[i]! * da * (1 - sa)) / oa;
        g[i] = (c[1] * sa + g[i]! * da * (1 - sa)) / oa;
        b[i] = (c[2] * sa + b[i]! * da * (1 - sa)) / oa;
        a[i] = oa;
      }
    }
  }
  const data = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    const alpha = Math.round(a[i]! * 255);
    data[i * 4] = alpha === 0 ? 0 : Math.round(r[i]!);
    data[i * 4 + 1] = alpha === 0 ? 0 : Math.round(g[i]!);
    data[i * 4 + 2] = alpha === 0 ? 0 : Math.round(b[i]!);
    data[i * 4 + 3] = alpha;
  }
  return { width: size, height: size, data };
}

/** Samples per pixel side: more for small images, about 2048 samples across at most. */
export const supersampling = (size: number): number => Math.max(2, Math.min(8, Math.ceil(2048 / size)));

const SPARK_CORE: Color = [255, 246, 214, 1];
const SPARK_EDGE: Color = [255, 150, 28, 1];

/** The app icon: steel anvil, orange sparks, dark rounded square. */
export function appIconLayers(): Layer[] {
  const bgTop: Color = [49, 56, 74, 1];
  const bgBottom: Color = [22, 25, 34, 1];
  const steelTop: Color = [226, 232, 242, 1];
  const steelBottom: Color = [128, 139, 160, 1];
  const ax = 0.15;
  const ay = 0.43;
  const aw = 0.7;
  const sparks: [number, number, number][] = [
    [0.6, 0.27, 0.125],
    [0.77, 0.17, 0.065],
    [0.43, 0.2, 0.05],
  ];
  return [
    { shape: roundRect(0.06, 0.06, 0.94, 0.94, 0.2), paint: vertical(bgTop, bgBottom, 0.06, 0.94), op: 'over' },
    // The glow of hot metal on the anvil's face.
    { shape: circle(0.6, 0.43, 0.2), paint: radial([255, 140, 30, 0.35], [255, 140, 30, 0], 0.6, 0.43, 0.2), op: 'over' },
    { shape: anvil(ax, ay, aw), paint: vertical(steelTop, steelBottom, ay, ay + ANVIL_HEIGHT * aw), op: 'over' },
    // The face's hot edge.
    { shape: polygon([[ax + 0.27 * aw, ay], [ax + aw, ay], [ax + aw, ay + 0.035], [ax + 0.27 * aw, ay + 0.035]]), paint: [255, 150, 40, 1], op: 'over' },
    ...sparks.map(([cx, cy, s]): Layer => ({ shape: star(cx, cy, s, s * 0.26), paint: radial(SPARK_CORE, SPARK_EDGE, cx, cy, s), op: 'over' })),
  ];
}

/** Where the tray's anvil sits, and its state badge. */
const TRAY_ANVIL = { x: 0.03, y: 0.36, width: 0.94 };
const BADGE = { cx: 0.76, cy: 0.76, r: 0.24, gap: 0.07 };

function badge(template: boolean, fill: Color, symbol: 'pause' | 'alert'): Layer[] {
  const { cx, cy, r, gap } = BADGE;
  const mark: Shape[] =
    symbol === 'pause'
      ? [roundRect(cx - 0.11, cy - 0.12, cx - 0.035, cy + 0.12, 0.015), roundRect(cx + 0.035, cy - 0.12, cx + 0.11, cy + 0.12, 0.015)]
      : [roundRect(cx - 0.04, cy - 0.15, cx + 0.04, cy + 0.04, 0.02), circle(cx, cy + 0.1, 0.042)];
  return [
    { shape: circle(cx, cy, r + gap), paint: fill, op: 'clear' },
    { shape: circle(cx, cy, r), paint: fill, op: 'over' },
    // On a template image the symbol is cut out; on a coloured one it is white.
    ...mark.map((shape): Layer => ({ shape, paint: [255, 255, 255, 1], op: template ? 'clear' : 'over' })),
  ];
}

const STATE_COLORS: Record<TrayImageState, Color> = {
  working: [255, 140, 26, 1],
  waiting: [150, 158, 172, 1],
  paused: [150, 158, 172, 1],
  error: [150, 158, 172, 1],
};
const BADGE_COLORS = { paused: [70, 125, 235, 1] as Color, error: [229, 72, 77, 1] as Color };

/**
 * A tray image. Coloured (Windows, Linux): orange anvil with a spark while working, grey while
 * waiting, a blue pause badge when paused, a red "!" badge on error. Template (macOS): the same
 * shapes in black; waiting is the anvil dimmed to half alpha.
 */
export function trayLayers(state: TrayImageState, template: boolean): Layer[] {
  // A template's waiting anvil is dimmed (half alpha), as macOS shows an inactive item.
  const ink: Color = template ? [0, 0, 0, state === 'waiting' ? 0.5 : 1] : STATE_COLORS[state];
  const { x, y, width } = TRAY_ANVIL;
  const layers: Layer[] = [{ shape: anvil(x, y, width), paint: ink, op: 'over' }];
  if (state === 'working') {
    const spark: Color = template ? [0, 0, 0, 1] : [255, 214, 64, 1];
    layers.push({ shape: star(0.62, 0.17, 0.17, 0.05), paint: spark, op: 'over' });
    layers.push({ shape: star(0.86, 0.08, 0.08, 0.025), paint: spark, op: 'over' });
  }
  if (state === 'paused') layers.push(...badge(template, template ? [0, 0, 0, 1] : BADGE_COLORS.paused, 'pause'));
  if (state === 'error') layers.push(...badge(template, template ? [0, 0, 0, 1] : BADGE_COLORS.error, 'alert'));
  return layers;
}

/** Every file the generator writes, relative to the project root, and how it is drawn. */
export interface IconPlan {
  appIconSizes: { png: number; ico: readonly number[] };
  tray: { file: string; state: TrayImageState; template: boolean; size: number }[];
}

export const ICO_SIZES = [16, 24, 32, 48, 64, 128, 256] as const;
export const APP_ICON_SIZE = 1024;

export function trayFiles(): IconPlan['tray'] {
  return TRAY_STATES.flatMap((state) => [
    { file: `assets/tray/${state}-16.png`, state, template: false, size: 16 },
    { file: `assets/tray/${state}-32.png`, state, template: false, size: 32 },
    { file: `assets/tray/${state}Template.png`, state, template: true, size: 16 },
    { file: `assets/tray/${state}Template@2x.png`, state, template: true, size: 32 },
  ]);
}
