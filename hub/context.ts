/** What every route handler of one hub shares. */
import type { InputsCache } from './inputs-cache.js';
import type { HubDb } from './store/index.js';

export interface HubContext {
  readonly db: HubDb;
  /** Milliseconds since the epoch; injected so tests can move time. */
  readonly now: () => number;
  readonly chainId: number;
  readonly leaseMs: number;
  /** Base units paid per 10⁹ floating-point operations of verified work. */
  readonly rewardPerGflop: bigint;
  /** EIP-4361 domain (host[:port]) and URI the hub signs workers in for; set once listening. */
  domain: string;
  uri: string;
  readonly inputs: InputsCache;
}
