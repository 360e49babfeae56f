/**
 * A task's receipt in plain words, the same in the dashboard's history and in `idleforge
 * earnings`: how the hub checked it (protocol `ResultCheck`), what was done (its size in its
 * kind's unit of work), and what each status of the history means.
 */
import type { HistoryStatus } from './engine-api.js';
import type { ResultCheck } from './http.js';

const count = (n: number): string => n.toLocaleString('en-US');

/** How the hub checked a result, in one sentence. */
export function checkWords(check: ResultCheck | null | undefined, status?: HistoryStatus): string {
  if (!check) return status === undefined || ['pending', 'verified', 'paid', 'rejected'].includes(status) ? 'The hub did not say how it checked this result.' : 'Not checked: the hub has no result of it.';
  switch (check.method) {
    case 'freivalds':
      return `Freivalds' check: the hub multiplied the result by ${check.rounds === undefined ? 'secret random vectors' : `${check.rounds} secret random vector${check.rounds === 1 ? '' : 's'}`} and compared it with the inputs.`;
    case 'rehash':
      return `Every nonce rehashed by the hub${check.nonces ? `, and ${count(check.nonces)} nonces of the range searched again by the hub itself` : ''}.`;
    case 'replica':
      return status === 'pending' ? 'Waiting for another worker, picked by the hub, to answer the same task and agree.' : 'Another worker, picked by the hub, answered the same task: the two answers were compared.';
    case 'spot-check':
      return `Spot check: no second worker came in time, so the hub searched ${check.nonces ? `${count(check.nonces)} nonces` : 'a stretch'} of the range itself.`;
  }
}

/** What a status of the history means, in plain words. */
export const HISTORY_STATUS_WORDS: Record<HistoryStatus, { label: string; help: string }> = {
  pending: { label: 'Pending', help: 'The hub waits for a second worker to agree before it credits this task.' },
  verified: { label: 'Verified', help: 'Checked and credited; it goes into the next payout.' },
  paid: { label: 'Paid', help: 'Paid to your wallet on chain.' },
  rejected: { label: 'Rejected', help: 'The hub found the result wrong: it earned nothing.' },
  lapsed: { label: 'Lapsed', help: 'The lease ran out before the result reached the hub: it earned nothing, and the task went to another worker.' },
  'given-back': { label: 'Given back', help: 'Stopped and given back to the hub before it finished (a pause or a stop): it earned nothing.' },
  failed: { label: 'Failed', help: 'It failed on this GPU and was given back to the hub: it earned nothing.' },
  refused: { label: 'Refused', help: 'The hub did not take the result: it earned nothing.' },
};

/** A task's size: "2.1 GFLOP", "1,048,576 hashes". */
export function workWords(work: { units: string; unit: string } | null): string | null {
  if (!work) return null;
  const units = BigInt(work.units);
  if (work.unit === 'FLOP') {
    for (const [scale, prefix] of [[10n ** 12n, 'T'], [10n ** 9n, 'G'], [10n ** 6n, 'M']] as const) {
      if (units >= scale) return `${(Number((units * 100n) / scale) / 100).toString()} ${prefix}FLOP`;
    }
  }
  return `${units.toLocaleString('en-US')} ${work.unit}`;
}
