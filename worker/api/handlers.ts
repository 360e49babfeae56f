/**
 * The engine's API implemented over the engine, its store and its governor. Every call is parsed
 * with the schemas of protocol/engine-api.ts before it runs; transports (HTTP here, IPC in the
 * shell) only carry method names and JSON.
 */
import {
  ENGINE_API,
  EngineApiError,
  programKey,
  SettingsSchema,
  type EngineMethod,
  type EngineResult,
  type GpuReport,
  type Reconciliation,
  type Settings,
  type WalletView,
} from '../../protocol/index.js';
import type { z } from 'zod';
import type { WorkerEngine } from '../engine.js';
import { BUILTIN_BLOCKLIST, findBlockedProgram } from '../schedule/blocklist.js';
import { blockerOf, dayIndex, type PauseState } from '../schedule/conditions.js';
import type { Governor } from '../schedule/governor.js';
import { thermalAim } from '../schedule/thermal.js';
import type { HubMirror } from '../store/hub-mirror.js';
import { SettingsError, type WorkerStore } from '../store/index.js';
import { NO_WALLET_REASON, type WalletGate } from '../wallet/gate.js';
import { PassphraseError, WalletError, type WalletInfo, type WalletVault } from '../wallet/index.js';
import type { BalanceWatcher } from '../wallet/watcher.js';
import { ReconcileError } from '../chain/reconcile.js';
import { earningsCsvStream } from './csv.js';
import { DEFAULT_SERIES_COUNT, seriesFromSums, seriesStart } from './series.js';
import { costsCsv } from '../costs/csv.js';
import { energySeries } from '../costs/energy-series.js';
import { tokenValueOf } from '../costs/estimate.js';
import type { CostMonitor } from '../costs/monitor.js';
import type { RatesWatcher } from '../costs/rates-watcher.js';
import { SENTINEL_WINDOW, type Sentinel } from '../costs/sentinel.js';
import type { FleetLink } from '../rigs/link.js';
import { rigHandlers } from '../rigs/handlers.js';

export interface ApiContext {
  engine: WorkerEngine;
  vault: WalletVault;
  store: WorkerStore;
  governor: Governor;
  hubUrl: string;
  gpus: () => GpuReport[];
  /** The engine's signer; it may wait for the dashboard's wallet setup. */
  wallet: WalletGate;
  /** The balance watcher, once there is a wallet. */
  balances: () => BalanceWatcher | null;
  /** The local copy of the hub's payouts (and ledger). */
  payouts?: HubMirror;
  /** The settings in effect (the stored ones with this run's overrides); default the stored ones. */
  settings?: () => Settings;
  /** The WebGPU adapter tasks run on. */
  computeDevice?: string | null;
  /** The hub's payouts checked against the chain (worker/chain/reconcile.ts); absent: no chain to check against. */
  reconcile?: () => Promise<Reconciliation>;
  /** Watches the last tasks for wrong results (costs/sentinel.ts); resume lifts its pause. */
  sentinel?: Sentinel;
  /** The hub's published rates, demand, reference price and strike limit. */
  rates?: RatesWatcher;
  /** What the GPU earns and costs (costs/monitor.ts). */
  costs?: CostMonitor;
  now?: () => Date;
  /** The link to the owner's other rigs; without one the rig methods say so. */
  rigs?: FleetLink;
}

type Handlers = { [M in EngineMethod]: (params: EngineParamsParsed<M>) => EngineResult<M> | Promise<EngineResult<M>> };
type EngineParamsParsed<M extends EngineMethod> = z.infer<(typeof ENGINE_API)[M]['params']>;

const pauseView = (p: PauseState): EngineResult<'pause'>['pause'] =>
  p.kind === 'snoozed' ? { ...p, until: p.until.toISOString() } : p;

/** Local midnight today, and the Monday that starts this week. */
export function periodStarts(now: Date): { day: Date; week: Date } {
  const day = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const week = new Date(day);
  week.setDate(day.getDate() - ((day.getDay() + 6) % 7));
  return { day, week };
}

export function snoozeUntil(choice: '30m' | '1h' | 'tomorrow', now: Date): Date {
  if (choice === '30m') return new Date(now.getTime() + 30 * 60_000);
  if (choice === '1h') return new Date(now.getTime() + 60 * 60_000);
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 8, 0, 0);
}

