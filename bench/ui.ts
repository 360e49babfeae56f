/**
 * `idleforge bench ui [--json] [--loads N] [--entries N]`: the dashboard's production bundle and
 * how fast it shows, over a seeded year of history. Builds the bundle
 * (scripts/build-dashboard.mjs) and reports its size, raw and gzipped:
 * the scripts the first render needs (the entry and what index.html preloads), all scripts (the
 * views loaded later too) and the CSS;
 * seeds a year of ledger entries (`--entries`, 3 million by default: a rig working for a year)
 * into the worker's store and a hub's PostgreSQL alike (bench/ui-year.ts) and times the mirror's
 * reconcile with nothing new on each side;
 * then serves the dashboard with the real API server and handlers over that store, and loads it
 * N times in headless Chromium, each in a fresh profile (a cold cache).
 * "First render" is the performance mark the Home view sets on its first paint with the engine's
 * status (idleforge:home-ready), in ms since the navigation started; the median and the worst are
 * printed for the first open (a fresh profile), the second (scripts from the HTTP cache) and later
 * ones (their compiled code from V8's code cache too: what the dashboard costs day to day), with
 * where the time went: the last script loaded, the status answered, the first contentful paint. The
 * timings are read over CDP, so nothing is injected into the page while it loads.
 * `--trace` records a performance trace of each first open and adds the page's main-thread CPU
 * time up to the mark (the thread time of its tasks, which the machine's load barely moves, where
 * the wall-clock figures swing with it), and how much of it evaluating the scripts took. Tracing
 * costs the page a little: compare traced runs with traced runs.
 * "Earnings open" is the time from a click on Earnings (Home shown, its scripts cached) to the
 * totals, the chart, the first page of the history and the payouts all drawn, N times; beside
 * it, the engine's time for each call that view makes, over the same store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Wallet } from 'ethers';
import { chromium, type CDPSession } from 'playwright-core';
import { findChromium, type ChromiumLaunch } from '../lib/software-gpu.js';
import { DASHBOARD_FIRST_RENDER_MARK } from '../protocol/index.js';
import { buildDashboardFiles, loadDashboardFiles } from '../worker/api/dashboard-files.js';
import { createHandlers, csvStream, dispatch, statusView, type ApiContext } from '../worker/api/handlers.js';
import { startApiServer } from '../worker/api/server.js';
import { WorkerEngine } from '../worker/engine.js';
import { HubClient } from '../worker/hub-client.js';
import { Governor } from '../worker/schedule/governor.js';
import { WorkerStore } from '../worker/store/index.js';
import { WalletGate } from '../worker/wallet/gate.js';
import { WalletVault } from '../worker/wallet/index.js';
import { DEFAULT_YEAR_ENTRIES, measureYearReconcile, type YearReconcile } from './ui-year.js';

const HUB = 'http://127.0.0.1:9';

export interface Load {
  /** The first paint of Home with the engine's status. */
  firstRender: number;
  firstContentfulPaint: number | null;
  /** The last script asked for before the mark downloaded (from the network or the cache). */
  scriptLoaded: number | null;
  /** The engine's answer to getStatus arrived. */
  statusAnswered: number | null;
}

/**
 * Read in the page, once its mark is set (and its first contentful paint reported, or a second
 * gone by). Sent as plain text over CDP: Playwright's own helpers (waitForFunction, evaluate)
 * would first inject their scripts (about 100 ms of the page's main thread on this kind of
 * machine) into the very load being measured.
 */
const READ_TIMINGS = (mark: string): string => `new Promise((resolve) => {
  let done = false;
  let observer = null;
  let poll = null;
  const read = () => {
    if (done) return;
    const m = performance.getEntriesByName(${JSON.stringify(mark)})[0];
    if (!m) return;
    const p = performance.getEntriesByName('first-contentful-paint')[0];
    if (!p && performance.now() - m.startTime < 1000) return;
    done = true;
    if (observer) observer.disconnect();
    if (poll) clearInterval(poll);
    const resources = performance.getEntriesByType('resource');
    const scripts = resources.filter((r) => /\\.js$/.test(r.name) && r.startTime < m.startTime).map((r) => r.responseEnd);
    const status = resources.find((r) => /\\/api\\/v1\\/getStatus$/.test(r.name));
    resolve(JSON.stringify({ firstRender: m.startTime, firstContentfulPaint: p ? p.startTime : null, scriptLoaded: scripts.length ? Math.max(...scripts) : null, statusAnswered: status ? status.responseEnd : null }));
  };
  read();
  if (done) return;
  observer = new PerformanceObserver(read);
  observer.observe({ type: 'mark', buffered: true });
  observer.observe({ type: 'paint', buffered: true });
  poll = setInterval(read, 100);
})`;

