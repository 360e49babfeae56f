/**
 * The task loop: lease → run → save → submit → record. It never submits a failed run, saves
 * every result before handing it over, backs off while the hub is unreachable, and mirrors the
 * hub's ledger at start, periodically, and on the way out.
 *
 * Pipelined, so the GPU does not wait on the network: while a task runs, the next two are leased;
 * once it has run, the next starts at once and the result is saved and submitted meanwhile (one
 * submission in flight at most). Tasks a pause or a stop leaves unrun (the one stopped mid-way,
 * those leased ahead) are given back to the hub at once (`POST /v1/tasks/{id}/release`), so no
 * one waits for their leases to lapse; heartbeats and ledger reconciling run beside the work.
 */
import { KIND_NAMES } from '../jobs/index.js';
import { KernelError } from '../kernels/types.js';
import {
  formatUnits,
  type CliEvent,
  type EarningStatus,
  type GpuReport,
  type ResultResponse,
  type Task,
  type WorkerState,
} from '../protocol/index.js';
import type { Settings } from '../protocol/settings.js';
import type { ComputeHost } from './compute/compute-host.js';
import type { BlockCode } from './schedule/conditions.js';
import type { Governor } from './schedule/governor.js';
import { HubError, HubUnreachableError, type HubClient } from './hub-client.js';
import { DEFAULT_TOKEN, type TokenInfo, type WorkerStore } from './store/index.js';

export interface EngineOptions {
  client: HubClient;
  host: ComputeHost;
  store: WorkerStore;
  gpus: GpuReport[];
  appVersion: string;
  kinds?: readonly string[];
  /** Machine-readable events (the CLI prints them with --json). */
  onEvent?: (event: CliEvent) => void;
  /** Plain progress lines for people. */
  log?: (line: string) => void;
  heartbeatMs?: number;
  reconcileMs?: number;
  /** Waits while the hub has no work: doubles from min to max. */
  idleBackoffMs?: { min: number; max: number };
  /** Waits while the hub cannot be reached: doubles from min to max. */
  offlineBackoffMs?: { min: number; max: number };
  /** Decides when work may run; without one, work always may. */
  governor?: Governor;
  /** A watch-only wallet's payout address, registered with the hub at every sign-in. */
  payoutAddress?: string | null;
  /** Called when reconciling changed the local ledger (a payout may have landed). */
  onLedgerChanged?: () => void;
  /** The current settings (intensity); read before each task. */
  settings?: () => Settings;
  /**
   * The duty cycle to work at, 0..1 (schedule/thermal.ts: the controller that holds the GPU at
   * its preset's target); re-read every second of a rest. Without one: `intensity`.
   */
  dutyCycle?: () => number;
}

export interface CurrentTask {
  id: string;
  kind: string;
  startedAt: string;
}

export interface EngineStatus {
  state: WorkerState;
  reason: string;
  /** Why work is stopped, when a scheduling condition stops it. */
  blockedBy: BlockCode | null;
  task: CurrentTask | null;
  credited: number;
}

export interface RunOptions {
  /** Stop after this many tasks have been credited. */
  once?: number;
  signal?: AbortSignal;
}

const STATUS_OF: Record<ResultResponse['status'], EarningStatus> = {
  accepted: 'verified',
  pending: 'pending',
  rejected: 'rejected',
};

export class WorkerEngine {
  private state: WorkerState = 'starting';
  private reason = 'starting up';
  private blockedBy: BlockCode | null = null;
  private task: CurrentTask | null = null;
  private readonly listeners = new Set<(s: EngineStatus) => void>();
  private credited = 0;
  private lastHeartbeat = 0;
  private lastReconcile = 0;
  private readonly kinds: readonly string[];
  private token: TokenInfo = DEFAULT_TOKEN;
  private earnedThisRun = 0n;
  /** The next tasks, leased while the current one runs (LEASE_AHEAD of them at most). */
  private ahead: Promise<Task | null>[] = [];
  /** Submissions not yet settled (save → submit → record; they run one after another), oldest first. */
  private readonly unsent: Promise<void>[] = [];
  /** The last submission: settled once every earlier one is. */
  private get submitting(): Promise<void> {
    return this.unsent.at(-1) ?? Promise.resolve();
  }
  /** An error of the work done beside the loop (a submission, a heartbeat), for the loop to handle. */
  private besideError: unknown = null;
  /** A submission failed: saved results are submitted again before the next task. */
  private resubmit = false;
  private housekeepingRunning = false;
  /** The last hand-back of the GPU, in ms from noticing to memory freed; null before the first. */
  lastHandoffMs: number | null = null;

