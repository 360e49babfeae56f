/**
 * The task pipeline: lease → run → save → submit → record. It never submits a failed run, saves
 * every result before handing it over, and gives the hub back at once
 * (`POST /v1/tasks/{id}/release`) every task a pause or a stop leaves unrun (the one stopped
 * mid-way, those leased ahead), so no one waits for their leases to lapse.
 *
 * Pipelined, so the GPU does not wait on the network: while a task runs, the next two are leased;
 * once it has run, the next starts at once and the result is saved and submitted meanwhile. Up to
 * SUBMITS_IN_FLIGHT submissions are in flight at once (a short task's result goes up while the one
 * before it is still on the link or being checked), started in the order the tasks ran, and never
 * more than the sentinel's `submitsAtOnce` allows: as many as may be rejected before it pauses
 * work, so a result sent beside another can never be the hub's last strike (at one rejection from
 * the pause, submissions go one at a time and each waits for the verdict before it). After each
 * task the GPU rests for the duty cycle.
 */
import { previewOf } from '../../jobs/index.js';
import { KernelError } from '../../kernels/types.js';
import { sleep } from '../../kernels/sleep.js';
import type { CliEvent, EarningStatus, ResultResponse, Task, WorkerState } from '../../protocol/index.js';
import type { Settings } from '../../protocol/settings.js';
import type { ComputeHost } from '../compute/compute-host.js';
import { HubAnswerError, type HubClient } from '../hub-client.js';
import type { Governor } from '../schedule/governor.js';
import type { TokenInfo, WorkerStore } from '../store/index.js';
import { specOf, type RewardRates } from '../../jobs/index.js';
import type { TaskOutcome } from '../store/sentinel.js';
import { LINE, messageOf, OUTCOME, REASON } from './words.js';

export interface CurrentTask {
  id: string;
  kind: string;
  startedAt: string;
}

export interface Credit {
  taskId: string;
  kind: string;
  amount: string;
}

export interface TaskPipelineOptions {
  client: HubClient;
  host: ComputeHost;
  store: WorkerStore;
  kinds: readonly string[];
  /** Decides when work may run; its work signal stops a task mid-way. */
  governor?: Governor;
  /** The current settings (intensity); read after each task. */
  settings?: () => Settings;
  /** The duty cycle to work at, 0..1; re-read every second of a rest. Without one: `intensity`. */
  dutyCycle?: () => number;
  /** The task on the GPU, or null: the engine shows it. */
  showTask: (task: CurrentTask | null) => void;
  setState: (state: WorkerState, reason: string) => void;
  /** The hub's token, for the words of each credit. */
  token: () => TokenInfo;
  /** A submission failed beside the loop: the loop handles the error. */
  onError: (error: unknown) => void;
  onEvent: (event: CliEvent) => void;
  log: (line: string) => void;
  /** Each task's outcome as the sentinel counts it: verified or pending, rejected, or its device lost. */
  onOutcome?: (outcome: TaskOutcome, taskId: string) => void;
  /**
   * Why results must not be handed over now, or null: the sentinel paused work after wrong
   * results, and a result computed meanwhile (the pipeline runs the next task while the last is
   * judged) may be wrong too, and the hub's last strike. Such a result is dropped and its task
   * given back.
   */
  holdResults?: () => string | null;
  /**
   * How many results may be judged by the hub at once: the rejections the sentinel can take before
   * it pauses work (at least one is always sent). Without one: SUBMITS_IN_FLIGHT.
   */
  submitsAtOnce?: () => number;
}

const STATUS_OF: Record<ResultResponse['status'], EarningStatus> = {
  accepted: 'verified',
  pending: 'pending',
  rejected: 'rejected',
};

/** The unit of a kind's work units, by the rate it is paid by (jobs/types.ts `workUnits`). */
const UNIT_OF: Record<keyof RewardRates, string> = { rewardPerGflop: 'FLOP', rewardPerMhash: 'hashes' };

/** A task's size: its work units and their unit; null for a kind this worker does not know. */
function workOf(task: Task): { units: bigint; unit: string } | null {
  try {
    const spec = specOf(task.kind);
    return { units: spec.workUnits(task.params), unit: UNIT_OF[spec.paidBy] };
  } catch {
    return null;
  }
}

/** Tasks leased ahead of the one running. */
export const LEASE_AHEAD = 2;
/** Submissions in flight at once, at most (each waits for its lease's hub to check it). */
export const SUBMITS_IN_FLIGHT = 2;
/** Results computed and not yet settled, at most, before the next task waits for one of them. */
const MAX_QUEUED_SUBMITS = SUBMITS_IN_FLIGHT;
/** A task leased ahead is still run after a pause if its lease has at least this much time left. */
const AHEAD_MARGIN_MS = 15_000;
/** During a duty cycle's rest, the duty cycle is read again this often. */
const REST_RECHECK_MS = 1000;

