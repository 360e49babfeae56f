/**
 * The dashboard's state (zustand): what the engine last said, per view, with loading and error
 * states, and the actions that ask it for more. Events from the engine (status, credited, ledger)
 * and the connection's ups and downs keep it current; nothing here knows the transport.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  EngineApiError,
  type EngineClient,
  type EngineEvent,
  type EngineMethod,
  type EngineResult,
  type SeriesBucket,
} from '../../protocol/engine-api.js';
import type { HistoryStatus } from '../../protocol/engine-api.js';
import type { Reconciliation } from '../../protocol/reconcile.js';
import type { SettingsPatch } from '../../protocol/settings.js';
import { withSymbol } from './format.js';
import { BAD_TOKEN, type Connection, type EngineTransport } from './transport.js';

export const VIEWS = ['home', 'earnings', 'wallet', 'gpus', 'rigs', 'settings', 'why'] as const;
export type ViewId = (typeof VIEWS)[number];

export interface Resource<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
}
const empty = <T>(): Resource<T> => ({ data: null, error: null, loading: false });

type R<M extends EngineMethod> = EngineResult<M>;

export interface Notice {
  id: number;
  tone: 'success' | 'error' | 'info';
  text: string;
}

export interface HistoryFilter {
  status?: HistoryStatus;
  kind?: string;
}

export interface DashboardState {
  view: ViewId;
  connection: Connection;
  /** A problem no retry fixes (an out-of-date link): the whole page says so. */
  fatal: string | null;
  status: Resource<R<'getStatus'>>;
  settings: Resource<R<'getSettings'>>;
  /** data null with no error: there is no wallet yet. */
  wallet: Resource<R<'getWallet'> | null>;
  balance: Resource<R<'getBalance'>>;
  gpus: Resource<R<'getGpus'>>;
  bucket: SeriesBucket;
  series: Resource<R<'getEarningsSeries'>>;
  history: Resource<R<'getEarnings'>>;
  historyFilter: HistoryFilter;
  /** Cursors of the pages before the one shown (the first page has none). */
  historyCursors: string[];
  payouts: Resource<R<'getPayouts'>>;
  /** Cursors of the payouts' pages before the one shown (the first page has none). */
  payoutsCursors: string[];
  stateHistory: Resource<R<'getStateHistory'>>;
  diagnostics: Resource<R<'getDiagnostics'>>;
  programs: Resource<R<'getRunningPrograms'>>;
  /** What the GPU earns and costs an hour now. */
  outlook: Resource<R<'getCostOutlook'>>;
  energyBucket: 'day' | 'week';
  /** Gross, electricity and net by day or week. */
  energy: Resource<R<'getEnergySeries'>>;
  /** The owner's rigs (views/Rigs.tsx). */
  rigs: Resource<R<'getRigs'>>;
  /** Thumbnails of the latest tiles this GPU rendered (Home). */
  previews: Resource<R<'getTilePreviews'>>;
  /** Thumbnails of the history page's tasks that have them (Earnings). */
  historyPreviews: Resource<R<'getTilePreviews'>>;
  notices: Notice[];
}

type ResourceKey = {
  [K in keyof DashboardState]: DashboardState[K] extends Resource<unknown> ? K : never;
}[keyof DashboardState];

export const HISTORY_PAGE = 15;
/** Payouts per page: a minute of the devnet's payouts was a list 6,800 px long. */
export const PAYOUTS_PAGE = 10;
/** Thumbnails of rendered tiles Home shows. */
export const PREVIEWS_ON_HOME = 8;

