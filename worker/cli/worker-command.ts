/**
 * `idleforge worker`: the headless engine for rigs. Settings come from the data directory's
 * store (the same the dashboard edits); flags override them for this run only.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeSettingsError, SettingsPatchSchema, SettingsSchema, type Settings, type SettingsPatch } from '../../protocol/index.js';
import { createHandlers, csvExport, dispatch, statusView } from '../api/handlers.js';
import { startApiServer, type ApiServer } from '../api/server.js';
import { STATUS_PAGE } from '../api/status-page.js';
import { APP_VERSION, defaultDataDir } from '../app-info.js';
import { createDawnHost, NoWebGpuError } from '../compute/dawn.js';
import type { ComputeHost } from '../compute/host.js';
import { WorkerEngine } from '../engine.js';
import { detectGpus } from '../gpu/detect.js';
import { HubClient } from '../hub-client.js';
import { headlessVault } from '../wallet/index.js';
import { BalanceWatcher } from '../wallet/watcher.js';
import { Governor } from '../schedule/governor.js';
import { nodeSources } from '../schedule/sources.js';
import { WorkerStore } from '../store/index.js';
import { UsageError, type Output } from './output.js';

function flagOverrides(values: Record<string, string | boolean | string[] | undefined>): SettingsPatch {
  const patch: Record<string, unknown> = {};
  const num = (name: string, key: keyof Settings): void => {
    const v = values[name];
    if (typeof v !== 'string') return;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} takes a number, not ${v}`);
    patch[key] = n;
  };
  num('idle-minutes', 'idleMinutes');
  num('intensity', 'intensity');
  num('temp-limit', 'temperatureLimitC');
  if (typeof values.hub === 'string') patch.hubUrl = values.hub;
  if (typeof values.rpc === 'string') patch.rpcUrl = values.rpc;
  if (Array.isArray(values.gpu)) patch.gpus = values.gpu;
  const parsed = SettingsPatchSchema.safeParse(patch);
  if (!parsed.success) throw new UsageError(flagWords(describeSettingsError(parsed.error)));
  return parsed.data;
}

const FLAG_OF: Record<string, string> = { idleMinutes: '--idle-minutes', intensity: '--intensity', temperatureLimitC: '--temp-limit', hubUrl: '--hub', rpcUrl: '--rpc', gpus: '--gpu' };
const flagWords = (message: string): string => message.replace(/^(\w+): /, (_m, key: string) => `${FLAG_OF[key] ?? key}: `).replace(/^--intensity: .*/, '--intensity takes 25, 50, 75 or 100');

