/**
 * A local network for development: an anvil chain with the Idleforge token, the hub paying from
 * a funded treasury, a customer key and the demo job feeder.
 *
 * With `dataDir`, the network survives restarts: the hub keeps its database in a local PostgreSQL
 * there (`postgres/`, see postgres/local-hub.ts; a `hub.db` from before is carried over) and anvil its chain
 * in `anvil-state.json` (loaded at start, written every few seconds and when stopped), with the
 * token's address in `devnet.json`, so balances paid on chain and the hub's ledger stay together
 * and a worker's ledger (kept per hub URL) stays valid. Should the chain state be lost (e.g. the
 * devnet was killed before anvil wrote it), a fresh chain is made: the token is deployed again by
 * the same account at the same nonce, so at the same address, and the treasury refunded; payouts
 * the hub still has open are then resent as it reconciles them.
 *
 * Without anvil installed (production installs without dev dependencies) the devnet runs without
 * a chain: `rpc` and `token` are null and nobody is paid.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getAddress, JsonRpcProvider, Wallet } from 'ethers';
import { ANVIL_KEYS, findAnvil, startAnvil, type Anvil } from './anvil.js';
import { creditCustomer } from './billing.js';
import { deployToken, rpcChainId, transferToken } from './chain.js';
import type { ReplicationPolicy } from './context.js';
import type { ReplicaPolicy } from './replica-assign.js';
import { feederSpendBound, startFeeder, type Feeder, type FeederEvent, type FeederOptions } from './feeder.js';
import { DEFAULT_REWARD_PER_GFLOP, DEFAULT_REWARD_PER_MHASH } from './jobs.js';
import { startLocalHubDatabase, type LocalHubDatabase } from './postgres/local-hub.js';
import { startHub, type Hub, type HubOptions } from './server.js';

export const DEVNET_STATE_FILE = 'anvil-state.json';
export const DEVNET_INFO_FILE = 'devnet.json';
export const DEVNET_CHAIN_ID = 31337;
/** Anvil's first account deploys the token; its second is the hub's treasury. */
export const DEVNET_DEPLOYER_KEY = ANVIL_KEYS[0];
export const DEVNET_TREASURY_KEY = ANVIL_KEYS[1];
const TOKEN = 10n ** 18n;
export const DEVNET_TOKEN_SUPPLY = 1_000_000_000n * TOKEN;
export const DEVNET_TREASURY_FUNDS = 100_000_000n * TOKEN;
/**
 * 0.0003 IDLE. The smallest feeder task (256³ multiply-adds) pays 0.0336 IDLE, so a worker's first
 * payout comes with its first verified task.
 */
export const DEVNET_PAYOUT_THRESHOLD = 3n * 10n ** 14n;
/** On the devnet a lone worker's hashsearch result is checked by the hub after 10 s. */
export const DEVNET_REPLICATION: Partial<ReplicationPolicy> = { replicaTimeoutMs: 10_000 };
/**
 * What the devnet relaxes of the trust rules, where every worker is on 127.0.0.1 and usually
 * alone: loopback clients count as distinct operators (else no replica could go anywhere), a new
 * key may have 16 hashsearch results waiting (not 4: alone, each waits the 10 s above for the
 * hub's check) and be owed 1,000 tokens (not 10), and credit the hub checked on a stretch is held
 * one minute (not an hour) before it is paid. Lease caps stay as on any hub.
 */
export const DEVNET_REPLICA_POLICY: Partial<ReplicaPolicy> = { loopbackDistinct: true };
export const DEVNET_STANDING = { newKey: { pending: 16, unpaid: 1000n * 10n ** 18n }, holdMs: 60_000 };
export const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * What the devnet's customer (the feeder's) is credited at start: the most the feeder can spend
 * in a week at the hub's default pay rates (about 1,126,000 IDLE with the default feeder: at most
 * 4 matmul jobs of ≤ 0.27 IDLE, one hashsearch job of ≤ 0.52 IDLE and one render job of ≤ 0.26
 * IDLE a second).
 */
export function devnetCustomerCredit(feeder: Pick<FeederOptions, 'backlogs' | 'intervalMs'> = {}): bigint {
  return feederSpendBound({ ...feeder, rewardPerGflop: DEFAULT_REWARD_PER_GFLOP, rewardPerMhash: DEFAULT_REWARD_PER_MHASH }, WEEK_MS);
}

/**
 * The devnet's reference value of its token (`GET /v1/rates`): made up, so that a local worker
 * can show costs against earnings; 10⁻⁶ USD a token (its rates pay a token per GFLOP).
 */
export const DEVNET_REFERENCE_PRICE = { currency: 'USD', perToken: 1, label: 'devnet: a made-up reference price for trying Idleforge out, not a market price' } as const;

export interface DevnetOptions {
  /** Where the network keeps its files; default a fresh temporary folder, removed on close. */
  dataDir?: string;
  /**
   * The hub's database (postgres://…); default a PostgreSQL of this machine in `<dataDir>/postgres`,
   * started and stopped with the devnet.
   */
  db?: string;
  /** Hub port; default 0 (a free one). */
  port?: number;
  /** Run anvil and pay workers (default: when anvil is installed); false: no chain. */
  chain?: boolean;
  payoutThreshold?: bigint;
  /** Run the demo feeder (default true); an object tunes it. */
  feeder?: boolean | Pick<FeederOptions, 'backlogs' | 'intervalMs'>;
  onFeederEvent?: (event: FeederEvent) => void;
  /** Lines from the hub (payouts) and the devnet itself. */
  log?: (line: string) => void;
  /** The hub's task sizes for keys with no observed rate (hub/sizing.ts) and its render tiles (tests): default the hub's. */
  sizes?: Pick<HubOptions, 'hashsearchTaskCount' | 'renderTaskFlops' | 'renderTilePixels'>;
}

