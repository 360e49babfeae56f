#!/usr/bin/env node
// Builds the dashboard (renderer/dashboard/) into static files with esbuild: index.html (with the
// dashboard's CSP), assets/main-[hash].js (a small entry that asks for the engine's status at once)
// and .css, assets/start-[hash].js (the dashboard, which the entry then imports and index.html
// preloads), favicon.svg, and build-info.json. The headless
// worker serves them (and builds them itself when they are missing or older than the sources);
// the desktop shell loads the same files. One function, `buildDashboard`, used by everyone.
//
//   node scripts/build-dashboard.mjs [--outdir DIR] [--dev] [--json]
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import { lazySchemasPlugin } from './lazy-schemas.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_OUTDIR = join(ROOT, 'dist', 'dashboard');
const SOURCE = join(ROOT, 'renderer', 'dashboard');

/**
 * zod's namespace (`z`, which protocol/ uses) carries its error messages in 40-odd languages;
 * the dashboard words its own errors, so only English is bundled (a third of the bundle less).
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer) ? { path: join(dirname(args.importer), '..', 'locales', 'index.js'), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};`,
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * Parts of zod the dashboard never calls, left out (about 40 kB of the first render's scripts):
 * `z.compile` (a code generator, which the page's CSP forbids anyway: no eval) and
 * `z.fromJSONSchema`. zod's namespace re-exports them, so esbuild keeps them otherwise. Each export
 * becomes a function that says so when called; nothing of zod's parsing reaches them.
 */
const ZOD_UNUSED = [/[\\/]zod[\\/]v4[\\/]core[\\/]compile\.js$/, /[\\/]zod[\\/]v4[\\/]classic[\\/]from-json-schema\.js$/];
const zodUnusedLeftOut = {
  name: 'zod-unused-left-out',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/].*\.js$/ }, (args) => {
      if (!ZOD_UNUSED.some((re) => re.test(args.path))) return undefined;
      const source = readFileSync(args.path, 'utf8');
      const names = new Set([...source.matchAll(/^export (?:const|let|function|class) (\w+)/gm)].map((m) => m[1]));
      for (const m of source.matchAll(/^export \{([^}]*)\}/gm)) for (const part of m[1].split(',')) if (part.trim()) names.add(part.trim().split(/\s+as\s+/).pop());
      const file = args.path.split(/[\\/]/).slice(-3).join('/');
      const contents = [...names].map((n) => `export function ${n}() { throw new Error('zod ${file}: ${n} is left out of the dashboard'); }`).join('\n');
      return { contents, loader: 'js' };
    });
  },
};

/**
 * Builds into `outdir` (replaced whole, never left half-written: the files are built beside it
 * and moved in). `minify: false` keeps React's development checks and adds source maps.
 * Returns the files written with their sizes (bytes and gzipped bytes).
 */