export class TaskPipeline {
  private creditedTasks = 0;
  private earned = 0n;
  /** The next tasks, leased while the current one runs (LEASE_AHEAD of them at most). */
  private ahead: Promise<Task | null>[] = [];
  /** Submissions not yet settled (save → submit → record), in the order their tasks ran. */
  private readonly unsent: Promise<void>[] = [];
  /** The last submission's start: each starts after the one before it (the order the tasks ran). */
  private lastStart: Promise<void> = Promise.resolve();
  /** Submissions sent and not yet answered. */
  private inFlight = 0;
  /** Wakes the submission waiting for a free place in flight, if one waits. */
  private wakeSubmit: (() => void) | null = null;
  /** A submission failed: saved results are submitted again before the next task. */
  private resubmit = false;
  private readonly creditListeners = new Set<(c: Credit) => void>();

  constructor(private readonly o: TaskPipelineOptions) {}

  /** Tasks credited in this run. */
  get credited(): number {
    return this.creditedTasks;
  }

  /** Results whose submission has not settled yet. */
  get unsentCount(): number {
    return this.unsent.length;
  }

  /** Settled once every submission queued so far is. */
  get submitting(): Promise<void> {
    return Promise.all(this.unsent).then(() => undefined);
  }

  /** Called for every credited task. */
  onCredited(listener: (c: Credit) => void): () => void {
    this.creditListeners.add(listener);
    return () => this.creditListeners.delete(listener);
  }

  /** Forgets the tasks leased ahead: a new sign-in starts from fresh leases. */
  dropAhead(): void {
    this.ahead = [];
  }

  /** After a failed submission, submits the saved results again. */
  async resubmitIfFailed(): Promise<void> {
    if (!this.resubmit) return;
    this.resubmit = false;
    await this.resubmitSaved();
  }

  /** Results saved before a crash: submitted if their lease is still valid, dropped otherwise. */
  async resubmitSaved(): Promise<void> {
    const hub = this.o.client.hubUrl;
    for (const saved of this.o.store.results.unsent(hub)) {
      if (Date.parse(saved.leaseExpiresAt) <= Date.now()) {
        this.o.store.results.finish(hub, saved.taskId, 'dropped: lease expired');
        this.o.store.taskTimes.outcome(hub, { taskId: saved.taskId, kind: saved.kind, outcome: 'lapsed', reason: OUTCOME.droppedExpired });
        continue;
      }
      if (saved.output === null) {
        this.o.store.results.finish(hub, saved.taskId, 'dropped: unreadable');
        this.o.store.taskTimes.outcome(hub, { taskId: saved.taskId, kind: saved.kind, outcome: 'lapsed', reason: OUTCOME.droppedUnreadable });
        continue;
      }
      this.o.log(LINE.resubmitting(saved.taskId));
      await this.submit(saved.taskId, saved.kind, saved.output);
    }
  }

  /** The first task leased ahead whose lease still has time, else a fresh lease. */
  async next(): Promise<Task | null> {
    while (this.ahead.length > 0) {
      const task = await this.ahead.shift()!;
      if (task && Date.parse(task.leaseExpiresAt) - Date.now() > AHEAD_MARGIN_MS) return task;
    }
    return this.o.client.lease(this.o.kinds);
  }

  /** Gives back every task leased ahead. */
  async releaseAhead(): Promise<void> {
    for (const ahead of this.ahead.splice(0)) {
      const task = await ahead.catch(() => null);
      // Never run here: given back, and not part of this machine's history.
      if (task) await this.release(task.id);
    }
  }

