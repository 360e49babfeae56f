/**
 * The worker, assembled: store, wallet, scheduling, compute host, hub client, engine and the API
 * the dashboard calls. The headless CLI (`idleforge worker`) and the desktop shell (electron/)
 * both start the worker through here and differ only in what they pass: the shell hands in
 * Electron-backed sources, its own compute host (the hidden renderer) and an OS-protected vault.
 */
import { join } from 'node:path';
import { RigHeartbeatSchema, SettingsSchema, type CliEvent, type EngineEvent, type GpuReport, type RigHeartbeat, type Settings, type SettingsPatch } from '../protocol/index.js';
import { createHandlers, csvStream, dispatch, statusView, type ApiContext } from './api/handlers.js';
import { APP_VERSION } from './app-info.js';
import { createDawnHost } from './compute/dawn.js';
import type { ComputeHost } from './compute/compute-host.js';
import { HEARTBEAT_MS, WorkerEngine, type RunOptions } from './engine.js';
import { trackTaskTimes } from './engine/task-timer.js';
import { detectGpus } from './gpu/detect.js';
import { reconcileWithChain } from './chain/reconcile.js';
import { HubClient } from './hub-client.js';
import { Governor } from './schedule/governor.js';
import { nodeSources, type ConditionSources } from './schedule/sources.js';
import { startThermalControl } from './schedule/thermal.js';
import { CostMonitor } from './costs/monitor.js';
import { nodePowerSensor, PowerMeter, type PowerSensor } from './costs/power.js';
import { RatesWatcher } from './costs/rates-watcher.js';
import { connectSentinel, Sentinel } from './costs/sentinel.js';
import { callWebhook } from './rigs/webhook.js';
import { FleetLink, commandWords, ownFigures, ownRigName } from './rigs/link.js';
import { HubMirror } from './store/hub-mirror.js';
import { WorkerStore } from './store/index.js';
import { NO_WALLET_REASON, WalletGate } from './wallet/gate.js';
import type { WalletVault } from './wallet/index.js';
import { BalanceWatcher } from './wallet/watcher.js';

export interface WorkerLog {
  /** A machine-readable event (the CLI prints these with --json). */
  event(e: CliEvent): void;
  /** A line for people. */
  info(line: string): void;
  error(line: string): void;
}

export interface ComposeWorkerOptions {
  dataDir: string;
  vault: WalletVault;
  /** Settings for this run only, over the stored ones (the CLI's flags). */
  overrides?: SettingsPatch;
  /** Scheduling readings; default: the Node ones (xprintidle, systeminformation, /proc). */
  sources?: (settings: () => Settings) => ConditionSources;
  /** Where tasks run; default: Dawn (npm `webgpu`) in this process. */
  createHost?: (settings: Settings) => Promise<ComputeHost>;
  /**
   * Without a wallet: `create` one at start (the headless default), or `wait` in "Set up your
   * wallet to start earning" until the dashboard's create, import or watch (createWallet…).
   */
  walletSetup?: 'create' | 'wait';
  /** Reads the GPU's power draw; default nvidia-smi, else hwmon on Linux (costs/power.ts); null: estimate only. */
  powerSensor?: PowerSensor | null;
  log: WorkerLog;
}

export interface ComposedWorker {
  readonly engine: WorkerEngine;
  readonly store: WorkerStore;
  readonly governor: Governor;
  readonly vault: WalletVault;
  /** null until there is a wallet (walletSetup: 'wait'). */
  readonly balances: BalanceWatcher | null;
  readonly host: ComputeHost;
  /** The address that signs in; null until there is a wallet. */
  readonly address: string | null;
  readonly hubUrl: string;
  readonly gpus: GpuReport[];
  /** The link to the owner's other rigs (worker/rigs/). */
  readonly rigs: FleetLink;
  /** The current settings: stored ones with this run's overrides. */
  settings(): Settings;
  /** The engine API: parses `params` for `method`, runs it, returns its result. */
  call(method: string, params: unknown): Promise<unknown>;
  /** The earnings CSV, streamed a page of entries at a time. */
  csv(): { chunks: AsyncIterable<string>; filename: string };
  /** Engine events for the dashboard; returns an unsubscribe function. */
  subscribe(send: (e: EngineEvent) => void): () => void;
  run(o?: RunOptions): Promise<{ credited: number }>;
  /** Stops the readings and frees the GPU and the store; call after run() has returned. */
  close(): Promise<void>;
}

