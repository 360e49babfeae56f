/**
 * The task pipeline: lease → run → save → submit → record. It never submits a failed run, saves
 * every result before handing it over, and gives the hub back at once
 * (`POST /v1/tasks/{id}/release`) every task a pause or a stop leaves unrun (the one stopped
 * mid-way, those leased ahead), so no one waits for their leases to lapse.
 *
 * Pipelined, so the GPU does not wait on the network: while a task runs, the next two are leased;
 * once it has run, the next starts at once and the result is saved and submitted meanwhile (one
 * submission in flight at most). After each task the GPU rests for the duty cycle.
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
import { LINE, messageOf, REASON } from './words.js';

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
}

const STATUS_OF: Record<ResultResponse['status'], EarningStatus> = {
  accepted: 'verified',
  pending: 'pending',
  rejected: 'rejected',
};

/** Tasks leased ahead of the one running. */
const LEASE_AHEAD = 2;
/** Results computed and not yet submitted, at most, before the next task waits for the oldest. */
const MAX_QUEUED_SUBMITS = 2;
/** A task leased ahead is still run after a pause if its lease has at least this much time left. */
const AHEAD_MARGIN_MS = 15_000;
/** During a duty cycle's rest, the duty cycle is read again this often. */
const REST_RECHECK_MS = 1000;

export class TaskPipeline {
  private creditedTasks = 0;
  private earned = 0n;
  /** The next tasks, leased while the current one runs (LEASE_AHEAD of them at most). */
  private ahead: Promise<Task | null>[] = [];
  /** Submissions not yet settled (save → submit → record; they run one after another), oldest first. */
  private readonly unsent: Promise<void>[] = [];
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

  /** The last submission: settled once every earlier one is. */
  get submitting(): Promise<void> {
    return this.unsent.at(-1) ?? Promise.resolve();
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
        continue;
      }
      if (saved.output === null) {
        this.o.store.results.finish(hub, saved.taskId, 'dropped: unreadable');
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
    let output: Record<string, unknown>;
    g?.setWorking(true);
    // The GPU first; the bookkeeping while it runs.
    const running = this.o.host.run(task, stop);
    this.o.showTask({ id: task.id, kind: task.kind, startedAt: new Date().toISOString() });
    this.o.setState('working', REASON.working(task.kind, notes));
    // Two tasks ahead: a short task can end before one lease's round trip does.
    while (this.ahead.length < LEASE_AHEAD && (once === undefined || this.creditedTasks + this.unsent.length + 1 + this.ahead.length < once)) {
      const ahead = this.o.client.lease(this.o.kinds);
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
        this.o.log(LINE.taskStopped(task.id, g?.decision.allowed === false ? g.decision.reason : null));
        return;
      }
      const message = messageOf(error);
      await this.release(task.id);
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
      this.savePreview(task, output);
    });
    const submission = Promise.all([saved, this.submitting])
      .then(() => this.submit(task.id, task.kind, output, seconds))
      .catch((error: unknown) => {
        // Saved and unsent: submitted again once the hub answers (resubmitIfFailed).
        this.resubmit = true;
        this.o.onError(error);
      })
      .finally(() => {
        // Submissions settle in the order they were made: this one is the oldest.
        this.unsent.shift();
      });
    this.unsent.push(submission);
    if (this.unsent.length > MAX_QUEUED_SUBMITS) await this.unsent[0];
    await this.rest(seconds, signal);
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

  /** Gives a task back to the hub; a hub that cannot be reached lets the lease lapse instead. */
  private async release(taskId: string): Promise<void> {
    try {
      await this.o.client.release(taskId);
    } catch (error) {
      this.o.log(LINE.releaseFailed(taskId, error));
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
    let res: ResultResponse;
    try {
      res = await this.o.client.submit(taskId, output);
    } catch (error) {
      if (error instanceof HubAnswerError && (error.status === 409 || error.status === 403 || error.status === 404)) {
        this.o.store.results.finish(hub, taskId, `refused: ${error.code}`);
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
      });
    }
    this.o.store.results.finish(hub, taskId, res.status);
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