/** Waits for the dashboard's mark and reads the timings of this load (ms since navigation). */
async function measure(cdp: CDPSession): Promise<Load> {
  const answer = cdp.send('Runtime.evaluate', { expression: READ_TIMINGS(DASHBOARD_FIRST_RENDER_MARK), awaitPromise: true, returnByValue: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the dashboard set no ${DASHBOARD_FIRST_RENDER_MARK} mark within 30 s`)), 30_000);
  });
  try {
    const { result, exceptionDetails } = await Promise.race([answer, timeout]);
    if (exceptionDetails || typeof result.value !== 'string') throw new Error(`reading the page's timings failed: ${exceptionDetails?.text ?? 'no answer'}`);
    return JSON.parse(result.value) as Load;
  } finally {
    clearTimeout(timer);
  }
}

/** Medians of each timing over the loads (the loads that have it), and the worst first render, rounded to 1 ms. */
export function summary(loads: Load[]): { firstRender: number; worst: number; firstContentfulPaint: number | null; scriptLoaded: number | null; statusAnswered: number | null } {
  const of = (k: keyof Load): number | null => {
    const xs = loads.map((l) => l[k]).filter((x): x is number => x !== null);
    return xs.length ? Math.round(median(xs)) : null;
  };
  return {
    firstRender: of('firstRender')!,
    worst: Math.round(Math.max(...loads.map((l) => l.firstRender))),
    firstContentfulPaint: of('firstContentfulPaint'),
    scriptLoaded: of('scriptLoaded'),
    statusAnswered: of('statusAnswered'),
  };
}

/** A Chromium trace event, as much of it as mainThreadCpu reads. */
export interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string; data?: { documentLoaderURL?: string } };
}

/** What a first open cost the page's main thread, in CPU ms (thread time): all its tasks, and evaluating scripts. */
export interface MainThreadCpu {
  busy: number;
  evaluate: number;
}

/** The trace categories mainThreadCpu needs. */
export const TRACE_CATEGORIES = ['toplevel', 'devtools.timeline', 'v8.execute', 'blink.user_timing', 'loading'];

/**
 * The main thread's CPU time (thread time, ms, to 0.1) of the page that set `mark`, from its
 * navigation to the page at `url` until the mark: the sum of its top-level tasks, and of its
 * script evaluations. Null when the trace lacks the mark or the navigation.
 */
export function mainThreadCpu(events: TraceEvent[], mark: string, url: string): MainThreadCpu | null {
  const m = events.find((e) => e.name === mark);
  if (!m) return null;
  const nav = events.find((e) => e.name === 'navigationStart' && e.pid === m.pid && (e.args?.data?.documentLoaderURL ?? '').startsWith(url));
  const thread = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === m.pid && e.args?.name === 'CrRendererMain');
  if (!nav || !thread) return null;
  const on = events.filter((e) => e.ph === 'X' && e.pid === m.pid && e.tid === thread.tid && e.ts >= nav.ts && e.ts <= m.ts);
  const sum = (name: string): number => Math.round(on.filter((e) => e.name === name).reduce((t, e) => t + (e.tdur ?? e.dur ?? 0), 0) / 100) / 10;
  return { busy: sum('ThreadControllerImpl::RunTask'), evaluate: sum('v8.evaluateModule') + sum('EvaluateScript') };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Clicks Earnings and resolves with the ms until its totals, chart, first page of history and
 * payouts are all drawn (the frame after they are in the page). Sent as plain text over CDP.
 */