const nowOf = (ctx: ApiContext): Date => ctx.now?.() ?? new Date();
const settingsOf = (ctx: ApiContext): Settings => ctx.settings?.() ?? ctx.store.settings.get();

/** The status the dashboard shows, in one object. */
export function statusView(ctx: ApiContext): EngineResult<'getStatus'> {
  const s = ctx.engine.status;
  const { day, week } = periodStarts(nowOf(ctx));
  const waitingForWallet = !ctx.wallet.ready;
  return {
    ...s,
    ...(waitingForWallet ? { state: 'waiting' as const, reason: NO_WALLET_REASON, blockedBy: 'no-wallet' as const } : {}),
    task: s.task ? { ...s.task, expectedMs: ctx.store.taskTimes.typicalMs(s.task.kind) } : null,
    address: waitingForWallet ? null : ctx.wallet.address,
    hubUrl: ctx.hubUrl,
    temperatureC: ctx.governor.latest.temperatureC,
    temperatureLimitC: settingsOf(ctx).temperatureLimitC,
    earnedToday: sum(ctx.store.ledger.totals(day.toISOString())),
    earnedThisWeek: sum(ctx.store.ledger.totals(week.toISOString())),
    token: ctx.store.hubs.token(ctx.hubUrl),
    blocker: blockerOf(settingsOf(ctx), ctx.governor.latest),
  };
}

/** Gross, electricity and net by day or week (the Earnings view, the CSV). */
export function energySeriesOf(ctx: ApiContext, q: { bucket: 'day' | 'week'; count?: number; utcOffsetMinutes?: number }, at: Date): EngineResult<'getEnergySeries'> {
  const settings = settingsOf(ctx);
  const input = { bucket: q.bucket, count: q.count ?? DEFAULT_SERIES_COUNT[q.bucket], now: at, utcOffsetMinutes: q.utcOffsetMinutes ?? -at.getTimezoneOffset() };
  const since = seriesStart(input).toISOString();
  const currency = settings.electricity.currency;
  const points = energySeries(input, {
    energy: ctx.store.energy.since(since),
    gross: seriesFromSums((from, to) => ctx.store.ledger.sumsBetween(from, to), input),
    currency,
    value: tokenValueOf(settings, ctx.rates?.current ?? null),
    decimals: ctx.store.hubs.token(ctx.hubUrl).decimals,
  });
  return { bucket: q.bucket, currency, points };
}

/** The earnings CSV as it streams (GET /api/v1/earnings.csv): a chunk per page of entries. */
export function csvStream(ctx: ApiContext): { chunks: AsyncIterable<string>; filename: string } {
  return {
    chunks: earningsCsvStream(ctx.store.ledger.rowPages(), ctx.store.hubs.token(ctx.hubUrl)),
    filename: `idleforge-earnings-${nowOf(ctx).toISOString().slice(0, 10)}.csv`,
  };
}

/**
 * The CSV as one text, for `exportEarningsCsv` (the desktop window's IPC, whose answer is one
 * message); the dashboard over HTTP downloads the stream instead.
 */
export async function csvExport(ctx: ApiContext): Promise<EngineResult<'exportEarningsCsv'>> {
  const { chunks, filename } = csvStream(ctx);
  const parts: string[] = [];
  for await (const c of chunks) parts.push(c);
  return { csv: parts.join(''), filename };
}

const walletView = (info: WalletInfo): WalletView => ({
  address: info.address,
  payoutAddress: info.payoutAddress,
  kind: info.kind,
  hasPhrase: info.hasPhrase,
  backedUp: info.backedUp,
});

/** A name the blocklist would accept (a file name, not a path): what the picker offers. */
const ProgramNameSchema = SettingsSchema.shape.blockedPrograms.element;

export function runningPrograms(names: readonly string[] | null): string[] | null {
  if (names === null) return null;
  const seen = new Map<string, string>();
  for (const name of names) {
    const parsed = ProgramNameSchema.safeParse(name);
    if (parsed.success && !seen.has(programKey(parsed.data))) seen.set(programKey(parsed.data), parsed.data);
  }
  return [...seen.values()].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
}

