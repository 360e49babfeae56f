/**
 * For component tests: an engine that answers from memory, through the real client (so every
 * answer is parsed by the API's schemas), and the dashboard rendered around it.
 */
import { render } from '@testing-library/react';
import {
  createEngineClient,
  EngineApiError,
  type EngineEvent,
  type EngineMethod,
  type EngineResult,
} from '../../protocol/engine-api.js';
import { DEFAULT_SETTINGS, SettingsSchema, type Settings } from '../../protocol/settings.js';
import { App } from './App.js';
import { DashboardProvider } from './context.js';
import { createDashboard, type Dashboard } from './store.js';
import type { Connection } from './transport.js';

export const ADDRESS = '0x1111111111111111111111111111111111111111';
export const TOKEN = { symbol: 'IDLE', decimals: 18 };
export const PHRASE = 'abandon ability able about above absent absorb abstract absurd abuse access accident';

export function statusOf(patch: Partial<EngineResult<'getStatus'>> = {}): EngineResult<'getStatus'> {
  return {
    state: 'working',
    reason: 'Working on a matmul task',
    blockedBy: null,
    task: { id: 'task_1', kind: 'matmul', startedAt: new Date().toISOString(), expectedMs: 2000 },
    credited: 3,
    address: ADDRESS,
    hubUrl: 'http://127.0.0.1:8787',
    temperatureC: 64,
    temperatureLimitC: 80,
    earnedToday: '1500000000000000000',
    earnedThisWeek: '12250000000000000000',
    token: TOKEN,
    ...patch,
  };
}

export function entry(i: number, patch: Partial<EngineResult<'getEarnings'>['entries'][number]> = {}): EngineResult<'getEarnings'>['entries'][number] {
  return {
    id: String(i),
    taskId: `task_${i}`,
    kind: 'matmul',
    amount: '250000000000000000',
    status: 'verified',
    createdAt: new Date(Date.UTC(2026, 0, 5, 10, i)).toISOString(),
    hub: 'http://127.0.0.1:8787',
    gpuMs: 1500,
    work: { units: '268435456', unit: 'FLOP' },
    check: { method: 'freivalds', rounds: 2 },
    reason: null,
    ...patch,
  };
}

export function reconciliationOf(patch: Partial<EngineResult<'reconcileEarnings'>> = {}): EngineResult<'reconcileEarnings'> {
  return {
    address: ADDRESS,
    treasury: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    fromBlock: 12,
    toBlock: 40,
    ledgerTotal: '1000000000000000000',
    chainTotal: '1000000000000000000',
    matched: 1,
    payouts: { mine: 1, others: 0 },
    notSentYet: 0,
    differences: [],
    otherSenders: [],
    otherTotal: '0',
    agrees: true,
    checkedAt: new Date(Date.UTC(2026, 0, 5, 12)).toISOString(),
    ...patch,
  };
}

export function outlookOf(patch: Partial<EngineResult<'getCostOutlook'>> = {}): EngineResult<'getCostOutlook'> {
  return {
    speed: { gflops: 20500, mhs: 3200, basis: 'measured' },
    estimate: { perHour: '36000000000000000000', kind: 'matmul', inDemand: true, from: 'tasks', tasks: 42 },
    noEstimate: null,
    last24h: '30500000000000000000',
    token: TOKEN,
    tokenValue: { perToken: 10_000, currency: 'EUR', source: 'hub-reference', label: 'a test reference price' },
    power: { milliwatts: 215_000, source: 'nvidia-smi', basis: null },
    currency: 'EUR',
    pricePerKwh: 300_000,
    valuePerHour: '360000',
    costPerHour: '64500',
    unprofitable: false,
    ...patch,
  };
}

export const OTHER_RIG = '0x2222222222222222222222222222222222222222';

/** This rig and another, desk-pc, working. */
export function rigsOf(patch: Partial<EngineResult<'getRigs'>> = {}): EngineResult<'getRigs'> {
  const rig = (address: string, name: string, you: boolean): EngineResult<'getRigs'>['rigs'][number] => ({
    address,
    name,
    you,
    online: true,
    heartbeatAt: new Date().toISOString(),
    state: 'working',
    reason: 'Working on a matmul task',
    temperatureC: 64,
    tasksToday: 7,
    earnedToday: '1500000000000000000',
    earnedWeek: '12250000000000000000',
    gpus: ['GeForce RTX 4070'],
  });
  return {
    status: 'ok',
    message: null,
    payoutAddress: ADDRESS,
    readAt: new Date().toISOString(),
    offlineAfterS: 120,
    rigs: [rig(ADDRESS, 'garage', true), rig(OTHER_RIG, 'desk-pc', false)],
    commands: [],
    ...patch,
  };
}