const OPEN_EARNINGS = `new Promise((resolve, reject) => {
  const button = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Earnings');
  if (!button) return reject(new Error('no Earnings button'));
  const ready = () =>
    document.querySelector('.stat-value') &&
    document.querySelector('section[aria-labelledby="chart-title"] svg') &&
    document.querySelector('table[aria-labelledby="history-title"] tbody tr') &&
    document.querySelector('section[aria-labelledby="payouts-title"] table, section[aria-labelledby="payouts-title"] .empty');
  const t0 = performance.now();
  button.click();
  const check = () => (ready() ? requestAnimationFrame(() => resolve(performance.now() - t0)) : requestAnimationFrame(check));
  check();
})`;

async function openEarnings(cdp: CDPSession): Promise<number> {
  const { result, exceptionDetails } = await cdp.send('Runtime.evaluate', { expression: OPEN_EARNINGS, awaitPromise: true, returnByValue: true });
  if (exceptionDetails || typeof result.value !== 'number') throw new Error(`opening Earnings failed: ${exceptionDetails?.exception?.description ?? exceptionDetails?.text ?? 'no answer'}`);
  return result.value;
}

/** The engine's time for each call the Earnings view makes (median of `runs`, ms), over the API's handlers. */
async function earningsCalls(ctx: ApiContext, runs: number): Promise<Record<string, number>> {
  const handlers = createHandlers(ctx);
  const calls: Array<[string, unknown]> = [
    ['getStatus', {}],
    ['getEarnings', { limit: 15 }],
    ['getEarningsSeries', { bucket: 'day' }],
    ['getEarningsSeries', { bucket: 'week' }],
    ['getPayouts', { limit: 10 }],
    ['getEarnings', { limit: 15, status: 'pending' }],
  ];
  const out: Record<string, number> = {};
  for (const [method, params] of calls) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await dispatch(handlers, method, params);
      times.push(performance.now() - t);
    }
    out[`${method} ${JSON.stringify(params)}`] = Number(median(times).toFixed(2));
  }
  return out;
}

