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
    ...patch,
  };
}

export interface FakeEngine {
  calls: Array<{ method: EngineMethod; params: unknown }>;
  status: EngineResult<'getStatus'>;
  settings: Settings;
  entries: EngineResult<'getEarnings'>['entries'];
  /** Makes the next call of a method fail with this error. */
  failNext: Partial<Record<EngineMethod, EngineApiError>>;
  emit(e: EngineEvent): void;
  setConnection(c: Connection): void;
  dashboard: Dashboard;
}

export function fakeEngine(
  init: { status?: EngineResult<'getStatus'>; entries?: EngineResult<'getEarnings'>['entries']; previews?: EngineResult<'getTilePreviews'>['previews']; connection?: Connection; down?: boolean } = {},
): FakeEngine {
  const listeners = new Set<(e: EngineEvent) => void>();
  const connections = new Set<(c: Connection) => void>();
  const engine: Omit<FakeEngine, 'dashboard'> & { dashboard?: Dashboard } = {
    calls: [],
    status: init.status ?? statusOf(),
    settings: DEFAULT_SETTINGS,
    entries: init.entries ?? [],
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
      case 'getPayouts':
        return { payouts: [], syncedAt: null };
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