  /**
   * Runs `task` on the GPU, leases ahead meanwhile (no more than `once` needs), queues its
   * submission, then rests for the duty cycle.
   */
  async work(task: Task, signal: AbortSignal | undefined, once: number | undefined): Promise<void> {
    const g = this.o.governor;
    const notes = g?.decision.allowed ? g.decision.notes : [];
    const stop = g ? AbortSignal.any([g.workSignal(), ...(signal ? [signal] : [])]) : signal;
    const started = performance.now();
    g?.setWorking(true);
    // The GPU first; the bookkeeping while it runs. The task is done here once the GPU is (the
    // host's `onComputed`, else its output): its output may still be encoding, and the next task
    // starts meanwhile; the submission waits for the output.
    let computed!: () => void;
    const gpuDone = new Promise<void>((resolve) => (computed = resolve));
    const running = this.o.host.run(task, stop, () => computed());
    running.catch(() => undefined);
    const work = workOf(task);
    // Its size, for the history's receipt, from the moment it runs here.
    if (work) this.o.store.taskTimes.describe(this.o.client.hubUrl, { taskId: task.id, kind: task.kind, ...work });
    this.o.showTask({ id: task.id, kind: task.kind, startedAt: new Date().toISOString() });
    this.o.setState('working', REASON.working(task.kind, notes));
    // Two tasks ahead: a short task can end before one lease's round trip does.
    while (this.ahead.length < LEASE_AHEAD && (once === undefined || this.creditedTasks + this.unsent.length + 1 + this.ahead.length < once)) {
      const ahead = this.o.client.lease(this.o.kinds);
      ahead.catch(() => undefined);
      this.ahead.push(ahead);
    }
    try {
      await Promise.race([gpuDone, running]);
    } catch (error) {
      if (error instanceof KernelError && error.code === 'ABORTED') {
        const why = g?.decision.allowed === false ? g.decision.reason : null;
        await this.release(task, OUTCOME.givenBack(signal?.aborted ? null : why), 'given-back', performance.now() - started);
        if (signal?.aborted) throw error;
        // A condition turned to stop: the task is abandoned (and was given back to the hub).
        this.o.log(LINE.taskStopped(task.id, g?.decision.allowed === false ? g.decision.reason : null));
        return;
      }
      const message = messageOf(error);
      if (error instanceof KernelError && error.code === 'DEVICE_LOST') this.o.onOutcome?.('device-lost', task.id);
      await this.release(task, OUTCOME.failed(message), 'failed', performance.now() - started);
      this.o.log(LINE.taskFailed(task.id, message));
      this.o.setState('error', REASON.taskFailed(message));
      return;
    } finally {
      // Whatever came of it, nothing reads the task's inputs any more.
      this.o.client.recycle(task);
      g?.setWorking(false);
      this.o.showTask(null);
    }
    const seconds = (performance.now() - started) / 1000;
    // Saved, then submitted, once the next task is on the GPU (a macrotask: the loop reaches the
    // next host.run through microtasks only) and the output is encoded; an output whose encoding
    // failed is never submitted: its task is given back and kept in the history as failed.
    // Submissions start in order, up to SUBMITS_IN_FLIGHT (or the sentinel's `submitsAtOnce`) at
    // once, and the GPU does not wait for them: only when MAX_QUEUED_SUBMITS results are still
    // unsettled (a hub or link slower than the GPU) does the next task wait for one of them.
    const saved = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => running)
      .then(
        (output) => {
          // Saved before it is submitted: a crash from here on loses nothing.
          this.o.store.results.save({
            hub: this.o.client.hubUrl,
            taskId: task.id,
            kind: task.kind,
            leaseExpiresAt: task.leaseExpiresAt,
            output,
          });
          this.savePreview(task, output);
          return output;
        },
        async (error: unknown): Promise<null> => {
          const message = messageOf(error);
          await this.release(task, OUTCOME.failed(message), 'failed', seconds * 1000);
          this.o.log(LINE.taskFailed(task.id, message));
          return null;
        },
      );
    const placed = Promise.all([saved, this.lastStart]).then(async ([output]) => {
      if (output !== null) await this.placeInFlight();
      return output;
    });
    this.lastStart = placed.then(
      () => undefined,
      () => undefined,
    );
    const submission: Promise<void> = placed
      .then((output) => (output === null ? undefined : this.submit(task.id, task.kind, output, seconds).finally(() => this.leaveFlight())))
      .catch((error: unknown) => {
        // Saved and unsent: submitted again once the hub answers (resubmitIfFailed).
        this.resubmit = true;
        this.o.onError(error);
      })
      .finally(() => {
        this.unsent.splice(this.unsent.indexOf(submission), 1);
      });
    this.unsent.push(submission);
    if (this.unsent.length > MAX_QUEUED_SUBMITS) await Promise.race(this.unsent);
    await this.rest(seconds, signal);
  }

  /** Waits for a place among the submissions in flight, and takes it. One caller at a time (`lastStart` orders them). */
  private async placeInFlight(): Promise<void> {
    const allowed = (): number => Math.max(1, Math.min(SUBMITS_IN_FLIGHT, this.o.submitsAtOnce?.() ?? SUBMITS_IN_FLIGHT));
    while (this.inFlight >= allowed()) await new Promise<void>((resolve) => (this.wakeSubmit = resolve));
    this.inFlight += 1;
  }

  /** A submission was answered (its outcome recorded): the next one may go. */
  private leaveFlight(): void {
    this.inFlight -= 1;
    const wake = this.wakeSubmit;
    this.wakeSubmit = null;
    wake?.();
  }

  /**
   * The duty cycle: a rest in proportion to the time the GPU just worked. The rest is measured
   * again every second, so a GPU that cooled (a higher duty cycle) goes back to work sooner.
   */
  private async rest(workedSeconds: number, signal: AbortSignal | undefined): Promise<void> {
    const rested = performance.now();
    for (;;) {
      const duty = this.o.dutyCycle?.() ?? (this.o.settings?.().intensity ?? 100) / 100;
      const left = (duty > 0 ? workedSeconds * 1000 * (1 / duty - 1) : Infinity) - (performance.now() - rested);
      if (!(left > 0) || signal?.aborted) break;
      await sleep(Math.min(left, REST_RECHECK_MS), signal);
    }
  }

  /**
   * Gives a task back to the hub; a hub that cannot be reached lets the lease lapse instead. A
   * task that ran here (`ran`: what became of it and why) keeps its place in the history.
   */
  private async release(task: Task | string, reason?: string, outcome: 'given-back' | 'failed' = 'given-back', gpuMs?: number): Promise<void> {
    const taskId = typeof task === 'string' ? task : task.id;
    const hub = this.o.client.hubUrl;
    const record = (o: 'given-back' | 'failed' | 'lapsed', why: string): void => {
      if (typeof task !== 'string') this.o.store.taskTimes.outcome(hub, { taskId, kind: task.kind, outcome: o, reason: why, ...(gpuMs === undefined ? {} : { gpuMs }) });
    };
    try {
      await this.o.client.release(taskId);
      if (reason !== undefined) record(outcome, reason);
    } catch (error) {
      this.o.log(LINE.releaseFailed(taskId, error));
      if (reason !== undefined) record(outcome === 'failed' ? 'failed' : 'lapsed', outcome === 'failed' ? reason : OUTCOME.notReleased(error));
    }
  }

  /** A thumbnail of an output that is a picture (a render tile), for the dashboard; failing here never touches the task. */
  private savePreview(task: Task, output: Record<string, unknown>): void {
    try {
      const preview = previewOf(task, output);
      if (preview) this.o.store.previews.save({ hub: this.o.client.hubUrl, taskId: task.id, kind: task.kind, ...preview, createdAt: new Date().toISOString() });
    } catch (error) {
      this.o.log(`could not keep a thumbnail of task ${task.id}: ${messageOf(error)}`);
    }
  }

  private async submit(taskId: string, kind: string, output: Record<string, unknown>, seconds?: number): Promise<void> {
    const hub = this.o.client.hubUrl;
    const held = this.o.holdResults?.() ?? null;
    if (held !== null) {
      this.o.store.results.finish(hub, taskId, 'dropped: the GPU returned wrong results');
      this.o.log(LINE.resultHeld(taskId, held));
      await this.release(taskId);
      return;
    }
    let res: ResultResponse;
    try {
      res = await this.o.client.submit(taskId, kind, output);
    } catch (error) {
      if (error instanceof HubAnswerError && (error.status === 409 || error.status === 403 || error.status === 404)) {
        this.o.store.results.finish(hub, taskId, `refused: ${error.code}`);
        // In the history until the hub's ledger has an entry of the task (a second answer after a crash: the first's entry wins).
        const lapsed = error.code === 'LEASE_EXPIRED';
        this.o.store.taskTimes.outcome(hub, {
          taskId,
          kind,
          outcome: lapsed ? 'lapsed' : 'refused',
          reason: lapsed ? OUTCOME.lapsed(error.message) : OUTCOME.refused(error.message),
          ...(seconds === undefined ? {} : { gpuMs: seconds * 1000 }),
        });
        this.o.log(LINE.notTaken(taskId, error.message));
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
        // The receipt: how the hub checked it, and why it was rejected.
        ...(res.check ? { check: res.check } : {}),
        ...(res.reason !== undefined && res.status === 'rejected' ? { reason: res.reason } : {}),
      });
    }
    this.o.store.results.finish(hub, taskId, res.status);
    this.o.onOutcome?.(res.status === 'rejected' ? 'rejected' : 'ok', taskId);
    if (res.status === 'rejected') {
      this.o.onEvent({ event: 'rejected', taskId, reason: res.reason ?? REASON.rejected });
      this.o.log(LINE.rejected(taskId, res.reason));
      return;
    }
    if (res.status === 'pending') {
      this.o.log(LINE.pending(taskId, kind, seconds));
      return;
    }
    this.creditedTasks += 1;
    this.earned += BigInt(res.credited);
    this.o.onEvent({ event: 'credited', taskId, kind, amount: res.credited });
    for (const l of this.creditListeners) l({ taskId, kind, amount: res.credited });
    this.o.log(LINE.credited(kind, seconds, BigInt(res.credited), { tasks: this.creditedTasks, earned: this.earned }, this.o.token()));
  }
}
