/**
 * The words the engine prints for people: `REASON`, the reason beside each state (the dashboard,
 * the state log and `--json` show it), and `LINE`, its progress lines (the CLI prints them, the
 * desktop app logs them).
 */
import { formatUnits, type WorkerState } from '../../protocol/index.js';
import type { TokenInfo } from '../store/index.js';

/** An error's message, or what was thrown, as text. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** " in 1.23 s", or nothing when the time is not known. */
const took = (seconds: number | undefined): string => (seconds === undefined ? '' : ` in ${seconds.toFixed(2)} s`);

const tokens = (amount: bigint, token: TokenInfo): string => `${formatUnits(amount, token.decimals, 6)} ${token.symbol}`;

export const REASON = {
  starting: 'starting up',
  signingIn: (hubUrl: string): string => `Signing in to ${hubUrl}`,
  measuring: 'Measuring this GPU (a few seconds, once a week)',
  working: (kind: string, notes: readonly string[]): string => `Working on a ${kind} task${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`,
  noWork: (why: string | null): string => (why ? `Waiting: ${why}` : 'Waiting: the hub has no work right now'),
  offline: (message: string): string => `Offline: ${message}; retrying`,
  refusedRetrying: (message: string): string => `The hub refused: ${message}; retrying`,
  refused: (message: string): string => `The hub refused: ${message}`,
  taskFailed: (message: string): string => `The last task failed on the GPU: ${message}`,
  stopped: 'Stopped',
  finished: (credited: number): string => `Finished: ${credited} credited tasks`,
  gpuGivenBack: (why: string, ms: number): string =>
    `Gave the GPU back (${why.replace(/^Paused: /, '')}): its memory was freed ${ms} ms after Idleforge noticed`,
  /** The `rejected` event's reason when the hub gives none. */
  rejected: 'the hub rejected the result',
} as const;

/**
 * Why a task the hub has no entry of went nowhere: the receipt's reason in the history
 * (store/task-times.ts `outcome`).
 */
export const OUTCOME = {
  givenBack: (why: string | null): string => `Given back to the hub before it finished${why ? `: ${why.replace(/^Paused: /, '')}` : ' (the worker stopped)'}. Nothing was lost but its GPU time.`,
  failed: (message: string): string => `It failed on the GPU (${message}) and was given back to the hub.`,
  notReleased: (error: unknown): string => `It could not be given back (the hub did not answer: ${messageOf(error)}), so its lease ran out and the hub gave it to another worker.`,
  lapsed: (message: string): string => `Its lease ran out before the result reached the hub (${message}): the hub gave the task to another worker.`,
  refused: (message: string): string => `The hub did not take the result: ${message}`,
  droppedExpired: 'Its lease ran out before the saved result could be sent (the worker was stopped or offline): the hub gave the task to another worker.',
  droppedUnreadable: 'The saved result could not be read back after a restart, so it was not sent; its lease ran out.',
} as const;

export const LINE = {
  state: (state: WorkerState, reason: string): string => `${state}: ${reason}`,
  gpuGivenBack: (ms: number): string => `GPU handed back in ${ms} ms`,
  gpuNotFreed: (error: unknown): string => `could not free the GPU: ${messageOf(error)}`,
  hubAnswered: (status: number, code: string, message: string): string => `the hub answered ${status} ${code}: ${message}`,
  reconcileOnExitFailed: (error: unknown): string => `could not reconcile the ledger on exit: ${String(error)}`,
  payoutsGoTo: (address: string): string => `payouts go to ${address}`,
  signedIn: (hubUrl: string, address: string): string => `signed in to ${hubUrl} as ${address}`,
  ledgerCaughtUp: (changed: number): string => `ledger: ${changed} entries brought up to date from the hub`,
  score: (s: { gflops: number; mhs: number; renderGflops?: number }): string =>
    `GPU score: ${s.gflops.toFixed(2)} GFLOP/s, ${s.mhs.toFixed(2)} MH/s${s.renderGflops !== undefined ? `, render ${s.renderGflops.toFixed(2)} GFLOP/s` : ''}`,
  scoreFailed: (error: unknown): string => `could not measure the GPU: ${messageOf(error)}`,
  releaseFailed: (taskId: string, error: unknown): string =>
    `could not give task ${taskId} back to the hub (its lease will lapse): ${messageOf(error)}`,
  taskStopped: (taskId: string, why: string | null): string => `stopped task ${taskId} at once: ${why ?? 'stopped'}`,
  taskFailed: (taskId: string, message: string): string =>
    `task ${taskId} failed on the GPU, was not submitted and went back to the hub: ${message}`,
  notTaken: (taskId: string, message: string): string => `the hub did not take task ${taskId}: ${message}`,
  rejected: (taskId: string, reason: string | undefined): string => `task ${taskId} was rejected: ${reason ?? 'no reason given'}`,
  pending: (taskId: string, kind: string, seconds: number | undefined): string =>
    `task ${taskId} (${kind}) submitted${took(seconds)}; the hub credits it once a replica agrees`,
  credited: (
    kind: string,
    seconds: number | undefined,
    amount: bigint,
    session: { tasks: number; earned: bigint },
    token: TokenInfo,
  ): string =>
    `✔ ${kind} task done${took(seconds)}, verified: +${tokens(amount, token)} ` +
    `(${session.tasks} task${session.tasks === 1 ? '' : 's'}, ${tokens(session.earned, token)} this session)`,
  resultHeld: (taskId: string, why: string): string => `did not hand over task ${taskId}'s result and gave the task back (${why})`,
  resubmitting: (taskId: string): string => `submitting task ${taskId}, saved before the last stop`,
} as const;