export interface FakeEngine {
  outlook: EngineResult<'getCostOutlook'>;
  calls: Array<{ method: EngineMethod; params: unknown }>;
  status: EngineResult<'getStatus'>;
  settings: Settings;
  entries: EngineResult<'getEarnings'>['entries'];
  /** What `reconcileEarnings` answers (default: ledger and chain agree on one payout). */
  reconciliation: EngineResult<'reconcileEarnings'>;
  payouts: EngineResult<'getPayouts'>['payouts'];
  rigs: EngineResult<'getRigs'>;
  /** Makes the next call of a method fail with this error. */
  failNext: Partial<Record<EngineMethod, EngineApiError>>;
  emit(e: EngineEvent): void;
  setConnection(c: Connection): void;
  dashboard: Dashboard;
}

export function fakeEngine(
  init: { status?: EngineResult<'getStatus'>; entries?: EngineResult<'getEarnings'>['entries']; payouts?: EngineResult<'getPayouts'>['payouts']; previews?: EngineResult<'getTilePreviews'>['previews']; connection?: Connection; down?: boolean; csvUrl?: string } = {},
): FakeEngine {
  const listeners = new Set<(e: EngineEvent) => void>();
  const connections = new Set<(c: Connection) => void>();
  const engine: Omit<FakeEngine, 'dashboard'> & { dashboard?: Dashboard } = {
    calls: [],
    status: init.status ?? statusOf(),
    settings: DEFAULT_SETTINGS,
    entries: init.entries ?? [],
    reconciliation: reconciliationOf(),
    payouts: init.payouts ?? [],
    outlook: outlookOf(),
    rigs: rigsOf(),
    failNext: {},
    emit: (e) => listeners.forEach((l) => l(e)),
    setConnection: (c) => connections.forEach((l) => l(c)),
  };
  let backedUp = false;
  const answer = (method: EngineMethod, params: Record<string, unknown>): unknown => {
    switch (method) {
      case 'getStatus':
        return engine.status;
      case 'getSettings':
        return { settings: engine.settings, problems: [] };
      case 'updateSettings': {
        const next = SettingsSchema.safeParse({ ...engine.settings, ...params });
        if (!next.success) throw new EngineApiError('INVALID_SETTINGS', next.error.issues[0]!.message);
        engine.settings = next.data;
        return { settings: engine.settings };
      }
      case 'getWallet':
        if (engine.status.address === null) throw new EngineApiError('NO_WALLET', 'there is no wallet yet');
        return { address: engine.status.address, payoutAddress: engine.status.address, kind: 'key', hasPhrase: true, backedUp };
      case 'createWallet':
        engine.status = statusOf({ ...engine.status, address: ADDRESS, blockedBy: null });
        return { address: ADDRESS, payoutAddress: ADDRESS, kind: 'key', hasPhrase: true, backedUp: false };
      case 'getBalance':
        return { status: 'ok', address: ADDRESS, native: '0', token: '3000000000000000000', symbol: 'IDLE', decimals: 18, updatedAt: new Date().toISOString() };
      case 'getEarnings': {
        const filtered = engine.entries.filter((e) => (!params.status || e.status === params.status) && (!params.kind || e.kind === params.kind));
        const start = params.cursor ? filtered.findIndex((e) => e.id === params.cursor) + 1 : 0;
        const limit = Number(params.limit ?? 50);
        const page = filtered.slice(start, start + limit);
        const more = start + limit < filtered.length;
        return { entries: page, nextCursor: more ? page[page.length - 1]!.id : null, kinds: ['hashsearch', 'matmul'], totals: { pending: '0', verified: '750000000000000000', paid: '0' } };
      }
      case 'getEarningsSeries':
        return { bucket: params.bucket, points: [{ start: new Date(Date.UTC(2026, 0, 5)).toISOString(), amount: '750000000000000000', tasks: 3 }] };
      case 'reconcileEarnings':
        return engine.reconciliation;
      case 'getPayouts': {
        const start = params.cursor ? engine.payouts.findIndex((p) => p.id === params.cursor) + 1 : 0;
        const limit = Number(params.limit ?? 50);
        const page = engine.payouts.slice(start, start + limit);
        return { payouts: page, nextCursor: start + limit < engine.payouts.length ? page[page.length - 1]!.id : null, syncedAt: null };
      }
      case 'getCostOutlook':
        return engine.outlook;
      case 'getEnergySeries':
        return {
          bucket: params.bucket,
          currency: 'EUR',
          points: [
            { start: new Date(Date.UTC(2026, 0, 4)).toISOString(), wh: 1534, gross: '2500000000000000000', grossValue: '25000', electricity: '460200', net: '-435200', estimated: true, unpriced: false },
            { start: new Date(Date.UTC(2026, 0, 5)).toISOString(), wh: 0, gross: '0', grossValue: '0', electricity: '0', net: '0', estimated: false, unpriced: false },
          ],
        };
      case 'exportCostsCsv':
        return { csv: 'date,gross_IDLE\r\n', filename: 'idleforge-costs-2026-01-05.csv' };
      case 'exportEarningsCsv':
        return { csv: 'date,task\r\n', filename: 'idleforge-earnings-2026-01-05.csv' };
      case 'getGpus':
        return { gpus: [{ vendor: 'NVIDIA', model: 'GeForce RTX 4070', vramMiB: 12282, driver: '560.1', software: false }], computeDevice: 'NVIDIA GeForce RTX 4070', score: { gflops: 20500, mhs: 3200, measuredAt: null }, temperatureC: 64 };
      case 'getTilePreviews': {
        const ids = params.taskIds as string[] | undefined;
        return { previews: (init.previews ?? []).filter((p) => !ids || ids.includes(p.taskId)) };
      }
      case 'getRunningPrograms':
        return { programs: ['bash', 'eldenring.exe', 'steam'] };
      case 'revealPhrase':
        return { phrase: PHRASE };
      case 'backupChallenge':
        return { positions: [2, 5, 11] };
      case 'confirmBackup': {
        const words = PHRASE.split(' ');
        const ok = Object.entries(params.words as Record<string, string>).every(([i, w]) => words[Number(i) - 1] === w);
        backedUp ||= ok;
        return { ok };
      }
      case 'pause':
        engine.status = statusOf({ ...engine.status, state: 'paused', reason: 'Paused by you', blockedBy: 'paused', task: null });
        return { pause: { kind: 'paused' } };
      case 'resume':
        engine.status = statusOf({ ...engine.status, state: 'waiting', reason: 'Waiting: the hub has no work right now', blockedBy: null });
        return { pause: { kind: 'none' } };
      case 'getRigs':
        return engine.rigs;
      case 'commandRig':
        return { id: '1' };
      case 'renameRig':
        return { name: params.name };
      case 'rigPairingCode':
        return { code: 'ABCD-EFGH-JKLM', expiresAt: new Date(Date.now() + 600_000).toISOString() };
      case 'joinRigs':
        if (params.code !== 'ABCD-EFGH-JKLM') throw new EngineApiError('BAD_PAIRING_CODE', 'that pairing code is unknown, used or expired: ask a rig of the fleet for a new one');
        engine.rigs = rigsOf();
        return { payoutAddress: ADDRESS };
      default:
        throw new EngineApiError('UNKNOWN_METHOD', `the fake engine has no ${method}`);
    }
  };
  const client = createEngineClient(async (method, params) => {
    engine.calls.push({ method, params });
    const failure = engine.failNext[method];
    if (failure) {
      delete engine.failNext[method];
      throw failure;
    }
    if (init.down) throw new EngineApiError('OFFLINE', 'The Idleforge engine is not answering. Is the worker still running?');
    return answer(method, (params ?? {}) as Record<string, unknown>);
  });
  engine.dashboard = createDashboard(client, {
    connection: init.connection ?? 'online',
    onEvent: (l) => (listeners.add(l), () => listeners.delete(l)),
    onConnection: (l) => (connections.add(l), () => connections.delete(l)),
    retry: () => {},
    ...(init.csvUrl === undefined ? {} : { csvUrl: init.csvUrl }),
  });
  return engine as FakeEngine;
}

/** The whole dashboard on a fake engine. */
export function renderDashboard(engine: FakeEngine) {
  engine.dashboard.actions.start();
  return render(
    <DashboardProvider value={engine.dashboard}>
      <App />
    </DashboardProvider>,
  );
}

export const callsOf = (engine: FakeEngine, method: EngineMethod): unknown[] => engine.calls.filter((c) => c.method === method).map((c) => c.params);