export interface Devnet {
  hubUrl: string;
  customerKey: string;
  chainId: number;
  /** The anvil JSON-RPC URL, or null without a chain. */
  rpc: string | null;
  /** The token's address, or null without a chain. */
  token: string | null;
  dataDir: string;
  hub: Hub;
  close(): Promise<void>;
}

interface DevnetInfo {
  token: string;
}

function readInfo(path: string): DevnetInfo | null {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<DevnetInfo>;
    return typeof o.token === 'string' ? { token: getAddress(o.token) } : null;
  } catch {
    return null;
  }
}

/** The token on this chain: the recorded one if its code is there, else a new deployment. */
async function ensureToken(rpcUrl: string, dataDir: string, log: (line: string) => void): Promise<string> {
  const infoPath = join(dataDir, DEVNET_INFO_FILE);
  const info = readInfo(infoPath);
  if (info) {
    const provider = new JsonRpcProvider(rpcUrl, DEVNET_CHAIN_ID, { staticNetwork: true });
    try {
      if ((await provider.getCode(info.token)) !== '0x') return info.token;
    } finally {
      provider.destroy();
    }
    log(`devnet: the chain state was lost; deploying the token again`);
  }
  const deployer = new Wallet(DEVNET_DEPLOYER_KEY).address;
  const token = await deployToken(rpcUrl, DEVNET_DEPLOYER_KEY, deployer, DEVNET_TOKEN_SUPPLY);
  await transferToken(rpcUrl, DEVNET_DEPLOYER_KEY, token, new Wallet(DEVNET_TREASURY_KEY).address, DEVNET_TREASURY_FUNDS);
  writeFileSync(infoPath, `${JSON.stringify({ token }, null, 2)}\n`);
  return token;
}

export async function startDevnet(opts: DevnetOptions = {}): Promise<Devnet> {
  const temporary = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'idleforge-devnet-')));
  const log = opts.log ?? ((): void => undefined);
  let anvil: Anvil | null = null;
  let hub: Hub | null = null;
  let feeder: Feeder | null = null;
  let database: LocalHubDatabase | null = null;
  const cleanup = async (): Promise<void> => {
    await feeder?.stop();
    await hub?.close();
    await anvil?.stop();
    await database?.stop();
    if (temporary) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await mkdir(dataDir, { recursive: true });
    const wantChain = opts.chain ?? findAnvil() !== null;
    let token: string | null = null;
    if (wantChain) {
      anvil = await startAnvil({ chainId: DEVNET_CHAIN_ID, statePath: join(dataDir, DEVNET_STATE_FILE) });
      if ((await rpcChainId(anvil.rpcUrl)) !== DEVNET_CHAIN_ID) throw new Error('anvil runs another chain id than asked');
      token = await ensureToken(anvil.rpcUrl, dataDir, log);
    } else if (opts.chain === undefined) {
      log('devnet: anvil is not installed, so this network has no chain and pays nobody');
    }
    if (opts.db === undefined) {
      database = await startLocalHubDatabase({ dataDir, log });
    }
    hub = await startHub({
      db: opts.db ?? database!.url,
      port: opts.port ?? 0,
      chainId: DEVNET_CHAIN_ID,
      replication: DEVNET_REPLICATION,
      replicaPolicy: DEVNET_REPLICA_POLICY,
      standing: DEVNET_STANDING,
      referencePrice: DEVNET_REFERENCE_PRICE,
      log,
      ...opts.sizes,
      ...(anvil && token
        ? { chain: { rpcUrl: anvil.rpcUrl, token, treasuryKey: DEVNET_TREASURY_KEY, payoutThreshold: opts.payoutThreshold ?? DEVNET_PAYOUT_THRESHOLD, pollMs: 1000, deposits: { pollMs: 1000 } } }
        : {}),
    });
    const tune = typeof opts.feeder === 'object' ? opts.feeder : {};
    // The feeder's customer pays for its jobs like any other, from a week's worth of them,
    // credited the way an operator credits (`idleforge hub credit`).
    const customer = await hub.createCustomerAccount('devnet feeder', { balance: 0n });
    const customerKey = customer.apiKey;
    await creditCustomer(hub.db, { customerId: customer.id, amount: devnetCustomerCredit(tune), reason: 'devnet: a week of demo jobs', id: `devnet-week:${customer.id}` });
    if (opts.feeder !== false) {
      feeder = startFeeder({ hubUrl: hub.url, customerKey, ...tune, ...(opts.onFeederEvent ? { onEvent: opts.onFeederEvent } : {}) });
    }
    let closing: Promise<void> | null = null;
    return {
      hubUrl: hub.url,
      customerKey,
      chainId: hub.chainId,
      rpc: anvil?.rpcUrl ?? null,
      token,
      dataDir,
      hub,
      close() {
        closing ??= cleanup();
        return closing;
      },
    };
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
}
