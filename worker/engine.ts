/**
 * The worker's engine: signs in to the hub, runs the task pipeline while the governor allows work,
 * backs off while the hub cannot be reached, and keeps the status the dashboard and the CLI show.
 * Its parts, in worker/engine/: the task pipeline (lease → run → save → submit → record), the hub
 * session (sign-in, heartbeats, ledger reconciles), the weekly GPU score, and the words it prints
 * for people.
 */
import { KIND_NAMES } from '../jobs/index.js';
import { KernelError } from '../kernels/types.js';
import { sleep } from '../kernels/sleep.js';
import type { CliEvent, GpuReport, RigHeartbeat, WorkerState } from '../protocol/index.js';
import type { Settings } from '../protocol/settings.js';
import type { ComputeHost } from './compute/compute-host.js';
import { WeeklyGpuScore, type GpuScore } from './engine/gpu-score.js';
import { HubSession } from './engine/hub-session.js';
import { SUBMITS_IN_FLIGHT, TaskPipeline, type Credit, type CurrentTask } from './engine/task-pipeline.js';
import { Backoff, waitFor } from './engine/waits.js';
import { LINE, REASON } from './engine/words.js';
import { HubAnswerError, HubUnreachableError, type HubClient } from './hub-client.js';
import type { BlockCode } from './schedule/conditions.js';
import type { Governor } from './schedule/governor.js';
import type { Sentinel } from './costs/sentinel.js';
import { HubMirror } from './store/hub-mirror.js';
import type { WorkerStore } from './store/index.js';

export type { CurrentTask } from './engine/task-pipeline.js';

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
  /** What this rig's fleet sees of it, sent with every heartbeat (worker/rigs/). */
  rig?: () => RigHeartbeat | undefined;
  /** Waits while the hub has no work: doubles from min to max. */
  idleBackoffMs?: { min: number; max: number };
  /** Waits while the hub cannot be reached: doubles from min to max. */
  offlineBackoffMs?: { min: number; max: number };
  /** Decides when work may run; without one, work always may. */
  governor?: Governor;
  /** A watch-only wallet's payout address, registered with the hub at every sign-in. */
  payoutAddress?: string | null;
  /** The local copy of the hub's books the engine reconciles; without one, the ledger only. */
  mirror?: HubMirror;
  /** The current settings (intensity); read after each task. */
  settings?: () => Settings;
  /**
   * The duty cycle to work at, 0..1 (schedule/thermal.ts: the controller that holds the GPU at
   * its preset's target); re-read every second of a rest. Without one: `intensity`.
   */
  dutyCycle?: () => number;
  /**
   * Watches the last tasks for wrong results and lost devices (costs/sentinel.ts): it lowers the
   * duty cycle, and pauses work through the governor before the hub's strikes suspend the worker.
   */
  sentinel?: Sentinel;
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

/** Reasons to stop that mean someone else wants the GPU itself: its memory is given back at once. */
const HANDS_BACK: ReadonlySet<BlockCode> = new Set<BlockCode>(['blocked-program', 'fullscreen', 'gpu-process']);
/** While a condition stops work, the loop wakes at least this often (heartbeats, the ledger). */
const WAKE_WHILE_BLOCKED_MS = 30_000;
/** Heartbeats' default interval; the rigs' offline setting may ask for more (compose.ts). */
export const HEARTBEAT_MS = 30_000;
/** How often a due heartbeat is looked for beside the loop (a long task or wait holds the loop). */
const BESIDE_CHECK_MS = 1_000;

export class WorkerEngine {
  /** The last hand-back of the GPU, in ms from noticing to memory freed; null before the first. */
  lastHandoffMs: number | null = null;
  /** Whether the GPU was handed back for the stop under way. */
  private handedBack = false;
  private state: WorkerState = 'starting';
  private reason: string = REASON.starting;
  private blockedBy: BlockCode | null = null;
  private task: CurrentTask | null = null;
  /** The last state and block written to the state log: a wait of the same kind is logged once. */
  private lastLogged = '';
  private readonly listeners = new Set<(s: EngineStatus) => void>();
  /** An error of the work done beside the loop (a submission, a heartbeat), for the loop to handle. */
  private besideError: unknown = null;
  private readonly session: HubSession;
  private readonly score: WeeklyGpuScore;
  private readonly pipeline: TaskPipeline;