export function messageOf(error: unknown): string {
  if (error instanceof EngineApiError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

export interface DashboardActions {
  start(): void;
  stop(): void;
  setView(view: ViewId): void;
  refresh(view?: ViewId): Promise<void>;
  retry(): void;
  pause(): Promise<void>;
  resume(): Promise<void>;
  snooze(span: '30m' | '1h' | 'tomorrow'): Promise<void>;
  /** Saves a change; throws EngineApiError with plain words when it does not fit. */
  saveSettings(patch: SettingsPatch): Promise<void>;
  loadPrograms(): Promise<void>;
  /** Reads the balances from the chain again (not the engine's last reading). */
  refreshBalance(): Promise<void>;
  setBucket(bucket: SeriesBucket): Promise<void>;
  setHistoryFilter(filter: HistoryFilter): Promise<void>;
  historyOlder(): Promise<void>;
  historyNewer(): Promise<void>;
  payoutsOlder(): Promise<void>;
  payoutsNewer(): Promise<void>;
  createWallet(): Promise<void>;
  importWallet(secret: string): Promise<void>;
  watchWallet(address: string): Promise<void>;
  revealPhrase(): Promise<string>;
  backupChallenge(): Promise<number[]>;
  confirmBackup(words: Record<string, string>): Promise<boolean>;
  /** The hub's payouts to the payout address checked against the chain ("Check against the chain"). */
  reconcile(): Promise<Reconciliation>;
  /** The CSV as text to save (over IPC), or the address it streams from (over HTTP). */
  exportCsv(): Promise<{ csv: string; filename: string } | { url: string }>;
  /** Gross, electricity and net by day, as CSV. */
  exportCostsCsv(): Promise<{ csv: string; filename: string }>;
  setEnergyBucket(bucket: 'day' | 'week'): Promise<void>;
  /** Pauses, resumes, snoozes or renames another rig; says so in a notice (or why not). */
  commandRig(target: string, name: string, action: 'pause' | 'resume' | 'snooze' | 'rename', extra?: { for?: '30m' | '1h' | 'tomorrow'; name?: string }): Promise<void>;
  /** Renames this rig; throws EngineApiError with plain words when the name does not fit. */
  renameRig(name: string): Promise<void>;
  rigPairingCode(): Promise<{ code: string; expiresAt: string }>;
  /** Joins the fleet this rig pays to; throws EngineApiError with plain words when refused. */
  joinRigs(code: string): Promise<void>;
  notify(tone: Notice['tone'], text: string): void;
  dismiss(id: number): void;
}

export interface Dashboard {
  store: StoreApi<DashboardState>;
  actions: DashboardActions;
}

export function createDashboard(client: EngineClient, transport: Pick<EngineTransport, 'onEvent' | 'onConnection' | 'connection' | 'retry' | 'csvUrl'>): Dashboard {
  const store = createStore<DashboardState>(() => ({
    view: 'home',
    connection: transport.connection,
    fatal: null,
    status: empty(),
    settings: empty(),
    wallet: empty(),
    balance: empty(),
    gpus: empty(),
    bucket: 'day',
    series: empty(),
    history: empty(),
    historyFilter: {},
    historyCursors: [],
    payouts: empty(),
    payoutsCursors: [],
    stateHistory: empty(),
    diagnostics: empty(),
    programs: empty(),
    outlook: empty(),
    energyBucket: 'day',
    energy: empty(),
    rigs: empty(),
    previews: empty(),
    historyPreviews: empty(),
    notices: [],
  }));
  const { getState: get, setState: set } = store;

  /** Runs `fetch` into resource `key`, keeping the last data when it fails. */
  async function load<K extends ResourceKey>(key: K, fetch: () => Promise<DashboardState[K]['data']>): Promise<void> {
    set((s) => ({ [key]: { ...s[key], loading: true } }) as Partial<DashboardState>);
    try {
      const data = await fetch();
      set({ [key]: { data, error: null, loading: false } } as Partial<DashboardState>);
    } catch (error) {
      if (error instanceof EngineApiError && error.code === BAD_TOKEN) set({ fatal: error.message });
      set((s) => ({ [key]: { data: s[key].data, error: messageOf(error), loading: false } }) as Partial<DashboardState>);
    }
  }

  const loaders = {
    status: () => load('status', () => client.getStatus({})),
    settings: () => load('settings', () => client.getSettings({})),
    wallet: () =>
      load('wallet', async () => {
        if (get().status.data?.address === null) return null;
        try {
          return await client.getWallet({});
        } catch (error) {
          if (error instanceof EngineApiError && error.code === 'NO_WALLET') return null;
          throw error;
        }
      }),
    balance: (refresh = false) => load('balance', () => client.getBalance(refresh ? { refresh } : {})),
    gpus: () => load('gpus', () => client.getGpus({})),
    series: () => load('series', () => client.getEarningsSeries({ bucket: get().bucket, utcOffsetMinutes: -new Date().getTimezoneOffset() })),
    history: () => {
      const { historyFilter, historyCursors } = get();
      const cursor = historyCursors[historyCursors.length - 1];
      return load('history', () => client.getEarnings({ ...historyFilter, limit: HISTORY_PAGE, ...(cursor ? { cursor } : {}) })).then(() => {
        // Thumbnails of the page's tasks that have them (rendered tiles): each task's receipt shows its own.
        const taskIds = get().history.data?.entries.map((e) => e.taskId) ?? [];
        return taskIds.length === 0 ? undefined : load('historyPreviews', () => client.getTilePreviews({ taskIds }));
      });
    },
    payouts: () => {
      const cursor = get().payoutsCursors.at(-1);
      return load('payouts', () => client.getPayouts({ limit: PAYOUTS_PAGE, ...(cursor ? { cursor } : {}) }));
    },
    stateHistory: () => load('stateHistory', () => client.getStateHistory({ limit: 60 })),
    diagnostics: () => load('diagnostics', () => client.getDiagnostics({})),
    programs: () => load('programs', () => client.getRunningPrograms({})),
    outlook: () => load('outlook', () => client.getCostOutlook({})),
    energy: () => load('energy', () => client.getEnergySeries({ bucket: get().energyBucket, utcOffsetMinutes: -new Date().getTimezoneOffset() })),
    rigs: () => load('rigs', () => client.getRigs({})),
    previews: () => load('previews', () => client.getTilePreviews({ limit: PREVIEWS_ON_HOME })),
  };

  const NEEDS: Record<ViewId, Array<keyof typeof loaders>> = {
    home: ['status', 'wallet', 'outlook', 'previews'],
    earnings: ['status', 'series', 'history', 'payouts', 'energy', 'outlook'],
    wallet: ['status', 'wallet', 'balance'],
    gpus: ['status', 'gpus'],
    settings: ['status', 'settings', 'gpus', 'outlook'],
    why: ['status', 'diagnostics', 'stateHistory', 'outlook'],
    rigs: ['status', 'rigs', 'settings'],
  };

  const refresh = async (view: ViewId = get().view): Promise<void> => {
    // The status first only where the wallet is asked about (it says whether there is one); every
    // other view asks for all of its data at once (one round trip, not two, before it is drawn).
    const needs = NEEDS[view];
    if (needs.includes('wallet')) {
      await loaders.status();
      await Promise.all(needs.filter((k) => k !== 'status').map((k) => loaders[k]()));
    } else {
      await Promise.all(needs.map((k) => loaders[k]()));
    }
  };

  // Earnings change in bursts (a credit, then a reconcile): refreshed once per burst.
  let ledgerTimer: ReturnType<typeof setTimeout> | null = null;
  const ledgerChanged = (): void => {
    if (ledgerTimer) return;
    ledgerTimer = setTimeout(() => {
      ledgerTimer = null;
      const view = get().view;
      if (view === 'earnings') void Promise.all([loaders.series(), loaders.history(), loaders.payouts(), loaders.energy()]);
      if (view === 'wallet') void loaders.balance();
      if (view === 'home') void loaders.outlook();
    }, 400);
  };

  let nextNotice = 1;
  const notify = (tone: Notice['tone'], text: string): void => {
    const notice = { id: nextNotice++, tone, text };
    set((s) => ({ notices: [...s.notices.slice(-3), notice] }));
  };
  // Credits arrive a task at a time (every second on a fast GPU): one toast sums them while
  // they keep coming, instead of a stack that covers the page.
  let credits: { id: number; count: number; amount: bigint; kind: string } | null = null;
  const notifyCredit = (amount: string, kind: string): void => {
    const live = credits !== null && get().notices.some((n) => n.id === credits!.id);
    const sum = { id: nextNotice++, count: live ? credits!.count + 1 : 1, amount: (live ? credits!.amount : 0n) + BigInt(amount), kind };
    const previous = live ? credits!.id : null;
    credits = sum;
    const token = get().status.data?.token;
    const value = token ? withSymbol(sum.amount.toString(), token) : sum.amount.toString();
    const text = sum.count === 1 ? `+${value} for a ${kind} task` : `+${value} for ${sum.count} tasks`;
    set((s) => ({ notices: [...s.notices.filter((n) => n.id !== previous).slice(-3), { id: sum.id, tone: 'success', text }] }));
  };

  const onEvent = (e: EngineEvent): void => {
    if (e.type === 'status') {
      const hadWallet = get().status.data?.address ?? null;
      set({ status: { data: e.status, error: null, loading: false } });
      if (hadWallet === null && e.status.address !== null && get().wallet.data === null) void loaders.wallet();
      if (get().view === 'why') void Promise.all([loaders.diagnostics(), loaders.stateHistory()]);
    } else if (e.type === 'credited') {
      notifyCredit(e.amount, e.kind);
      ledgerChanged();
      if (get().view === 'home') void loaders.previews();
    } else if (e.type === 'rigs') {
      if (get().view === 'rigs') void loaders.rigs();
    } else if (e.type === 'rig-alert') {
      notify(e.kind === 'online' ? 'info' : 'error', `${e.title}. ${e.message}`);
      if (get().view === 'rigs') void loaders.rigs();
    } else {
      ledgerChanged();
    }
  };

  const offs: Array<() => void> = [];
  const pauseCall = async (fn: () => Promise<unknown>, done: string): Promise<void> => {
    try {
      await fn();
      notify('info', done);
    } catch (error) {
      notify('error', messageOf(error));
    }
    await loaders.status();
    if (get().view === 'why') await loaders.diagnostics();
  };

  const afterWallet = async (text: string): Promise<void> => {
    notify('success', text);
    await Promise.all([loaders.wallet(), loaders.status(), loaders.balance()]);
  };

  const actions: DashboardActions = {
    start() {
      offs.push(transport.onEvent(onEvent));
      offs.push(
        transport.onConnection((c) => {
          const was = get().connection;
          set({ connection: c });
          if (c === 'online' && was !== 'online') void refresh();
        }),
      );
      void refresh();
    },
    stop() {
      for (const off of offs.splice(0)) off();
      if (ledgerTimer) clearTimeout(ledgerTimer);
    },
    setView(view) {
      set({ view });
      void refresh(view);
    },
    refresh,
    retry() {
      transport.retry();
      set({ fatal: null });
      void refresh();
    },
    pause: () => pauseCall(() => client.pause({}), 'Paused. Your GPU is all yours.'),
    resume: () => pauseCall(() => client.resume({}), 'Resumed: work starts as soon as every condition allows.'),
    snooze: (span) => pauseCall(() => client.snooze({ for: span }), span === 'tomorrow' ? 'Snoozed until 08:00 tomorrow.' : `Snoozed for ${span === '30m' ? '30 minutes' : 'an hour'}.`),
    async saveSettings(patch) {
      const { settings } = await client.updateSettings(patch);
      set((s) => ({ settings: { data: { settings, problems: s.settings.data?.problems ?? [] }, error: null, loading: false } }));
      notify('success', 'Settings saved.');
      void loaders.status();
      void loaders.outlook();
    },
    loadPrograms: loaders.programs,
    refreshBalance: () => loaders.balance(true),
    async setBucket(bucket) {
      set({ bucket });
      await loaders.series();
    },
    async setHistoryFilter(filter) {
      set({ historyFilter: filter, historyCursors: [] });
      await loaders.history();
    },
    async historyOlder() {
      const next = get().history.data?.nextCursor;
      if (!next) return;
      set((s) => ({ historyCursors: [...s.historyCursors, next] }));
      await loaders.history();
    },
    async historyNewer() {
      set((s) => ({ historyCursors: s.historyCursors.slice(0, -1) }));
      await loaders.history();
    },
    async payoutsOlder() {
      const next = get().payouts.data?.nextCursor;
      if (!next) return;
      set((s) => ({ payoutsCursors: [...s.payoutsCursors, next] }));
      await loaders.payouts();
    },
    async payoutsNewer() {
      set((s) => ({ payoutsCursors: s.payoutsCursors.slice(0, -1) }));
      await loaders.payouts();
    },
    async createWallet() {
      const w = await client.createWallet({});
      await afterWallet(`Wallet created: ${w.address}. Back up its recovery phrase next.`);
    },
    async importWallet(secret) {
      const w = await client.importWallet({ secret });
      await afterWallet(`Wallet imported: ${w.address}.`);
    },
    async watchWallet(address) {
      const w = await client.watchWallet({ address });
      await afterWallet(`Payouts now go to ${w.payoutAddress}.`);
    },
    async revealPhrase() {
      return (await client.revealPhrase({ confirm: true })).phrase;
    },
    async backupChallenge() {
      return (await client.backupChallenge({})).positions;
    },
    async confirmBackup(words) {
      const { ok } = await client.confirmBackup({ words });
      if (ok) await afterWallet('Backup checked: your recovery phrase is safe with you.');
      return ok;
    },
    reconcile: () => client.reconcileEarnings({}),
    exportCsv: async () => (transport.csvUrl === undefined ? client.exportEarningsCsv({}) : { url: transport.csvUrl }),
    exportCostsCsv: () => client.exportCostsCsv({ utcOffsetMinutes: -new Date().getTimezoneOffset() }),
    async setEnergyBucket(bucket) {
      set({ energyBucket: bucket });
      await loaders.energy();
    },
    async commandRig(target, name, action, extra = {}) {
      try {
        await client.commandRig({ target, action, ...(extra.for ? { for: extra.for } : {}), ...(extra.name ? { name: extra.name } : {}) });
        const words = { pause: 'pause', resume: 'resume', snooze: 'snooze', rename: 'rename' }[action];
        notify('info', `Sent: ${words} ${name}. It takes effect within seconds while ${name} is online.`);
      } catch (error) {
        notify('error', messageOf(error));
      }
    },
    async renameRig(name) {
      await client.renameRig({ name });
      notify('success', `This rig is now called ${name}; your other rigs see it at its next heartbeat.`);
      await Promise.all([loaders.rigs(), loaders.settings()]);
    },
    rigPairingCode: () => client.rigPairingCode({}),
    async joinRigs(code) {
      const { payoutAddress } = await client.joinRigs({ code });
      notify('success', `Joined the rigs paying to ${payoutAddress}.`);
      await loaders.rigs();
    },
    notify,
    dismiss(id) {
      set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
    },
  };
  return { store, actions };
}
