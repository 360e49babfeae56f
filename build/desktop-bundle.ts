/**
 * Bundles the desktop app with esbuild into dist/desktop/ (what `npm start` launches and
 * electron-builder packages):
 *
 *   main.mjs                 the main process (electron/main.ts with the worker; native modules stay outside)
 *   preload/<page>.cjs       one sandboxed preload per page
 *   pages/compute/           the hidden compute page: renderer/compute/main.ts + its bridge
 *   pages/passphrase/        the wallet passphrase window
 *   pages/dashboard/         the dashboard (scripts/build-dashboard.mjs's buildDashboard), or a
 *                            page saying it is not built when that script or its sources are absent
 *   tray/*.png, icon.png     the tray images and the window icon
 *
 *   node --import tsx build/desktop-bundle.ts [--outdir DIR] [--dev] [--no-dashboard] [--json]
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { metaCsp, PRELOAD_FILE, type PageKind } from '../electron/security.js';
import { ENGINE_BRIDGE_GLOBAL, ENGINE_EVENT_CHANNEL, ENGINE_METHODS, engineChannel } from '../protocol/engine-api.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_OUTDIR = join(ROOT, 'dist', 'desktop');
const DASHBOARD_SCRIPT = join(ROOT, 'scripts', 'build-dashboard.mjs');
const DASHBOARD_ENTRY = join(ROOT, 'renderer', 'dashboard', 'main.tsx');
/** Electron 45: Chromium 140, Node 22. */
const CHROME = 'chrome140';
const NODE = 'node22';

/** Loaded from node_modules at run time: native code, or packages that load optional native code. */
export const MAIN_EXTERNALS = ['electron', 'better-sqlite3', 'systeminformation', 'bufferutil', 'utf-8-validate'];

/**
 * The desktop app computes in its hidden renderer, never with Dawn: `webgpu` (Dawn's native
 * module, tens of MB once loaded) is replaced by a stub so the idle tray never loads it.
 */
const noDawn: Plugin = {
  name: 'no-dawn',
  setup(b) {
    b.onResolve({ filter: /^webgpu$/ }, () => ({ path: 'webgpu', namespace: 'no-dawn' }));
    b.onLoad({ filter: /.*/, namespace: 'no-dawn' }, () => ({
      contents: "export function create() { throw new Error('the desktop app computes in its hidden renderer; Dawn is not part of it'); }\nexport const globals = {};\n",
      loader: 'js',
    }));
  },
};

/**
 * The dashboard's preload needs only the engine API's names (methods, channels, the global), not
 * its schemas: it gets them as constants taken from protocol/engine-api.ts at build time, without
 * zod (main parses every call anyway). The preload shrinks from about 460 kB to 1 kB.
 */
const engineNamesOnly: Plugin = {
  name: 'engine-names-only',
  setup(b) {
    b.onResolve({ filter: /protocol\/engine-api\.js$/ }, () => ({ path: 'engine-api', namespace: 'engine-names' }));
    b.onLoad({ filter: /.*/, namespace: 'engine-names' }, () => ({
      loader: 'js',
      contents: [
        `export const ENGINE_METHODS = ${JSON.stringify(ENGINE_METHODS)};`,
        `export const ENGINE_BRIDGE_GLOBAL = ${JSON.stringify(ENGINE_BRIDGE_GLOBAL)};`,
        `export const ENGINE_EVENT_CHANNEL = ${JSON.stringify(ENGINE_EVENT_CHANNEL)};`,
        `const CHANNELS = ${JSON.stringify(Object.fromEntries(ENGINE_METHODS.map((m) => [m, engineChannel(m)])))};`,
        'export const engineChannel = (method) => CHANNELS[method];',
      ].join('\n'),
    }));
  },
};

/** A page's HTML with its CSP in the meta tag (the scheme handler also sends it as a header). */
export function pageHtml(source: string, kind: PageKind): string {
  if (!source.includes('%CSP%')) throw new Error(`the ${kind} page has no %CSP% placeholder`);
  return source.replace('%CSP%', metaCsp(kind));
}

export interface DesktopBundle {
  outdir: string;
  dashboard: 'built' | 'not built';
  /** What main.mjs loads at run time (node built-ins and MAIN_EXTERNALS). */
  mainImports: string[];
  files: { path: string; bytes: number }[];
  ms: number;
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? listFiles(join(dir, d.name), base) : [relative(base, join(dir, d.name)).split('\\').join('/')]));
}

