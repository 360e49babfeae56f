/**
 * `idleforge bench ui [--json] [--loads N]`: the dashboard's production bundle and how fast it
 * shows. Builds the bundle (scripts/build-dashboard.mjs) and reports its size, raw and gzipped;
 * then serves it with the real API server and handlers over a store holding two weeks of
 * earnings, and loads it N times in headless Chromium, each in a fresh profile (a cold cache).
 * "First render" is the performance mark the Home view sets on its first paint with the engine's
 * status (idleforge:home-ready), in ms since the navigation started; the median and the worst are
 * printed for a cold load (a fresh profile) and a warm one (the page opened again), with where
 * the time went: the script loaded, the status answered, the first contentful paint.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Wallet } from 'ethers';
import { chromium, type Page } from 'playwright-core';
import { DASHBOARD_FIRST_RENDER_MARK } from '../../protocol/index.js';
import { buildDashboardFiles, loadDashboardFiles } from '../api/dashboard-files.js';
import { createHandlers, csvExport, dispatch, statusView, type ApiContext } from '../api/handlers.js';
import { startApiServer } from '../api/server.js';
import { WalletGate } from '../api/wallet-gate.js';
import { WorkerEngine } from '../engine.js';
import { HubClient } from '../hub-client.js';
import { Governor } from '../schedule/governor.js';
import { WorkerStore } from '../store/index.js';
import { WalletVault } from '../wallet/index.js';

const CHROMIUM = '/usr/bin/chromium';
const HUB = 'http://127.0.0.1:9';

interface Load {
  /** The first paint of Home with the engine's status. */
  firstRender: number;
  firstContentfulPaint: number | null;
  /** The main script downloaded (from the network or the cache). */
  scriptLoaded: number | null;
  /** The engine's answer to getStatus arrived. */
  statusAnswered: number | null;
}

/** Waits for the dashboard's mark and reads the timings of this load (ms since navigation). */
async function measure(page: Page): Promise<Load> {
  const handle = await page.waitForFunction(
    (mark) => {
      const m = performance.getEntriesByName(mark)[0];
      if (!m) return null;
      const p = performance.getEntriesByName('first-contentful-paint')[0];
      // No named helpers in here: the page runs this text as it is (tsx would wrap them).
      const resources = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
      const script = resources.find((r) => /\/assets\/main-[^/]*\.js$/.test(r.name));
      const status = resources.find((r) => /\/api\/v1\/getStatus$/.test(r.name));
      return { firstRender: m.startTime, firstContentfulPaint: p?.startTime ?? null, scriptLoaded: script?.responseEnd ?? null, statusAnswered: status?.responseEnd ?? null };
    },
    DASHBOARD_FIRST_RENDER_MARK,
    { timeout: 30_000 },
  );
  return (await handle.jsonValue())!;
}

/** Medians of each timing over the loads, rounded. */
function summary(loads: Load[]): { firstRender: number; worst: number; firstContentfulPaint: number | null; scriptLoaded: number | null; statusAnswered: number | null } {
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

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A store with two weeks of earnings and a wallet: what a regular user's dashboard opens on. */
async function benchEngine(dir: string): Promise<{ ctx: ApiContext; close: () => void }> {
  const store = WorkerStore.open(dir);
  const now = Date.now();
  store.ledger.upsertMany(
    HUB,
    Array.from({ length: 600 }, (_, i) => ({
      id: String(i + 1),
      taskId: `task_${i + 1}`,
      kind: i % 3 ? 'matmul' : 'hashsearch',
      amount: String(50_000_000_000_000_000n + BigInt(i) * 1_000_000_000_000n),
      status: i % 50 === 0 ? ('rejected' as const) : i > 580 ? ('verified' as const) : ('paid' as const),
      createdAt: new Date(now - (600 - i) * 33 * 60_000).toISOString(),
    })),
  );
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
    close: () => {
      governor.stop();
      store.close();
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, loads: { type: 'string' } }, strict: true });
  const loads = Number(values.loads ?? 9);
  if (!Number.isInteger(loads) || loads < 1) {
    process.stderr.write('idleforge: --loads takes a whole number, 1 or more\n');
    return 2;
  }
  if (!existsSync(CHROMIUM)) {
    process.stderr.write(`idleforge: ${CHROMIUM} is missing: the UI bench needs Chromium (on Debian or Ubuntu: sudo apt-get install -y chromium)\n`);
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-bench-ui-'));
  const outdir = join(dir, 'dashboard');
  const engine = await benchEngine(join(dir, 'data'));
  const build = await buildDashboardFiles(outdir);
  const handlers = createHandlers(engine.ctx);
  const server = await startApiServer({
    call: (m, p) => dispatch(handlers, m, p),
    csv: () => csvExport(engine.ctx),
    files: loadDashboardFiles(outdir),
    subscribe: (send) => engine.ctx.engine.onStatus(() => send({ type: 'status', status: statusView(engine.ctx) })),
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const cold: Load[] = [];
  const warm: Load[] = [];
  try {
    for (let i = 0; i < loads; i++) {
      // A fresh profile: nothing cached (the first open after an install or an update).
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      await page.goto(server.url);
      cold.push(await measure(page));
      // Opened again: the script from the cache, V8's compiled code kept (the everyday case).
      await page.reload();
      warm.push(await measure(page));
      await context.close();
    }
  } finally {
    await browser.close();
    await server.close();
    engine.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const file = (path: string | null): { path: string; bytes: number; gzipBytes: number } => build.files.find((f) => f.path === path) ?? { path: '', bytes: 0, gzipBytes: 0 };
  const js = file(build.js);
  const css = file(build.css);
  const doc = {
    bundle: {
      js: { file: js.path, bytes: js.bytes, gzipBytes: js.gzipBytes },
      css: { file: css.path, bytes: css.bytes, gzipBytes: css.gzipBytes },
      totalGzipBytes: build.files.reduce((s, f) => s + f.gzipBytes, 0),
    },
    loads,
    /** The machine's load while measuring (1-minute load average, cores): timings scale with it. */
    machine: { loadAverage: Number(loadavg()[0]!.toFixed(2)), cores: cpus().length },
    /** Medians in ms since the navigation started. */
    cold: summary(cold),
    warm: summary(warm),
    targets: { firstRenderMs: 300, mainBundleGzipBytes: 300 * 1024 },
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(doc)}\n`);
    return 0;
  }
  const kb = (n: number): string => `${(n / 1024).toFixed(1)} kB`;
  const line = (name: string, s: ReturnType<typeof summary>): string =>
    `  ${name}: first render ${s.firstRender} ms (worst ${s.worst}); script loaded at ${s.scriptLoaded ?? '?'} ms, status answered at ${s.statusAnswered ?? '?'} ms, first contentful paint ${s.firstContentfulPaint ?? '?'} ms`;
  process.stdout.write(
    [
      `Dashboard bundle: main JS ${kb(js.bytes)} (${kb(js.gzipBytes)} gzipped), CSS ${kb(css.bytes)} (${kb(css.gzipBytes)} gzipped); target: main under 300 kB gzipped`,
      `First render of Home with data in headless Chromium, medians of ${loads} loads (load average ${doc.machine.loadAverage} on ${doc.machine.cores} cores); target: under 300 ms`,
      line('cold (fresh profile)', doc.cold),
      line('warm (opened again) ', doc.warm),
    ].join('\n') + '\n',
  );
  return 0;
}