  constructor(private readonly o: EngineOptions) {
    const log = (line: string): void => this.log(line);
    const onEvent = (event: CliEvent): void => o.onEvent?.(event);
    const onError = (error: unknown): void => {
      this.besideError ??= error;
    };
    this.session = new HubSession({
      client: o.client,
      store: o.store,
      mirror: o.mirror ?? new HubMirror({ source: o.client, store: o.store, ready: () => false }),
      gpus: o.gpus,
      appVersion: o.appVersion,
      payoutAddress: () => o.payoutAddress,
      heartbeatMs: o.heartbeatMs ?? HEARTBEAT_MS,
      reconcileMs: o.reconcileMs ?? 60_000,
      ...(o.rig ? { rig: o.rig } : {}),
      onEvent,
      log,
    });
    this.score = new WeeklyGpuScore({ host: o.host, store: o.store, onMeasuring: () => this.setState('working', REASON.measuring), log });
    this.pipeline = new TaskPipeline({
      client: o.client,
      host: o.host,
      store: o.store,
      kinds: o.kinds ?? KIND_NAMES,
      governor: o.governor,
      settings: o.settings,
      dutyCycle: () => {
        const duty = o.dutyCycle?.() ?? (o.settings?.().intensity ?? 100) / 100;
        return Math.min(duty, o.sentinel?.dutyCap ?? 1);
      },
      onOutcome: (outcome, taskId) => o.sentinel?.recordOutcome(outcome, taskId),
      holdResults: () => o.sentinel?.state.pausedReason ?? null,
      submitsAtOnce: () => o.sentinel?.submitsAtOnce ?? SUBMITS_IN_FLIGHT,
      showTask: (task) => {
        this.task = task;
        this.notify();
      },
      setState: (state, reason) => this.setState(state, reason),
      token: () => this.session.token,
      onError,
      onEvent,
      log,
    });
    // While no task runs, a new reason to wait shows at once (not at the next loop turn).
    o.governor?.onChange((d) => {
      // A game, a fullscreen app or another program wanting the GPU gets its memory back, not
      // only its time; how long that took from noticing is kept for "Why am I not earning?".
      // Once per stop: the decision's words change while it lasts (another program joins).
      const handsBack = !d.allowed && HANDS_BACK.has(d.code);
      if (handsBack && !this.handedBack) this.handBack(d.reason);
      this.handedBack = handsBack;
      if (this.task || d.allowed) return;
      this.showBlocked(d.code, d.reason);
    });
  }

  get status(): EngineStatus {
    return { state: this.state, reason: this.reason, blockedBy: this.blockedBy, task: this.task, credited: this.pipeline.credited };
  }

  /** The device's score reported in heartbeats; null until it is known. */
  get benchmark(): GpuScore | null {
    return this.score.current;
  }

  /** Called for every credited task. */
  onCredited(listener: (c: Credit) => void): () => void {
    return this.pipeline.onCredited(listener);
  }