export async function workerCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      data: { type: 'string' },
      once: { type: 'string' },
      json: { type: 'boolean' },
      dashboard: { type: 'boolean' },
      'dashboard-port': { type: 'string' },
      'idle-minutes': { type: 'string' },
      intensity: { type: 'string' },
      'temp-limit': { type: 'string' },
      gpu: { type: 'string', multiple: true },
      'passphrase-file': { type: 'string' },
      rpc: { type: 'string' },
    },
    strict: true,
  });
  const envHub = process.env.IDLEFORGE_HUB;
  const overrides = flagOverrides({ ...values, hub: values.hub ?? (envHub ? envHub : undefined) });
  let once: number | undefined;
  if (values.once !== undefined) {
    once = Number(values.once);
    if (!Number.isInteger(once) || once < 1) throw new UsageError('--once takes a whole number of tasks, 1 or more');
  }
  let dashboardPort = 0;
  if (values['dashboard-port'] !== undefined) {
    dashboardPort = Number(values['dashboard-port']);
    if (!Number.isInteger(dashboardPort) || dashboardPort < 0 || dashboardPort > 65535) throw new UsageError('--dashboard-port takes a port number');
  }
  const dataDir = values.data ?? defaultDataDir();
  const store = WorkerStore.open(dataDir);
  const settings = (): Settings => {
    const merged = SettingsSchema.safeParse({ ...store.settings.get(), ...overrides });
    return merged.success ? merged.data : store.settings.get();
  };
  for (const problem of store.settings.problems) out.error(`settings: ${problem}`);
  const hubUrl = settings().hubUrl;
  // The wallet first: a missing passphrase is reported before the GPU is touched.
  let wallet;
  const vault = headlessVault(dataDir, values['passphrase-file']);
  try {
    if (await vault.migrateLegacy()) out.info('moved the worker key into an encrypted wallet (wallet.json)');
    if (!vault.exists()) {
      const created = await vault.create();
      out.info(`created a wallet for this worker: ${created.address}; back up its recovery phrase with \`idleforge wallet reveal --yes\``);
    }
    wallet = await vault.unlock();
  } catch (error) {
    store.close();
    throw error;
  }

  // The GPU, the scheduling sources and GPU detection start together: startup is what a user
  // waits for after every reboot.
  const governor = new Governor({
    sources: nodeSources({ gpuNames: () => settings().gpus }),
    settings,
    pause: () => store.settings.pause(),
  });
  const [opened] = await Promise.all([
    createDawnHost({ icdDir: join(dataDir, 'vulkan'), adapterNames: settings().gpus }).then(
      (h) => ({ ok: true as const, host: h }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    governor.start(),
  ]);
  if (!opened.ok) {
    governor.stop();
    store.close();
    if (!(opened.error instanceof NoWebGpuError)) throw opened.error;
    out.error(opened.error.message);
    return 1;
  }
  const host: ComputeHost = opened.host;
  const adapter = host.adapter;
  const gpusDetected = detectGpus({ webgpu: adapter });
  const wanted = settings().gpus;
  const adapterName = `${adapter.vendor} ${adapter.device} ${adapter.description}`.toLowerCase();
  if (wanted.length > 0 && !wanted.some((w) => adapterName.includes(w.toLowerCase()))) {
    out.error(`none of the chosen GPUs (${wanted.join(', ')}) was found; using ${adapter.description || adapter.device}`);
  }
  const client = new HubClient({ hubUrl, wallet });
  const gpus = await gpusDetected;
  out.info(`Idleforge worker ${APP_VERSION}: ${wallet.address}, computing on ${adapter.description || adapter.device || adapter.vendor}${adapter.software ? ' (software, CPU speed)' : ''}`);
  out.info(`data: ${dataDir} · hub: ${hubUrl}`);

  const balances = new BalanceWatcher({
    rpc: () => settings().rpcUrl,
    address: vault.info()?.payoutAddress ?? wallet.address,
    token: () => store.hubs.tokenAddress(hubUrl),
  });
  balances.start();
  const engine = new WorkerEngine({
    onLedgerChanged: () => void balances.refresh(),
    kinds: ['matmul', 'hashsearch'],
    payoutAddress: vault.info()?.kind === 'watch' ? vault.info()!.payoutAddress : null,
    client,
    host,
    store,
    gpus,
    governor,
    settings,
    appVersion: APP_VERSION,
    onEvent: (e) => out.event(e),
    log: (line) => out.info(line),
  });

  let api: ApiServer | null = null;
  if (values.dashboard) {
    const ctx = { engine, store, governor, vault, balances, address: wallet.address, hubUrl, gpus: () => gpus };
    const handlers = createHandlers(ctx);
    api = await startApiServer({
      port: dashboardPort,
      call: (method, params) => dispatch(handlers, method, params),
      csv: () => csvExport(ctx),
      page: () => STATUS_PAGE,
      subscribe: (send) => {
        const offStatus = engine.onStatus(() => send({ type: 'status', status: statusView(ctx) }));
        const offCredited = engine.onCredited((c) => send({ type: 'credited', ...c }));
        return () => {
          offStatus();
          offCredited();
        };
      },
    });
    out.event({ event: 'dashboard', url: api.url });
    out.info(`dashboard: ${api.url}`);
  }

  const stop = new AbortController();
  const onSignal = (name: string) => () => {
    if (stop.signal.aborted) {
      out.error(`${name} again: quitting now`);
      process.exit(130);
    }
    out.info(`${name}: finishing up (press Ctrl-C again to quit at once)`);
    stop.abort();
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const { credited } = await engine.run({ once, signal: stop.signal });
    out.info(`stopped after ${credited} credited task${credited === 1 ? '' : 's'}`);
    return 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    governor.stop();
    balances.stop();
    await api?.close();
    await host.close();
    store.close();
  }
}