/** A store with a wallet, over which the dashboard is served (the seeded year is written into it). */
async function benchEngine(dir: string): Promise<{ ctx: ApiContext; store: WorkerStore; close: () => void }> {
  const store = WorkerStore.open(dir);
  const governor = new Governor({
    settings: () => store.settings.get(),
    pause: () => store.settings.pause(),
    sources: {
      idleSeconds: async () => Infinity,
      onBattery: async () => false,
      runningPrograms: async () => [],
      gpuSensors: async () => ({ temperatureC: 63, utilizationPercent: null }),
    },
  });
  await governor.start();
  const vault = new WalletVault(dir, { passphrase: { get: async () => 'bench ui passphrase' }, scryptN: 1 << 14 });
  const wallet = new WalletGate(vault);
  await wallet.importSecret(Wallet.createRandom().privateKey);
  const engine = new WorkerEngine({
    client: new HubClient({ hubUrl: HUB, wallet }),
    host: { adapter: { vendor: 'bench', architecture: '', device: 'bench', description: 'bench', software: true }, run: () => Promise.reject(new Error('no tasks in the UI bench')), close: async () => {} },
    store,
    gpus: [],
    governor,
    appVersion: 'bench',
  });
  const ctx: ApiContext = { engine, store, governor, vault, wallet, balances: () => null, hubUrl: HUB, gpus: () => [] };
  return {
    ctx,
    store,
    close: () => {
      governor.stop();
      store.close();
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, loads: { type: 'string' }, entries: { type: 'string' }, trace: { type: 'boolean' } }, strict: true });
  const loads = Number(values.loads ?? 9);
  if (!Number.isInteger(loads) || loads < 1) {
    process.stderr.write('idleforge: --loads takes a whole number, 1 or more\n');
    return 2;
  }
  const entries = Number(values.entries ?? DEFAULT_YEAR_ENTRIES);
  if (!Number.isInteger(entries) || entries < 3000) {
    process.stderr.write('idleforge: --entries takes a whole number, 3000 or more\n');
    return 2;
  }
  let chromiumLaunch: ChromiumLaunch;
  try {
    chromiumLaunch = await findChromium();
  } catch (error) {
    process.stderr.write(`idleforge: the UI bench needs Chromium. ${(error as Error).message}\n`);
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-bench-ui-'));
  const outdir = join(dir, 'dashboard');
  const engine = await benchEngine(join(dir, 'data'));
  let year: YearReconcile;
  try {
    year = await measureYearReconcile({ dir: join(dir, 'hub'), store: engine.store, entries, nowMs: Date.now(), runs: 15 });
  } catch (error) {
    engine.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const calls = await earningsCalls(engine.ctx, 15);
  const build = await buildDashboardFiles(outdir);
  const handlers = createHandlers(engine.ctx);
  const server = await startApiServer({
    call: (m, p) => dispatch(handlers, m, p),
    csv: () => csvStream(engine.ctx),
    files: loadDashboardFiles(outdir),
    subscribe: (send) => engine.ctx.engine.onStatus(() => send({ type: 'status', status: statusView(engine.ctx) })),
  });
  const browser = await chromium.launch({
    executablePath: chromiumLaunch.executablePath,
    env: chromiumLaunch.env,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  /** Which Chromium measured: timings differ between builds. */
  const chromiumUsed = { version: browser.version(), source: chromiumLaunch.source };
  const cold: Load[] = [];
  const warm: Load[] = [];
  const cached: Load[] = [];
  const earningsOpen: number[] = [];
  const coldCpu: MainThreadCpu[] = [];
  try {
    for (let i = 0; i < loads; i++) {
      // A fresh profile: nothing cached (the first open after an install or an update).
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      if (values.trace) await browser.startTracing(page, { categories: TRACE_CATEGORIES });
      await page.goto(server.url);
      cold.push(await measure(cdp));
      if (values.trace) {
        const trace = JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] };
        const cpu = mainThreadCpu(trace.traceEvents, DASHBOARD_FIRST_RENDER_MARK, server.url.split('#')[0]!);
        if (cpu) coldCpu.push(cpu);
      }
      // Opened again: the scripts from the HTTP cache. (V8 compiles them again on this second
      // load and writes its code cache then.)
      await page.reload();
      warm.push(await measure(cdp));
      // Every later open: the scripts from the HTTP cache and their compiled code from V8's code
      // cache (the desktop window's scheme has the codeCache privilege for the same reason).
      await page.reload();
      cached.push(await measure(cdp));
      earningsOpen.push(await openEarnings(cdp));
      await context.close();
    }
  } finally {
    await browser.close();
    await server.close();
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const file = (path: string | null): { path: string; bytes: number; gzipBytes: number } => build.files.find((f) => f.path === path) ?? { path: '', bytes: 0, gzipBytes: 0 };
  const sum = (paths: string[]): { files: number; bytes: number; gzipBytes: number } =>
    paths.map(file).reduce((t, f) => ({ files: t.files + 1, bytes: t.bytes + f.bytes, gzipBytes: t.gzipBytes + f.gzipBytes }), { files: 0, bytes: 0, gzipBytes: 0 });
  const js = file(build.js);
  const css = file(build.css);
  const doc = {
    bundle: {
      /** The entry script index.html names. */
      js: { file: js.path, bytes: js.bytes, gzipBytes: js.gzipBytes },
      /** Every script the first render of Home needs: the entry and what index.html preloads (the target's "main"). */
      firstRenderJs: sum([build.js, ...build.preload]),
      /** Every script, the views loaded later included. */
      allJs: sum(build.files.filter((f) => f.path.endsWith('.js')).map((f) => f.path)),
      css: { file: css.path, bytes: css.bytes, gzipBytes: css.gzipBytes },
      totalGzipBytes: build.files.reduce((s, f) => s + f.gzipBytes, 0),
    },
    loads,
    /** The machine's load while measuring (1-minute load average, cores): timings scale with it. */
    machine: { loadAverage: Number(loadavg()[0]!.toFixed(2)), cores: cpus().length },
    chromium: chromiumUsed,
    /** Medians in ms since the navigation started. */
    cold: summary(cold),
    warm: summary(warm),
    cached: summary(cached),
    /** With --trace: the first open's main-thread CPU up to the mark (medians and ranges of the loads, ms of thread time); else null. */
    coldCpu: coldCpu.length
      ? {
          busy: Math.round(median(coldCpu.map((c) => c.busy))),
          busyRange: [Math.round(Math.min(...coldCpu.map((c) => c.busy))), Math.round(Math.max(...coldCpu.map((c) => c.busy)))],
          evaluate: Math.round(median(coldCpu.map((c) => c.evaluate))),
        }
      : null,
    /** The seeded year: entries, seeding, the reconcile with nothing new on each side (ms, medians). */
    year,
    /** Click on Earnings to all of it drawn (median and worst, ms), and the engine's time per call (median, ms). */
    earningsOpen: { median: Math.round(median(earningsOpen)), worst: Math.round(Math.max(...earningsOpen)), calls },
    targets: { firstRenderMs: 300, mainBundleGzipBytes: 300 * 1024, earningsOpenMs: 300, reconcileMs: 50 },
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(doc)}\n`);
    return 0;
  }
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} kB`;
  const line = (name: string, s: ReturnType<typeof summary>): string =>
    `  ${name}: first render ${s.firstRender} ms (worst ${s.worst}) — ${s.firstRender < doc.targets.firstRenderMs ? 'under' : 'NOT under'} ${doc.targets.firstRenderMs} ms; script loaded at ${s.scriptLoaded ?? '?'} ms, status answered at ${s.statusAnswered ?? '?'} ms, first contentful paint ${s.firstContentfulPaint ?? '?'} ms`;
  process.stdout.write(
    [
      `Dashboard bundle: the scripts of the first render ${kb(doc.bundle.firstRenderJs.bytes)} (${kb(doc.bundle.firstRenderJs.gzipBytes)} gzipped, ${doc.bundle.firstRenderJs.files} files), all scripts ${kb(doc.bundle.allJs.bytes)} (${kb(doc.bundle.allJs.gzipBytes)} gzipped), CSS ${kb(css.bytes)} (${kb(css.gzipBytes)} gzipped); target: first render's scripts under 300 kB gzipped`,
      `First render of Home with data in headless Chromium ${chromiumUsed.version} (${chromiumUsed.source === 'bundled' ? 'bundled' : "the system's"}), medians of ${loads} loads (load average ${doc.machine.loadAverage} on ${doc.machine.cores} cores); target: under 300 ms`,
      line('first open (fresh profile)          ', doc.cold),
      line('second open                         ', doc.warm),
      line('later opens (V8 code cache in use)  ', doc.cached),
      ...(doc.coldCpu
        ? [`  first open, the page's main thread (traced): ${doc.coldCpu.busy} ms of CPU up to the mark (${doc.coldCpu.busyRange[0]}–${doc.coldCpu.busyRange[1]}), ${doc.coldCpu.evaluate} ms of it evaluating scripts`]
        : []),
      `A seeded year: ${year.entries.toLocaleString('en')} ledger entries (seeded in ${(year.seedWorkerMs / 1000).toFixed(1)} s in the worker's store, ${(year.seedHubMs / 1000).toFixed(1)} s in the hub's PostgreSQL)`,
      `  Earnings open (click to totals, chart, history and payouts drawn): ${doc.earningsOpen.median} ms (worst ${doc.earningsOpen.worst}) — ${doc.earningsOpen.median < 300 ? 'under' : 'NOT under'} 300 ms`,
      `  the engine's time per call of that view (median): ${Object.entries(calls).map(([k, v]) => `${k} ${v} ms`).join(', ')}`,
      `  reconcile with nothing new (median of 15): the hub ${year.hubMs.toFixed(1)} ms (GET /v1/earnings?changedAfter, HTTP included), the worker ${year.workerMs.toFixed(1)} ms (the rest of the reconcile; ${year.reconcileMs.toFixed(1)} ms in all) — ${Math.max(year.hubMs, year.workerMs) < 50 ? 'under' : 'NOT under'} 50 ms each; entries written: ${year.changed}`,
      `  before the change numbers: the hub's balance summed over the ledger, alone, ${year.oldBalanceSumMs.toFixed(0)} ms a read`,
    ].join('\n') + '\n',
  );
  return 0;
}