export async function buildDashboard({ outdir = DEFAULT_OUTDIR, minify = true } = {}) {
  const started = performance.now();
  const { DASHBOARD_CSP } = await tsImport(pathToFileURL(join(ROOT, 'protocol', 'engine-api.ts')).href, import.meta.url);
  const target = resolve(outdir);
  const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(temp, { recursive: true });
  try {
    const options = {
      absWorkingDir: ROOT,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      // Chromium of Electron 45 and any current browser.
      target: ['chrome120', 'firefox120', 'safari17'],
      outdir: temp,
      entryNames: 'assets/[name]-[hash]',
      assetNames: 'assets/[name]-[hash]',
      jsx: 'automatic',
      minify,
      sourcemap: minify ? false : 'linked',
      legalComments: minify ? 'external' : 'inline',
      metafile: true,
      logLevel: 'silent',
      define: { 'process.env.NODE_ENV': JSON.stringify(minify ? 'production' : 'development') },
    };
    // Two scripts, no more (the browser opens 6 connections to the engine, which also has the
    // engine's status to answer): start.tsx, the dashboard itself (React, zod and the API's
    // schemas, every view), and main.tsx, the small entry that asks for the status at once and
    // then imports start (which index.html preloads, so that both download together).
    // lazySchemasPlugin: protocol/'s schemas built on first use, not as the page loads
    // (scripts/lazy-schemas.mjs; they cost about 45 ms of a cold start's main thread).
    const app = await build({ ...options, entryPoints: { start: join(SOURCE, 'start.tsx') }, plugins: [zodEnglishOnly, zodUnusedLeftOut, lazySchemasPlugin] });
    const rel = (out) => relative(temp, join(ROOT, out)).split('\\').join('/');
    const entryOf = (result) => {
      const found = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined);
      if (!found) throw new Error('esbuild produced no entry script for the dashboard');
      return found;
    };
    const start = rel(entryOf(app)[0]);
    const startExternal = {
      name: 'start-external',
      setup(b) {
        b.onResolve({ filter: /^\.\/start\.js$/ }, () => ({ path: `./${start.split('/').pop()}`, external: true }));
      },
    };
    const boot = await build({ ...options, entryPoints: { main: join(SOURCE, 'main.tsx') }, plugins: [startExternal] });
    const entry = entryOf(boot);
    const js = rel(entry[0]);
    const cssOut = entry[1].cssBundle;
    const css = cssOut ? rel(cssOut) : null;
    if (!entry[1].imports.some((i) => i.external && i.kind === 'dynamic-import')) throw new Error('the dashboard entry does not import start.tsx');
    // What the first render needs besides the entry.
    const preload = [start];
    const html = readFileSync(join(SOURCE, 'index.html'), 'utf8')
      .replace('%CSP%', DASHBOARD_CSP)
      .replace('%SCRIPT%', `./${js}`)
      .replace('%STYLE%', css ? `./${css}` : '')
      .replace('%PRELOAD%', preload.map((p) => `<link rel="modulepreload" href="./${p}" />`).join('\n    '));
    writeFileSync(join(temp, 'index.html'), html);
    copyFileSync(join(SOURCE, 'favicon.svg'), join(temp, 'favicon.svg'));
    const outputs = [...Object.entries(app.metafile.outputs), ...Object.entries(boot.metafile.outputs)];
    const scripts = outputs.filter(([path]) => path.endsWith('.js')).map(([path]) => rel(path));
    const files = ['index.html', js, ...preload, ...scripts.filter((p) => p !== js && !preload.includes(p)).sort(), ...(css ? [css] : [])].map((path) => {
      const bytes = readFileSync(join(temp, path));
      return { path, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
    });
    /** `js`: the entry; `preload`: the scripts the first render needs besides it; `files`: all. */
    const info = { version: 1, builtAt: new Date().toISOString(), minify, js, preload, css, files };
    writeFileSync(join(temp, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
    mkdirSync(dirname(target), { recursive: true });
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(temp, target);
    } catch (error) {
      // Another build finished first (two workers started at once): theirs is as good.
      if (!existsSync(join(target, 'build-info.json'))) throw error;
      rmSync(temp, { recursive: true, force: true });
    }
    return { outdir: target, ...info, ms: Math.round(performance.now() - started) };
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' }, dev: { type: 'boolean' }, json: { type: 'boolean' } }, strict: true });
  try {
    const r = await buildDashboard({ outdir: values.outdir ?? DEFAULT_OUTDIR, minify: !values.dev });
    if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      process.stdout.write(`dashboard built in ${r.ms} ms into ${r.outdir}\n`);
      for (const f of r.files) process.stdout.write(`  ${f.path.padEnd(34)} ${(f.bytes / 1024).toFixed(1).padStart(7)} kB  (${(f.gzipBytes / 1024).toFixed(1)} kB gzipped)\n`);
    }
    process.exit(0);
  } catch (error) {
    process.stderr.write(`build-dashboard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