export function diagnostics(ctx: ApiContext): EngineResult<'getDiagnostics'> {
  const s = settingsOf(ctx);
  const r = ctx.governor.latest;
  const status = statusView(ctx);
  const blocked = [...(s.useBuiltinBlocklist ? BUILTIN_BLOCKLIST : []), ...s.blockedPrograms];
  const now = nowOf(ctx);
  return {
    blockedBy: status.blockedBy,
    reason: status.reason,
    idleSeconds: r.idleSeconds === Infinity ? 'always' : r.idleSeconds,
    idleMinutesNeeded: s.idleMinutes,
    temperatureC: r.temperatureC,
    temperatureLimitC: s.temperatureLimitC,
    resumeAtC: s.temperatureLimitC - s.hysteresisC,
    fanPercent: r.fanPercent,
    fanCapPercent: thermalAim(s, now)?.fanCapPercent ?? null,
    onBattery: r.onBattery,
    allowOnBattery: s.allowOnBattery,
    blockedProgram: r.runningPrograms ? findBlockedProgram(r.runningPrograms, blocked) : null,
    scheduleEnabled: s.scheduleEnabled,
    inSchedule: (s.schedule[dayIndex(now)]?.[now.getHours()] ?? 'off') !== 'off',
    otherGpuUsePercent: r.otherGpuUsePercent,
    gpuBusyPercent: s.gpuBusyPercent,
    pause: pauseView(ctx.store.settings.pause()),
    ...(ctx.sentinel ? { gpuFaults: { ...ctx.sentinel.state, window: SENTINEL_WINDOW, pauseAt: ctx.sentinel.pauseAt } } : {}),
    profit: { only: s.workOnlyWhenProfitable, unprofitable: r.unprofitable ?? null },
  };
}

