/**
 * The built dashboard (dist/dashboard, made by scripts/build-dashboard.mjs), held in memory and
 * served by the API server at `/`. A worker run from the sources builds it first when it is
 * missing or older than its sources, so a fresh clone needs no extra step.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DASHBOARD_DIR = join(PROJECT_ROOT, 'dist', 'dashboard');
const BUILD_SCRIPT = join(PROJECT_ROOT, 'scripts', 'build-dashboard.mjs');
/** What the bundle is made of: a change to any of these makes the build stale. */
const SOURCES = ['renderer/dashboard', 'protocol', 'scripts/build-dashboard.mjs', 'scripts/lazy-schemas.mjs', 'package-lock.json'];
const STAMP = 'build-info.json';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

export interface StaticFile {
  body: Buffer;
  type: string;
  /** Hashed names never change content: cached for good. */
  immutable: boolean;
}

/** URL path (`/index.html`, `/assets/main-X.js`) → file. */
export type DashboardFiles = ReadonlyMap<string, StaticFile>;

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** True when there are sources to build from and no build, or one older than them. */
export function dashboardIsStale(outdir = DASHBOARD_DIR, root = PROJECT_ROOT): boolean {
  if (!existsSync(join(root, 'renderer', 'dashboard', 'main.tsx'))) return false;
  const stamp = join(outdir, STAMP);
  if (!existsSync(stamp)) return true;
  const built = statSync(stamp).mtimeMs;
  return SOURCES.some((s) => newestMtime(join(root, s)) > built);
}

/** What a build made (build-info.json): `js` is the entry, `preload` the scripts its first render needs besides. */
export interface DashboardBuild {
  files: Array<{ path: string; bytes: number; gzipBytes: number }>;
  js: string;
  preload: string[];
  css: string | null;
  ms: number;
}

/** Runs the build script in its own process (esbuild, about a second); resolves when it is done. */
export function buildDashboardFiles(outdir = DASHBOARD_DIR, opts: { dev?: boolean } = {}): Promise<DashboardBuild> {
  return new Promise((resolve, reject) => {
    const args = [BUILD_SCRIPT, '--outdir', outdir, '--json', ...(opts.dev ? ['--dev'] : [])];
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`the dashboard build failed: ${stderr.trim() || `exit ${code}`}`));
      try {
        resolve(JSON.parse(stdout) as DashboardBuild);
      } catch {
        reject(new Error(`the dashboard build printed something unexpected: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

/** Builds when stale; says so in `log`. A failed build leaves the old files (or none) in place. */
export async function ensureDashboard(log: (line: string) => void, outdir = DASHBOARD_DIR): Promise<void> {
  if (!dashboardIsStale(outdir)) return;
  log('building the dashboard (once after each update)…');
  try {
    const r = await buildDashboardFiles(outdir);
    log(`dashboard built in ${r.ms} ms`);
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
  }
}

/** Every file of a build, read into memory; null when there is no build. */
export function loadDashboardFiles(outdir = DASHBOARD_DIR): DashboardFiles | null {
  if (!existsSync(join(outdir, 'index.html'))) return null;
  const files = new Map<string, StaticFile>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const path = `/${relative(outdir, full).split('\\').join('/')}`;
        files.set(path, { body: readFileSync(full), type: TYPES[extname(name)] ?? 'application/octet-stream', immutable: path.startsWith('/assets/') });
      }
    }
  };
  walk(outdir);
  return files;
}

/** Served when there is no build (no sources to build from, or the build failed). */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Idleforge</title></head>
<body><h1>The dashboard is not built</h1>
<p>Build it with <code>npm run build:dashboard</code> and restart the worker. The worker and its API run meanwhile.</p></body></html>`;