export async function bundleDesktop(o: { outdir?: string; minify?: boolean; dashboard?: boolean } = {}): Promise<DesktopBundle> {
  const started = performance.now();
  const outdir = o.outdir ?? DEFAULT_OUTDIR;
  const minify = o.minify ?? true;
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const common = { absWorkingDir: ROOT, bundle: true, minify, logLevel: 'error' as const, legalComments: 'none' as const, sourcemap: minify ? false : ('linked' as const) };

  const page = (kind: PageKind, files: string[]): void => {
    const dir = join(outdir, 'pages', kind);
    mkdirSync(dir, { recursive: true });
    for (const f of files) {
      const text = readFileSync(join(ROOT, 'electron', 'pages', f), 'utf8');
      const name = f.split('/').pop()!;
      writeFileSync(join(dir, name), name.endsWith('.html') ? pageHtml(text, kind) : text);
    }
  };

  const [main] = await Promise.all([
    build({
      ...common,
      metafile: true,
      entryPoints: [join(ROOT, 'electron', 'main.ts')],
      outfile: join(outdir, 'main.mjs'),
      format: 'esm',
      platform: 'node',
      target: NODE,
      external: MAIN_EXTERNALS,
      plugins: [noDawn],
      // Bundled CommonJS packages call require(); an ES module has none of its own.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    }),
    ...(Object.keys(PRELOAD_FILE) as PageKind[]).map((kind) =>
      build({
        ...common,
        entryPoints: [join(ROOT, 'electron', 'preload', `${kind}.ts`)],
        outfile: join(outdir, PRELOAD_FILE[kind]),
        // Sandboxed preloads are scripts with a small require(): 'electron' and nothing else.
        format: 'cjs',
        platform: 'browser',
        target: CHROME,
        external: ['electron'],
        plugins: [engineNamesOnly],
      }),
    ),
    build({
      ...common,
      stdin: {
        contents: "import './renderer/compute/main.ts';\nimport './electron/pages/compute-bridge.ts';\n",
        resolveDir: ROOT,
        sourcefile: 'compute-page-entry.ts',
        loader: 'ts',
      },
      outfile: join(outdir, 'pages', 'compute', 'compute.js'),
      format: 'esm',
      platform: 'browser',
      target: CHROME,
    }),
    build({
      ...common,
      entryPoints: [join(ROOT, 'electron', 'pages', 'passphrase', 'passphrase.ts')],
      outfile: join(outdir, 'pages', 'passphrase', 'passphrase.js'),
      format: 'esm',
      platform: 'browser',
      target: CHROME,
    }),
  ]);
  page('compute', ['compute/index.html']);
  page('passphrase', ['passphrase/index.html', 'passphrase/passphrase.css']);

  let dashboard: DesktopBundle['dashboard'] = 'not built';
  if ((o.dashboard ?? true) && existsSync(DASHBOARD_SCRIPT) && existsSync(DASHBOARD_ENTRY)) {
    const { buildDashboard } = (await import(pathToFileURL(DASHBOARD_SCRIPT).href)) as { buildDashboard(o: { outdir: string; minify: boolean }): Promise<unknown> };
    await buildDashboard({ outdir: join(outdir, 'pages', 'dashboard'), minify });
    dashboard = 'built';
  } else {
    page('dashboard', ['dashboard-missing/index.html', 'dashboard-missing/missing.css']);
  }

  mkdirSync(join(outdir, 'tray'), { recursive: true });
  for (const f of readdirSync(join(ROOT, 'assets', 'tray'))) if (f.endsWith('.png')) copyFileSync(join(ROOT, 'assets', 'tray', f), join(outdir, 'tray', f));
  copyFileSync(join(ROOT, 'build', 'icon.png'), join(outdir, 'icon.png'));

  const files = listFiles(outdir).map((path) => ({ path, bytes: readFileSync(join(outdir, path)).length }));
  const mainImports = [...new Set(Object.values(main.metafile.outputs).flatMap((out) => out.imports.filter((i) => i.external).map((i) => i.path)))].sort();
  return { outdir, dashboard, mainImports, files, ms: Math.round(performance.now() - started) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' }, dev: { type: 'boolean' }, 'no-dashboard': { type: 'boolean' }, json: { type: 'boolean' } }, strict: true });
  try {
    const r = await bundleDesktop({ outdir: values.outdir, minify: !values.dev, dashboard: !values['no-dashboard'] });
    if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(`desktop app bundled in ${r.ms} ms into ${relative(process.cwd(), r.outdir) || '.'} (dashboard: ${r.dashboard})\n`);
    process.exit(0);
  } catch (error) {
    process.stderr.write(`desktop-bundle: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