export async function composeWorker(o: ComposeWorkerOptions): Promise<ComposedWorker> {
  const { dataDir, vault, log } = o;
  const store = WorkerStore.open(dataDir);
  const overrides = o.overrides ?? {};
  const settings = (): Settings => {
    const merged = SettingsSchema.safeParse({ ...store.settings.get(), ...overrides });
    return merged.success ? merged.data : store.settings.get();
  };
  for (const problem of store.settings.problems) log.error(`settings: ${problem}`);
  const hubUrl = settings().hubUrl;
  const closers: (() => Promise<void> | void)[] = [() => store.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    // The wallet first: a missing passphrase is reported before the GPU is touched.
    if (await vault.migrateLegacy()) log.info('moved the worker key into an encrypted wallet (wallet.json)');
    if (!vault.exists() && o.walletSetup !== 'wait') {
      const created = await vault.create();
      log.info(`created a wallet for this worker: ${created.address}; back up its recovery phrase with \`idleforge wallet reveal --yes\``);
    }
    const wallet = new WalletGate(vault);
    if (vault.exists()) await wallet.open();

    // The GPU, the scheduling sources and GPU detection start together: startup is what a user
    // waits for after every reboot.
    const governor = new Governor({
      sources: o.sources?.(settings) ?? nodeSources({ gpuNames: () => settings().gpus }),
      settings,
      pause: () => store.settings.pause(),
      clearPause: () => store.settings.setPause({ kind: 'none' }),
    });
    closers.push(() => governor.stop());
    const createHost = o.createHost ?? ((s: Settings) => createDawnHost({ icdDir: join(dataDir, 'vulkan'), adapterNames: s.gpus }));
    const [host] = await Promise.all([createHost(settings()), governor.start()]);
    closers.push(() => host.close());
    const adapter = host.adapter;
    const wanted = settings().gpus;
    const adapterName = `${adapter.vendor} ${adapter.device} ${adapter.description}`.toLowerCase();
    if (wanted.length > 0 && !wanted.some((w) => adapterName.includes(w.toLowerCase()))) {
      log.error(`none of the chosen GPUs (${wanted.join(', ')}) was found; using ${adapter.description || adapter.device}`);
    }
    const gpus = await detectGpus({ webgpu: adapter });
    log.info(`Idleforge worker ${APP_VERSION}: ${wallet.ready ? wallet.address : 'no wallet yet'}, computing on ${adapter.description || adapter.device || adapter.vendor}${adapter.software ? ' (software, CPU speed)' : ''}`);
    log.info(`data: ${dataDir} · hub: ${hubUrl}`);

    let balances: BalanceWatcher | null = null;
    const client = new HubClient({ hubUrl, wallet });
    const mirror = new HubMirror({ source: client, store, ready: () => wallet.ready, log: (line) => log.info(line) });
    // The hub's books changed: the dashboards hear it at once, and again once the wallet's
    // balance (a payout moves it) has been read again.
    const ledgerListeners = new Set<() => void>();
    const ledgerChanged = (): void => ledgerListeners.forEach((l) => l());
    mirror.onChanged(() => {
      ledgerChanged();
      void balances?.refresh().then(ledgerChanged);
    });
    mirror.start();
    closers.push(() => mirror.stop());
    // The duty cycle (read by the engine after each task): held by a controller at the hour's
    // preset's target temperature, fed the governor's readings and whether the engine works; the
    // limit and its hysteresis in the governor stay the hard stop.
    let working = false;
    // The hub's rates (earnings estimate, reference price, strike limit) and the sentinel that
    // stops a GPU returning wrong results before the hub's strikes suspend the worker.
    const rates = new RatesWatcher({ read: () => client.rates(), log: (line) => log.info(line) });
    rates.start();
    closers.push(() => rates.stop());
    const sentinel = new Sentinel(store.sentinel, () => rates.current?.strikeLimit ?? null);
    closers.push(connectSentinel(sentinel, governor));
    // A pending result a replica later proved wrong reaches the ledger's mirror: a fault too.
    closers.push(mirror.onChanged(() => sentinel.recheck((ids) => store.sentinel.rejectedAmong(ids))));
    const thermal = startThermalControl({ source: governor, settings, working: () => working });
    // Rigs together (worker/rigs/): the name the fleet sees, what the heartbeat tells it, and the
    // link that applies the other rigs' commands and says when one of them goes quiet.
    const ownName = (): string => ownRigName(settings());
    // A reading the protocol would refuse (a sensor's odd value) leaves the fleet part out, never the heartbeat.
    const rigHeartbeat = (): RigHeartbeat | undefined => {
      const { reason, blockedBy } = engine.status;
      const parsed = RigHeartbeatSchema.safeParse({
        name: ownName(),
        reason: reason.slice(0, 300),
        blockedBy,
        temperatureC: governor.latest.temperatureC,
        ...ownFigures(store, new Date()),
      });
      return parsed.success ? parsed.data : undefined;
    };
    const rigListeners = new Set<(e: EngineEvent) => void>();
    const engine = new WorkerEngine({
      heartbeatMs: Math.min(HEARTBEAT_MS, (settings().rigOfflineAfterS * 1000) / 4),
      rig: rigHeartbeat,
      mirror,
      // Read at each sign-in: a watch-only address set up from the dashboard is registered too.
      get payoutAddress() {
        const info = vault.info();
        return info?.kind === 'watch' ? info.payoutAddress : null;
      },
      client,
      host,
      store,
      gpus,
      governor,
      settings,
      dutyCycle: () => thermal.dutyCycle(),
      sentinel,
      appVersion: APP_VERSION,
      onEvent: (e) => {
        // Signed in: the hub has named its token, so the balance can be read. Credited: a
        // payout may follow within seconds.
        if (e.event === 'signed-in') void balances?.refresh();
        if (e.event === 'credited') mirror.syncSoon();
        log.event(e);
      },
      log: (line) => log.info(line),
    });
    closers.push(() => thermal.stop());
    // What the GPU earns and costs: its energy counted by hour while it works, and whether work
    // pays now (a reading for "work only while it earns more than the electricity costs").
    const costs = new CostMonitor({
      store,
      power: new PowerMeter({ sensor: o.powerSensor === undefined ? nodePowerSensor() : o.powerSensor, gpuName: adapter.description || adapter.device || adapter.vendor }),
      settings,
      rates: () => rates.current,
      speed: () => engine.benchmark ?? store.settings.lastScore(),
      gpuName: adapter.description || adapter.device || adapter.vendor,
      working: () => working,
      duty: () => Math.min(thermal.dutyCycle(), sentinel.dutyCap),
      governor,
      log: (line) => log.info(line),
    });
    costs.start();
    closers.push(() => costs.stop());
    closers.push(
      engine.onStatus((s) => {
        const now = s.state === 'working';
        if (now === working) return;
        working = now;
        // Energy is counted from the moment work starts to the moment it stops.
        void costs.tick();
      }),
    );
    closers.push(trackTaskTimes((l) => engine.onStatus(l), store, client.hubUrl));
    wallet.onReady(() => {
      balances = new BalanceWatcher({
        rpc: () => settings().rpcUrl,
        address: vault.info()?.payoutAddress ?? wallet.address,
        token: () => store.hubs.tokenAddress(client.hubUrl),
      });
      balances.start();
      closers.push(() => balances?.stop());
    });
    const rigs = new FleetLink({
      client,
      store,
      settings,
      ready: () => wallet.ready,
      setPause: (p) => {
        store.settings.setPause(p);
        governor.reevaluate();
      },
      ownName,
      onAlert: (alert) => {
        log.event({ event: 'rig-alert', alert: alert.kind, rig: alert.rig, name: alert.name, message: alert.message });
        log.info(`rigs: ${alert.title}: ${alert.message}`);
        rigListeners.forEach((l) => l({ type: 'rig-alert', ...alert }));
        const hook = settings().rigAlertWebhook;
        if (hook) void callWebhook(hook, alert).catch((error: unknown) => log.error(`rigs: the alert webhook failed: ${error instanceof Error ? error.message : String(error)}`));
      },
      onCommand: (r) => {
        log.event({ event: 'rig-command', action: r.action, from: r.sender, fromName: r.senderName, outcome: r.outcome, reason: r.reason });
        const words = commandWords(r.action, r.senderName ?? r.sender);
        // In "Why am I not earning?": who sent it. A pause or a snooze is there already: the state it
        // leaves the rig in says who sent it ("Paused from desk-pc", schedule/conditions.ts).
        const own = r.action === 'pause' || r.action === 'snooze';
        if (r.outcome === 'applied' && !own) store.stateLog.add({ at: r.at, state: engine.status.state, reason: words });
        else log.info(`rigs: refused a command (${r.action}) from ${r.senderName ?? r.sender}: ${r.reason ?? ''}`);
      },
      onChange: () => rigListeners.forEach((l) => l({ type: 'rigs' })),
      log: (line) => log.info(line),
    });
    rigs.start();
    closers.push(() => rigs.stop());
    const ctx: ApiContext = {
      rigs,
      engine,
      store,
      governor,
      vault,
      wallet,
      balances: () => balances,
      payouts: mirror,
      settings,
      computeDevice: adapter.description || adapter.device || adapter.vendor || null,
      reconcile: () => reconcileWithChain({ hub: client, rpc: settings().rpcUrl }),
      hubUrl: client.hubUrl,
      gpus: () => gpus,
      sentinel,
      rates,
      costs,
    };
    const handlers = createHandlers(ctx);
    return {
      engine,
      store,
      governor,
      vault,
      get balances() {
        return balances;
      },
      host,
      get address() {
        return wallet.ready ? wallet.address : null;
      },
      hubUrl,
      gpus,
      rigs,
      settings,
      call: (method, params) => dispatch(handlers, method, params),
      csv: () => csvStream(ctx),
      subscribe(send) {
        const status = (): void => send({ type: 'status', status: statusView(ctx) });
        const offStatus = engine.onStatus(status);
        const offWallet = wallet.onReady(status);
        const offCredited = engine.onCredited((c) => send({ type: 'credited', ...c }));
        const onLedger = (): void => send({ type: 'ledger' });
        ledgerListeners.add(onLedger);
        rigListeners.add(send);
        return () => {
          rigListeners.delete(send);
          offStatus();
          offWallet();
          offCredited();
          ledgerListeners.delete(onLedger);
        };
      },
      async run(r) {
        if (!wallet.ready) {
          log.event({ event: 'state', state: 'waiting', reason: NO_WALLET_REASON });
          log.info(`${NO_WALLET_REASON}: open the dashboard to create, import or watch one`);
          store.stateLog.add({ at: new Date().toISOString(), state: 'waiting', reason: NO_WALLET_REASON });
          await wallet.waitUntilReady(r?.signal);
          if (!wallet.ready) return { credited: 0 };
          log.info(`wallet set up: ${wallet.address}`);
        }
        return engine.run(r);
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