  constructor(private readonly o: EngineOptions) {
    this.kinds = o.kinds ?? KIND_NAMES;
    // While no task runs, a new reason to wait shows at once (not at the next loop turn).
    o.governor?.onChange((d) => {
      // A game, a fullscreen app or another program wanting the GPU gets its memory back, not
      // only its time; how long that took from noticing is kept for "Why am I not earning?".
      if (!d.allowed && HANDS_BACK.has(d.code)) this.handBack(d.reason);
      if (this.task || d.allowed) return;
      this.showBlocked(d.code, d.reason);
    });
  }

  /** Frees the GPU (device destroyed, its memory given back) and records how long it took. */
  private handBack(reason: string): void {
    const release = this.o.host.release;
    if (!release) return;
    const noticed = performance.now();
    void release.call(this.o.host).then(
      () => {
        const ms = Math.round((performance.now() - noticed) * 10) / 10;
        this.lastHandoffMs = ms;
        this.o.store.stateLog.add({ at: new Date().toISOString(), state: this.state, reason: `Gave the GPU back (${reason.replace(/^Paused: /, '')}): its memory was freed ${ms} ms after Idleforge noticed`, handoffMs: ms });
        this.log(`GPU handed back in ${ms} ms`);
      },
      (error: unknown) => this.log(`could not free the GPU: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  private showBlocked(code: BlockCode, reason: string): void {
    this.blockedBy = code;
    this.setState(code === 'paused' || code === 'snoozed' ? 'paused' : 'waiting', reason);
  }

  get status(): EngineStatus {
    return { state: this.state, reason: this.reason, blockedBy: this.blockedBy, task: this.task, credited: this.credited };
  }

  /** Called for every credited task. */
  onCredited(listener: (c: { taskId: string; kind: string; amount: string }) => void): () => void {
    this.creditListeners.add(listener);
    return () => this.creditListeners.delete(listener);
  }
  private readonly creditListeners = new Set<(c: { taskId: string; kind: string; amount: string }) => void>();

  /** Called on every change of state or task. */
  onStatus(listener: (s: EngineStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async run({ once, signal }: RunOptions = {}): Promise<{ credited: number }> {
    const idle = new Backoff(this.o.idleBackoffMs ?? { min: 500, max: 10_000 });
    const offline = new Backoff(this.o.offlineBackoffMs ?? { min: 1_000, max: 30_000 });
    let connected = false;
    const done = (): boolean => once !== undefined && this.credited >= once;
    while (!signal?.aborted && !done()) {
      try {
        // A submission that could complete --once N is awaited before leasing more.
        if (once !== undefined && this.credited + this.unsent.length >= once) {
          await this.submitting;
          if (done()) break;
        }
        if (this.besideError !== null) {
          const error = this.besideError;
          this.besideError = null;
          throw error;
        }
        if (!connected) {
          await this.submitting;
          this.ahead = [];
          await this.connect();
          connected = true;
          offline.reset();
        }
        if (this.resubmit) {
          this.resubmit = false;
          await this.resubmitSaved();
        }
        await this.housekeeping();
        const decision = this.o.governor?.decision;
        if (decision && !decision.allowed) {
          this.showBlocked(decision.code, decision.reason);
          await this.releaseAhead();
          // Wake at least every 30 s for heartbeats and the ledger. The wake-up is a timer that
          // holds the process open: the governor's readings are unref'd, and AbortSignal.timeout's
          // timer is too, so a headless worker waiting out a game or a pause had nothing keeping
          // its event loop alive and exited (code 13) instead of coming back.
          await waitFor(WAKE_WHILE_BLOCKED_MS, signal, (wake) => this.o.governor!.waitUntilAllowed(wake));
          continue;
        }
        this.blockedBy = null;
        const task = await this.nextTask();
        if (!task) {
          const why = this.o.client.noWorkReason;
          this.setState('waiting', why ? `Waiting: ${why}` : 'Waiting: the hub has no work right now');
          await sleep(idle.next(), signal);
          continue;
        }
        idle.reset();
        await this.work(task, signal, once);
      } catch (error) {
        if (signal?.aborted && error instanceof KernelError && error.code === 'ABORTED') break;
        if (error instanceof HubUnreachableError) {
          connected = false;
          this.setState('offline', `Offline: ${error.message}; retrying`);
          await sleep(offline.next(), signal);
        } else if (error instanceof HubError && error.status === 429) {
          await sleep((error.retryAfterS ?? 5) * 1000, signal);
        } else if (error instanceof HubError && (error.status === 0 || error.status >= 500 || error.status === 401)) {
          connected = false;
          this.setState('error', `The hub refused: ${error.message}; retrying`);
          await sleep(offline.next(), signal);
        } else if (error instanceof HubError) {
          // Refused for a reason retrying at once will not change (suspended, bad request):
          // say so and wait, never spin.
          this.setState('error', `The hub refused: ${error.message}`);
          this.log(`the hub answered ${error.status} ${error.code}: ${error.message}`);
          await sleep(offline.next(), signal);
        } else {
          throw error;
        }
      }
    }
    await this.submitting;
    await this.releaseAhead();
    this.setState('paused', signal?.aborted ? 'Stopped' : `Finished: ${this.credited} credited tasks`);
    await this.reconcile().catch((error: unknown) => this.log(`could not reconcile the ledger on exit: ${String(error)}`));
    return { credited: this.credited };
  }

  /** Mirrors every entry of the hub's ledger for this worker into the local store. */
  async reconcile(): Promise<number> {
    const { entries } = await this.o.client.allEarnings();
    this.lastReconcile = Date.now();
    const changed = this.o.store.ledger.upsertMany(this.o.client.hubUrl, entries);
    if (changed > 0) this.o.onLedgerChanged?.();
    return changed;
  }

  private async connect(): Promise<void> {
    // Retrying after a failure, the state stays "Offline: …; retrying" (or the hub's refusal):
    // no flicker on the dashboard, and one state-log entry for a whole outage, not two per try.
    if (this.state !== 'offline' && this.state !== 'error') this.setState('starting', `Signing in to ${this.o.client.hubUrl}`);
    const health = await this.o.client.health();
    this.o.store.hubs.remember(this.o.client.hubUrl, health);
    this.token = health.token;
    await this.o.client.signIn();
    this.o.onEvent?.({ event: 'signed-in', address: this.o.client.address, hub: this.o.client.hubUrl });
    if (this.o.payoutAddress) {
      const to = await this.o.client.registerPayoutAddress(this.o.payoutAddress);
      this.log(`payouts go to ${to}`);
    }
    this.log(`signed in to ${this.o.client.hubUrl} as ${this.o.client.address}`);
    await this.resubmitSaved();
    const changed = await this.reconcile();
    if (changed > 0) this.log(`ledger: ${changed} entries brought up to date from the hub`);
    this.lastHeartbeat = 0;
  }

  /** The device's score, measured once (≤ 3 s) the first time work is allowed; sent in heartbeats. */
  private score: { gflops: number; mhs: number } | null = null;
  private scored = false;

  get benchmark(): { gflops: number; mhs: number } | null {
    return this.score;
  }

  /** Measures the device once (≤ 3 s), keeps the score for a week, reports it in heartbeats. */
  private async measure(key: string): Promise<void> {
    if (!this.o.host.benchmark) return;
    this.setState('working', 'Measuring this GPU (a few seconds, once a week)');
    try {
      const s = await this.o.host.benchmark();
      this.score = { gflops: s.gflops, mhs: s.mhs };
      this.o.store.settings.setScore(key, this.score);
      this.log(`GPU score: ${s.gflops.toFixed(2)} GFLOP/s, ${s.mhs.toFixed(2)} MH/s`);
    } catch (error) {
      this.log(`could not measure the GPU: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.lastHeartbeat = 0;
  }

  private async housekeeping(): Promise<void> {
    if (!this.scored) {
      const adapter = this.o.host.adapter;
      const key = `${adapter.vendor}|${adapter.device}|${adapter.description}`;
      const saved = this.o.store.settings.score(key);
      const fresh = saved && Date.now() - Date.parse(saved.at) < 7 * 24 * 3600_000;
      if (fresh) {
        this.score = { gflops: saved.gflops, mhs: saved.mhs };
        this.scored = true;
      } else if (this.o.host.benchmark && (this.o.governor?.decision.allowed ?? true)) {
        this.scored = true;
        await this.measure(key);
      }
    }
    const now = Date.now();
    const beat = now - this.lastHeartbeat >= (this.o.heartbeatMs ?? 30_000);
    const reconcile = now - this.lastReconcile >= (this.o.reconcileMs ?? 60_000);
    if ((!beat && !reconcile) || this.housekeepingRunning) return;
    // Beside the work: a heartbeat or a long ledger never holds up the next task.
    this.housekeepingRunning = true;
    if (beat) this.lastHeartbeat = now;
    const chores = async (): Promise<void> => {
      if (beat) {
        await this.o.client.heartbeat({
          appVersion: this.o.appVersion,
          state: this.state,
          gpus: this.o.gpus,
          ...(this.score ? { benchmark: this.score } : {}),
        });
      }
      if (reconcile) await this.reconcile();
    };
    void chores()
      .catch((error: unknown) => {
        this.besideError ??= error;
      })
      .finally(() => {
        this.housekeepingRunning = false;
      });
  }

  /** Gives a task back to the hub; a hub that cannot be reached lets the lease lapse instead. */
  private async release(taskId: string): Promise<void> {
    try {
      await this.o.client.release(taskId);
    } catch (error) {
      this.log(`could not give task ${taskId} back to the hub (its lease will lapse): ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Gives back every task leased ahead. */
  private async releaseAhead(): Promise<void> {
    for (const ahead of this.ahead.splice(0)) {
      const task = await ahead.catch(() => null);
      if (task) await this.release(task.id);
    }
  }

  /** The first task leased ahead whose lease still has time, else a fresh lease. */
  private async nextTask(): Promise<Task | null> {
    while (this.ahead.length > 0) {
      const task = await this.ahead.shift()!;
      if (task && Date.parse(task.leaseExpiresAt) - Date.now() > AHEAD_MARGIN_MS) return task;
    }
    return this.o.client.lease(this.kinds);
  }

  private async work(task: Task, signal: AbortSignal | undefined, once: number | undefined): Promise<void> {
    const g = this.o.governor;
    const notes = g?.decision.allowed ? g.decision.notes : [];
    const stop = g ? AbortSignal.any([g.workSignal(), ...(signal ? [signal] : [])]) : signal;
    const started = performance.now();
    let output: Record<string, unknown>;
    g?.setWorking(true);
    // The GPU first; the bookkeeping while it runs.
    const running = this.o.host.run(task, stop);
    this.task = { id: task.id, kind: task.kind, startedAt: new Date().toISOString() };
    this.notify();
    this.setState('working', `Working on a ${task.kind} task${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`);
    // Two tasks ahead: a short task can end before one lease's round trip does.
    while (this.ahead.length < LEASE_AHEAD && (once === undefined || this.credited + this.unsent.length + 1 + this.ahead.length < once)) {
      const ahead = this.o.client.lease(this.kinds);
      ahead.catch(() => undefined);
      this.ahead.push(ahead);
    }
    try {
      output = await running;
    } catch (error) {
      if (error instanceof KernelError && error.code === 'ABORTED') {
        await this.release(task.id);
        if (signal?.aborted) throw error;
        // A condition turned to stop: the task is abandoned (and was given back to the hub).
        this.log(`stopped task ${task.id} at once: ${String(g?.decision.allowed === false ? g.decision.reason : 'stopped')}`);
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      await this.release(task.id);
      this.log(`task ${task.id} failed on the GPU, was not submitted and went back to the hub: ${message}`);
      this.setState('error', `The last task failed on the GPU: ${message}`);
      return;
    } finally {
      // Whatever came of it, nothing reads the task's inputs any more.
      this.o.client.recycle(task);
      g?.setWorking(false);
      this.task = null;
      this.notify();
    }
    const seconds = (performance.now() - started) / 1000;
    // Saved, then submitted, once the next task is on the GPU (a macrotask: the loop reaches the
    // next host.run through microtasks only). Submissions go one at a time and in order, and the
    // GPU does not wait for them: only when MAX_QUEUED_SUBMITS results are still unsent (a hub
    // slower than the GPU) does the next task wait for the oldest.
    const saved = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      // Saved before it is submitted: a crash from here on loses nothing.
      this.o.store.results.save({
        hub: this.o.client.hubUrl,
        taskId: task.id,
        kind: task.kind,
        leaseExpiresAt: task.leaseExpiresAt,
        output,
      });
    });
    const submission = Promise.all([saved, this.submitting])
      .then(() => this.submit(task.id, task.kind, output, seconds))
      .catch((error: unknown) => {
        // Saved and unsent: submitted again once the hub answers (see resubmitSaved).
        this.resubmit = true;
        this.besideError ??= error;
      })
      .finally(() => {
        // Submissions settle in the order they were made: this one is the oldest.
        this.unsent.shift();
      });
    this.unsent.push(submission);
    if (this.unsent.length > MAX_QUEUED_SUBMITS) await this.unsent[0];
    // A duty cycle: resting in proportion to the time the GPU just worked. The rest is measured
    // again every second, so a GPU that cooled (a higher duty cycle) goes back to work sooner.
    const rested = performance.now();
    for (;;) {
      const duty = this.o.dutyCycle?.() ?? (this.o.settings?.().intensity ?? 100) / 100;
      const left = (duty > 0 ? seconds * 1000 * (1 / duty - 1) : Infinity) - (performance.now() - rested);
      if (!(left > 0) || signal?.aborted) break;
      await sleep(Math.min(left, REST_RECHECK_MS), signal);
    }
  }

  private async submit(taskId: string, kind: string, output: Record<string, unknown>, seconds?: number): Promise<void> {
    const hub = this.o.client.hubUrl;
    let res: ResultResponse;
    try {
      res = await this.o.client.submit(taskId, output);
    } catch (error) {
      if (error instanceof HubError && (error.status === 409 || error.status === 403 || error.status === 404)) {
        this.o.store.results.finish(hub, taskId, `refused: ${error.code}`);
        this.log(`the hub did not take task ${taskId}: ${error.message}`);
        return;
      }
      throw error;
    }
    if (res.entryId !== undefined) {
      this.o.store.ledger.record(hub, {
        id: res.entryId,
        taskId,
        kind,
        amount: res.credited,
        status: STATUS_OF[res.status],
        createdAt: new Date().toISOString(),
      });
    }
    this.o.store.results.finish(hub, taskId, res.status);
    const took = seconds === undefined ? '' : ` in ${seconds.toFixed(2)} s`;
    if (res.status === 'rejected') {
      this.o.onEvent?.({ event: 'rejected', taskId, reason: res.reason ?? 'the hub rejected the result' });
      this.log(`task ${taskId} was rejected: ${res.reason ?? 'no reason given'}`);
      return;
    }
    if (res.status === 'pending') {
      this.log(`task ${taskId} (${kind}) submitted${took}; the hub credits it once a replica agrees`);
      return;
    }
    this.credited += 1;
    this.earnedThisRun += BigInt(res.credited);
    this.o.onEvent?.({ event: 'credited', taskId, kind, amount: res.credited });
    for (const l of this.creditListeners) l({ taskId, kind, amount: res.credited });
    const { symbol, decimals } = this.token;
    this.log(
      `✔ ${kind} task done${took}, verified: +${formatUnits(BigInt(res.credited), decimals, 6)} ${symbol} ` +
        `(${this.credited} task${this.credited === 1 ? '' : 's'}, ${formatUnits(this.earnedThisRun, decimals, 6)} ${symbol} this session)`,
    );
  }

  /** Results saved before a crash: submitted if their lease is still valid, dropped otherwise. */
  private async resubmitSaved(): Promise<void> {
    const hub = this.o.client.hubUrl;
    for (const saved of this.o.store.results.unsent(hub)) {
      if (Date.parse(saved.leaseExpiresAt) <= Date.now()) {
        this.o.store.results.finish(hub, saved.taskId, 'dropped: lease expired');
        continue;
      }
      if (saved.output === null) {
        this.o.store.results.finish(hub, saved.taskId, 'dropped: unreadable');
        continue;
      }
      this.log(`submitting task ${saved.taskId}, saved before the last stop`);
      await this.submit(saved.taskId, saved.kind, saved.output);
    }
  }

  private setState(state: WorkerState, reason: string): void {
    if (state === this.state && reason === this.reason) return;
    // "Idle for 3 of 10 minutes" ticks every minute: one log entry per kind of wait is enough.
    const sameWait = state === this.state && state !== 'working' && this.lastLogged === `${state}:${this.blockedBy ?? ''}`;
    this.state = state;
    this.reason = reason;
    this.notify();
    if (sameWait && this.blockedBy === 'user-active') return;
    this.lastLogged = `${state}:${this.blockedBy ?? ''}`;
    this.o.store.stateLog.add({ at: new Date().toISOString(), state, reason });
    this.o.onEvent?.({ event: 'state', state, reason });
    this.log(`${state}: ${reason}`);
  }
  private lastLogged = '';

  private notify(): void {
    const status = this.status;
    for (const l of this.listeners) l(status);
  }

  private log(line: string): void {
    this.o.log?.(line);
  }
}

/** During a duty cycle's rest, the duty cycle is read again this often. */
const REST_RECHECK_MS = 1000;
/** Reasons to stop that mean someone else wants the GPU itself: its memory is given back at once. */
const HANDS_BACK: ReadonlySet<BlockCode> = new Set<BlockCode>(['blocked-program', 'fullscreen', 'gpu-process']);

/** Tasks leased ahead of the one running. */
const LEASE_AHEAD = 2;
/** Results computed and not yet submitted, at most, before the next task waits for the oldest. */
const MAX_QUEUED_SUBMITS = 2;
/** A task leased ahead is still run after a pause if its lease has at least this much time left. */
const AHEAD_MARGIN_MS = 15_000;

/**
 * A wait that doubles from `min` to `max` on each try, with equal jitter: each wait is half its
 * step plus a random share of the other half, so that the many workers who lost a hub together
 * do not all come back in the same instant.
 */
class Backoff {
  private current: number;
  constructor(private readonly range: { min: number; max: number }) {
    this.current = range.min;
  }
  next(): number {
    const step = this.current;
    this.current = Math.min(this.range.max, this.current * 2);
    return step / 2 + Math.random() * (step / 2);
  }
  reset(): void {
    this.current = this.range.min;
  }
}

/** While a condition stops work, the loop wakes at least this often (heartbeats, the ledger). */
const WAKE_WHILE_BLOCKED_MS = 30_000;

/**
 * Runs `wait` with a signal that aborts after `ms` or when `signal` does. Unlike
 * AbortSignal.timeout, the timer keeps the process alive while it waits.
 */
async function waitFor(ms: number, signal: AbortSignal | undefined, wait: (wake: AbortSignal) => Promise<void>): Promise<void> {
  const wake = new AbortController();
  const timer = setTimeout(() => wake.abort(), ms);
  const onAbort = (): void => wake.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) wake.abort();
  try {
    await wait(wake.signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
