/**
 * `idleforge worker`: the headless engine for rigs. Settings come from the data directory's
 * store (the same the dashboard edits); flags override them for this run only.
 */
import { parseArgs } from 'node:util';
import { describeSettingsError, SettingsPatchSchema, type Settings, type SettingsPatch } from '../../protocol/index.js';
import { ensureDashboard, loadDashboardFiles } from '../api/dashboard-files.js';
import { startApiServer, type ApiServer } from '../api/server.js';
import { defaultDataDir } from '../app-info.js';
import { composeWorker, type ComposedWorker } from '../compose.js';
import { NoWebGpuError } from '../compute/dawn.js';
import { headlessVault } from '../wallet/index.js';
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

/** sysexits' EX_SOFTWARE: the worker stopped on its own, which it never should. */
export const EXIT_UNEXPECTED = 70;

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
  // Built (when stale) while the worker starts; the files are read once it is done.
  const dashboardBuilt = values.dashboard ? ensureDashboard((line) => out.info(line)) : null;
  let worker: ComposedWorker;
  try {
    // With the dashboard, a first run waits for the wallet to be set up there (create, import or
    // watch); headless, it creates one.
    worker = await composeWorker({
      dataDir,
      vault: headlessVault(dataDir, values['passphrase-file']),
      overrides,
      walletSetup: values.dashboard ? 'wait' : 'create',
      log: out,
    });
  } catch (error) {
    if (!(error instanceof NoWebGpuError)) throw error;
    out.error(error.message);
    return 1;
  }

  let api: ApiServer | null = null;
  if (dashboardBuilt) {
    await dashboardBuilt;
    api = await startApiServer({
      port: dashboardPort,
      call: (method, params) => worker.call(method, params),
      csv: () => worker.csv(),
      files: loadDashboardFiles(),
      subscribe: (send) => worker.subscribe(send),
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
  // The event loop emptied while the worker should still be working: nothing can ever wake it
  // again, and Node would exit with code 13 and no word. Say so, and exit with a code a service
  // manager (systemd's Restart=on-failure) acts on.
  const onEmptyLoop = (): void => {
    const { state, reason } = worker.engine.status;
    out.error(`idleforge worker stopped unexpectedly while ${state} (${reason}): nothing was left to wake it; this is a defect, please report it`);
    out.event({ event: 'error', message: `worker stopped unexpectedly while ${state}` });
    process.exit(EXIT_UNEXPECTED);
  };
  process.on('beforeExit', onEmptyLoop);
  try {
    const { credited } = await worker.run({ once, signal: stop.signal });
    out.info(`stopped after ${credited} credited task${credited === 1 ? '' : 's'}`);
    return 0;
  } finally {
    process.off('beforeExit', onEmptyLoop);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await api?.close();
    await worker.close();
  }
}