export function createHandlers(ctx: ApiContext): Handlers {
  const now = (): Date => nowOf(ctx);
  const setPause = (p: PauseState): { pause: EngineResult<'pause'>['pause'] } => {
    ctx.store.settings.setPause(p);
    ctx.governor.reevaluate();
    return { pause: pauseView(p) };
  };
  return {
    ...rigHandlers(ctx.rigs, ctx.store, now),
    getStatus: () => statusView(ctx),
    getGpus: () => {
      const score = ctx.engine.benchmark;
      const saved = ctx.store.settings.lastScore();
      return {
        gpus: ctx.gpus(),
        computeDevice: ctx.computeDevice ?? null,
        score: score ? { ...score, measuredAt: saved && saved.gflops === score.gflops ? saved.at : null } : null,
        temperatureC: ctx.governor.latest.temperatureC,
      };
    },
    getSettings: () => ({ settings: ctx.store.settings.get(), problems: ctx.store.settings.problems }),
    updateSettings: (patch) => {
      try {
        const settings = ctx.store.settings.update(patch);
        ctx.governor.reevaluate();
        return { settings };
      } catch (error) {
        if (error instanceof SettingsError) throw new EngineApiError('INVALID_SETTINGS', error.message);
        throw error;
      }
    },
    getEarnings: (q) => {
      let page: ReturnType<WorkerStore['ledger']['page']>;
      try {
        page = ctx.store.ledger.page({ ...q, limit: q.limit ?? 50 });
      } catch (error) {
        if (error instanceof RangeError) throw new EngineApiError('INVALID_CURSOR', error.message);
        throw error;
      }
      const t = ctx.store.ledger.totals();
      return {
        ...page,
        kinds: ctx.store.ledger.kinds(),
        totals: { pending: t.pending.toString(), verified: t.verified.toString(), paid: t.paid.toString() },
      };
    },
    reconcileEarnings: async () => {
      if (!ctx.reconcile) throw new EngineApiError('NO_CHAIN', 'this worker has no chain to check against');
      if (!ctx.wallet.ready) throw new EngineApiError('NO_WALLET', 'set up a wallet first: the check reads the payouts to its address');
      try {
        return await ctx.reconcile();
      } catch (error) {
        if (error instanceof ReconcileError) throw new EngineApiError(error.code, error.message);
        throw error;
      }
    },
    getTilePreviews: (q) => {
      const rows = q.taskIds ? ctx.store.previews.forTasks(q.taskIds) : ctx.store.previews.latest(q.limit ?? 12);
      return { previews: rows.map((r) => ({ taskId: r.taskId, kind: r.kind, width: r.width, height: r.height, rgb: Buffer.from(r.rgb).toString('base64'), createdAt: r.createdAt })) };
    },
    getEarningsSeries: (q) => {
      const at = now();
      const input = {
        bucket: q.bucket,
        count: q.count ?? DEFAULT_SERIES_COUNT[q.bucket],
        now: at,
        utcOffsetMinutes: q.utcOffsetMinutes ?? -at.getTimezoneOffset(),
      };
      return { bucket: q.bucket, points: seriesFromSums((from, to) => ctx.store.ledger.sumsBetween(from, to), input) };
    },
    getCostOutlook: () => {
      if (!ctx.costs) throw new EngineApiError('NO_COSTS', 'this engine does not count what its GPU costs');
      return ctx.costs.outlook();
    },
    getEnergySeries: (q) => energySeriesOf(ctx, q, now()),
    exportCostsCsv: (q) => {
      const at = now();
      const offset = q.utcOffsetMinutes ?? -at.getTimezoneOffset();
      const series = energySeriesOf(ctx, { bucket: 'day', count: q.days ?? 366, utcOffsetMinutes: offset }, at);
      return { csv: costsCsv(series.points, ctx.store.hubs.token(ctx.hubUrl), series.currency, offset), filename: `idleforge-costs-${at.toISOString().slice(0, 10)}.csv` };
    },
    getPayouts: (q) => {
      ctx.payouts?.refreshIfStale();
      return { ...ctx.store.payouts.page({ ...q, limit: q.limit ?? 50 }), syncedAt: ctx.payouts?.syncedAt ?? null };
    },
    exportEarningsCsv: () => csvExport(ctx),
    getStateHistory: (q) => ({ changes: ctx.store.stateLog.recent(q.limit ?? 100) }),
    getDiagnostics: () => diagnostics(ctx),
    getRunningPrograms: () => ({ programs: runningPrograms(ctx.governor.latest.runningPrograms) }),
    pause: () => setPause({ kind: 'paused' }),
    // Resuming also lifts the sentinel's pause (the user has looked at the GPU); its faults stay
    // counted, so one more wrong result pauses again.
    resume: () => {
      ctx.sentinel?.resume();
      return setPause({ kind: 'none' });
    },
    pauseUntilGone: () => {
      const program = blockerOf(settingsOf(ctx), ctx.governor.latest);
      if (program === null) throw new EngineApiError('NOTHING_TO_WAIT_FOR', 'no game, fullscreen app or program on the GPU is stopping work now');
      return setPause({ kind: 'until-gone', program });
    },
    snooze: (p) => setPause({ kind: 'snoozed', until: snoozeUntil(p.for, now()) }),
    getWallet: () => {
      const info = ctx.vault.info();
      if (!info) throw new EngineApiError('NO_WALLET', 'there is no wallet yet');
      return walletView(info);
    },
    createWallet: () => walletCall(() => ctx.wallet.create().then(walletView)),
    importWallet: (p) => walletCall(() => ctx.wallet.importSecret(p.secret).then(walletView)),
    watchWallet: (p) => walletCall(() => ctx.wallet.watch(p.address).then(walletView)),
    getBalance: async (p) => {
      const balances = ctx.balances();
      if (!balances) return { status: 'no-chain', message: 'there is no wallet yet' };
      if (p.refresh) await balances.refresh();
      return balances.current;
    },
    revealPhrase: (p) => walletCall(() => ctx.vault.revealPhrase(p.confirm).then((phrase) => ({ phrase }))),
    backupChallenge: () => ({ positions: ctx.vault.backupChallenge() }),
    confirmBackup: (p) =>
      walletCall(() => ctx.vault.confirmBackup(Object.fromEntries(Object.entries(p.words).map(([k, v]) => [Number(k), v]))).then((ok) => ({ ok }))),
  };
}

async function walletCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof WalletError || error instanceof PassphraseError) throw new EngineApiError('WALLET', error.message);
    throw error;
  }
}

const sum = (t: Record<'pending' | 'verified' | 'paid', bigint>): string => (t.pending + t.verified + t.paid).toString();

/** Parses `params` for `method` and runs it; unknown methods and bad params are EngineApiErrors. */
export async function dispatch(handlers: Handlers, method: string, params: unknown): Promise<unknown> {
  if (!Object.hasOwn(ENGINE_API, method)) throw new EngineApiError('UNKNOWN_METHOD', `there is no method ${method}`);
  const m = method as EngineMethod;
  const parsed = ENGINE_API[m].params.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new EngineApiError(m === 'updateSettings' ? 'INVALID_SETTINGS' : 'INVALID_PARAMS', `${where}${issue?.message ?? 'invalid parameters'}`);
  }
  const handler = handlers[m] as (p: unknown) => unknown;
  return ENGINE_API[m].result.parse(await handler(parsed.data));
}