  /** Called on every change of state or task. */
  onStatus(listener: (s: EngineStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async run({ once, signal }: RunOptions = {}): Promise<{ credited: number }> {
    const { pipeline } = this;
    const idle = new Backoff(this.o.idleBackoffMs ?? { min: 500, max: 10_000 });
    const offline = new Backoff(this.o.offlineBackoffMs ?? { min: 1_000, max: 30_000 });
    let connected = false;
    const done = (): boolean => once !== undefined && pipeline.credited >= once;
    // Heartbeats keep their pace while a task runs or a condition stops work: the owner's other
    // rigs judge this one offline by them (worker/rigs/).
    const beside = setInterval(() => {
      if (connected) this.session.choresIfDue(this.state, this.score.current, (error) => (this.besideError ??= error));
    }, BESIDE_CHECK_MS);
    beside.unref();
    while (!signal?.aborted && !done()) {
      try {
        // A submission that could complete --once N is awaited before leasing more.
        if (once !== undefined && pipeline.credited + pipeline.unsentCount >= once) {
          await pipeline.submitting;
          if (done()) break;
        }
        if (this.besideError !== null) {
          const error = this.besideError;
          this.besideError = null;
          throw error;
        }
        if (!connected) {
          await pipeline.submitting;
          pipeline.dropAhead();
          await this.connect();
          connected = true;
          offline.reset();
        }
        await pipeline.resubmitIfFailed();
        await this.housekeeping();
        const decision = this.o.governor?.decision;
        if (decision && !decision.allowed) {
          this.showBlocked(decision.code, decision.reason);
          await pipeline.releaseAhead();
          // Wake at least every 30 s for heartbeats and the ledger. The wake-up is a timer that
          // holds the process open (the governor's readings and AbortSignal.timeout's timer are
          // unref'd), so a headless worker waiting out a game or a pause stays alive.
          await waitFor(WAKE_WHILE_BLOCKED_MS, signal, (wake) => this.o.governor!.waitUntilAllowed(wake));
          continue;
        }
        this.blockedBy = null;
        const task = await pipeline.next();
        if (!task) {
          this.setState('waiting', REASON.noWork(this.o.client.noWorkReason));
          await sleep(idle.next(), signal);
          continue;
        }
        idle.reset();
        await pipeline.work(task, signal, once);
      } catch (error) {
        if (signal?.aborted && error instanceof KernelError && error.code === 'ABORTED') break;
        if (error instanceof HubUnreachableError) {
          connected = false;
          this.setState('offline', REASON.offline(error.message));
          await sleep(offline.next(), signal);
        } else if (error instanceof HubAnswerError && error.status === 429) {
          await sleep((error.retryAfterS ?? 5) * 1000, signal);
        } else if (error instanceof HubAnswerError && (error.status === 0 || error.status >= 500 || error.status === 401)) {
          connected = false;
          this.setState('error', REASON.refusedRetrying(error.message));
          await sleep(offline.next(), signal);
        } else if (error instanceof HubAnswerError) {
          // Refused for a reason retrying at once will not change (suspended, bad request):
          // say so and wait, never spin.
          this.setState('error', REASON.refused(error.message));
          this.log(LINE.hubAnswered(error.status, error.code, error.message));
          await sleep(offline.next(), signal);
        } else {
          clearInterval(beside);
          throw error;
        }
      }
    }
    clearInterval(beside);
    await pipeline.submitting;
    await pipeline.releaseAhead();
    this.setState('paused', signal?.aborted ? REASON.stopped : REASON.finished(pipeline.credited));
    await this.session.reconcile().catch((error: unknown) => this.log(LINE.reconcileOnExitFailed(error)));
    return { credited: pipeline.credited };
  }

  private async connect(): Promise<void> {
    // Retrying after a failure, the state stays "Offline: …; retrying" (or the hub's refusal):
    // no flicker on the dashboard, and one state-log entry for a whole outage, not two per try.
    if (this.state !== 'offline' && this.state !== 'error') this.setState('starting', REASON.signingIn(this.o.client.hubUrl));
    await this.session.signIn();
    await this.pipeline.resubmitSaved();
    await this.session.catchUp();
  }

  /** The GPU's score (once), then a heartbeat and a reconcile when they are due. */
  private async housekeeping(): Promise<void> {
    if (await this.score.settle(() => this.o.governor?.decision.allowed ?? true)) this.session.beatSoon();
    this.session.choresIfDue(this.state, this.score.current, (error) => {
      this.besideError ??= error;
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
        this.o.store.stateLog.add({ at: new Date().toISOString(), state: this.state, reason: REASON.gpuGivenBack(reason, ms), handoffMs: ms });
        this.log(LINE.gpuGivenBack(ms));
      },
      (error: unknown) => this.log(LINE.gpuNotFreed(error)),
    );
  }

  private showBlocked(code: BlockCode, reason: string): void {
    this.blockedBy = code;
    this.setState(code === 'paused' || code === 'snoozed' ? 'paused' : 'waiting', reason);
  }

  private setState(state: WorkerState, reason: string): void {
    if (state === this.state && reason === this.reason) return;
    // A stop that came while a task was being leased (the governor's listener shows it at once)
    // stands: the task it was leased for stops at its first slice, and the loop shows the stop
    // again; the status never says "Working" beside the code of what stops work.
    if (state === 'working' && this.blockedBy !== null) return;
    // "Idle for 3 of 10 minutes" ticks every minute: one log entry per kind of wait is enough.
    const sameWait = state === this.state && state !== 'working' && this.lastLogged === `${state}:${this.blockedBy ?? ''}`;
    this.state = state;
    this.reason = reason;
    this.notify();
    if (sameWait && this.blockedBy === 'user-active') return;
    this.lastLogged = `${state}:${this.blockedBy ?? ''}`;
    this.o.store.stateLog.add({ at: new Date().toISOString(), state, reason });
    this.o.onEvent?.({ event: 'state', state, reason });
    this.log(LINE.state(state, reason));
  }

  private notify(): void {
    const status = this.status;
    for (const l of this.listeners) l(status);
  }

  private log(line: string): void {
    this.o.log?.(line);
  }
}
