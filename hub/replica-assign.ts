/**
 * Who checks a result: the second worker of a replicated task is picked by the hub, at random,
 * from the workers online, never the next one to ask (one person's second key would ask at
 * once), and never one that looks like the same operator as the first:
 * - the same payout address;
 * - the same network: the same /24 (IPv4) or /64 (IPv6), as the hub sees the client (behind a
 *   trusted proxy, the address it forwards; see HubOptions.trustProxy);
 * - keys first seen from one network within `operatorWindowMs` of each other.
 * A hub may treat loopback clients as distinct (`loopbackDistinct`, on only for the devnet and
 * tests, where every worker is on 127.0.0.1), so that local replication still works.
 * - a worker too slow for the range: one that would take more than `REPLICA_SLACK` times the
 *   target of a task on it, at its rate (hub/sizing.ts).
 * The pick holds for `assignMs`; a worker that does not lease it by then is replaced.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { HubContext } from './context.js';
import { expandIPv6, plainAddress } from './http-guards.js';
import { replicaMinRate, TASK_SECONDS } from './sizing.js';
import { tasksStore, trustStore, type Sql } from './store/index.js';
import { iso } from './util.js';

export interface ReplicaPolicy {
  /** A worker seen this recently is online (ms). */
  onlineMs: number;
  /** Keys first seen from one network within this long of each other count as one operator (ms). */
  operatorWindowMs: number;
  /** How long the picked worker has to lease the task before another is picked (ms). */
  assignMs: number;
  /** Loopback clients are distinct operators (devnet and tests only). */
  loopbackDistinct: boolean;
}

export const DEFAULT_REPLICA_POLICY: ReplicaPolicy = { onlineMs: 2 * 60_000, operatorWindowMs: 10 * 60_000, assignMs: 60_000, loopbackDistinct: false };

/**
 * The network a client address belongs to: `a.b.c.0/24`, or the first four groups of an IPv6
 * address `/64`; null when unknown, or for loopback on a hub that treats loopback as distinct.
 */
export function originOf(ip: string | undefined, loopbackDistinct: boolean): string | null {
  if (!ip) return null;
  const v4 = plainAddress(ip);
  const loopback = v4.startsWith('127.') || v4 === '::1';
  if (loopback && loopbackDistinct) return null;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(v4)) return `${expandIPv6(v4).slice(0, 4).join(':')}::/64`;
  return null;
}

/** Whether two workers look like one operator (see the header). */
export function sameOperator(policy: ReplicaPolicy, a: trustStore.CandidateRow, b: trustStore.CandidateRow): boolean {
  if (a.payout.toLowerCase() === b.payout.toLowerCase()) return true;
  if (a.origin !== null && a.origin === b.origin) return true;
  if (a.first_origin !== null && a.first_origin === b.first_origin) {
    return Math.abs(Date.parse(a.first_seen) - Date.parse(b.first_seen)) <= policy.operatorWindowMs;
  }
  return false;
}

/**
 * Picks the second worker for `taskId`, whose first answer came from `author`, and assigns the
 * task to it (or to nobody yet, when no worker qualifies: `reassignReplicas` tries again). Call
 * inside a write transaction, `q`. Returns the worker picked, or null.
 */
export async function assignReplica(q: Sql, ctx: HubContext, taskId: string, author: string): Promise<string | null> {
  const policy = ctx.replicaPolicy;
  const first = await trustStore.candidateOf(q, author);
  const now = ctx.now();
  // Only a worker of comparable speed: one that would do the task (its count × weight, in work
  // units) within REPLICA_SLACK targets (hub/sizing.ts); one with no rate known counts as doing a
  // new key's task a target (hashsearch's: the one replicated kind).
  const task = await tasksStore.getTask(q, taskId);
  const speed = task?.count
    ? { kind: task.kind, minRate: replicaMinRate(task.count * task.weight), unknownRate: ctx.hashsearchTaskCount / TASK_SECONDS }
    : undefined;
  const candidates = (await trustStore.onlineCandidates(q, taskId, iso(now - policy.onlineMs), 256, speed)).filter(
    (c) => c.address !== author && (first === undefined || !sameOperator(policy, first, c)),
  );
  const picked = candidates.length === 0 ? null : candidates[Math.min(candidates.length - 1, Math.floor(ctx.random() * candidates.length))]!.address;
  await trustStore.assignReplica(q, taskId, picked, picked === null ? null : iso(now + policy.assignMs));
  return picked;
}
