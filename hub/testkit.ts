/** Helpers for the hub's tests: temp folders, a movable clock, HTTP calls, sign-in, matrices. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Wallet } from 'ethers';
import type { CliIo } from '../lib/cli.js';
import { ChallengeResponseSchema, ErrorBodySchema, LoginResponseSchema, f32ToBase64, type HashsearchOutput, type Task } from '../protocol/index.js';
import { hashsearch } from '../kernels/index.js';
import { freshDatabase } from './postgres/testing.js';
import { startHub, type Hub, type HubOptions } from './server.js';

export async function tempDir(prefix = 'idleforge-hub-test-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export class Clock {
  constructor(public t = Date.now()) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestHub {
  hub: Hub;
  clock: Clock;
  close(): Promise<void>;
}

/**
 * What `hub.createCustomer` gives a customer of a test hub (10¹² tokens): tests that are not
 * about billing never run out. Tests about billing pass `customerStartingBalance` (0n: none).
 */
export const TEST_CUSTOMER_BALANCE = 10n ** 30n;

/**
 * Render tiles of 128 pixels a side (`renderTilePixels`), the plan before tiles grew to
 * RENDER_TILE_PIXELS: tests' small pictures (256×64) then make two tiles, to carve, copy between
 * and assemble.
 */
export const TEST_RENDER_TILE_PIXELS = 128 * 128;

/** A hub on a fresh database of this run's PostgreSQL (see postgres/testing.ts), dropped on close. */
export async function startTestHub(opts: Partial<HubOptions> = {}): Promise<TestHub> {
  const fresh = opts.db === undefined ? await freshDatabase() : null;
  const clock = new Clock();
  let hub: Hub;
  try {
    // Every test worker is on 127.0.0.1: loopback clients count as distinct operators (tests only).
    hub = await startHub({ db: fresh?.url ?? '', now: clock.now, customerStartingBalance: TEST_CUSTOMER_BALANCE, ...opts, replicaPolicy: { loopbackDistinct: true, ...opts.replicaPolicy } });
  } catch (err) {
    await fresh?.drop();
    throw err;
  }
  return {
    hub,
    clock,
    async close() {
      try {
        await hub.close();
      } finally {
        await fresh?.drop();
      }
    },
  };
}

export interface Reply {
  status: number;
  body: unknown;
  headers: Headers;
}

export async function call(url: string, init: { method?: string; token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.rawBody !== undefined) body = init.rawBody;
  else if (init.body !== undefined) body = JSON.stringify(init.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body !== undefined ? { body } : {}) });
  const type = res.headers.get('content-type') ?? '';
  const parsed: unknown = res.status === 204 ? null : type.includes('json') ? await res.json() : new Uint8Array(await res.arrayBuffer());
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function challenge(hubUrl: string, address: string, headers?: Record<string, string>): Promise<string> {
  const r = await call(`${hubUrl}/v1/auth/challenge`, { body: { address }, ...(headers ? { headers } : {}) });
  if (r.status !== 200) throw new Error(`challenge failed: ${r.status} ${JSON.stringify(r.body)}`);
  return ChallengeResponseSchema.parse(r.body).message;
}

/** Signs `wallet` in; `headers` (an X-Forwarded-For behind a trusted proxy) go with both requests. */
export async function signIn(hubUrl: string, wallet: Pick<Wallet, 'address' | 'signMessage'>, headers?: Record<string, string>): Promise<string> {
  const message = await challenge(hubUrl, wallet.address, headers);
  const r = await call(`${hubUrl}/v1/auth/login`, { body: { message, signature: await wallet.signMessage(message) }, ...(headers ? { headers } : {}) });
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${JSON.stringify(r.body)}`);
  return LoginResponseSchema.parse(r.body).token;
}

/** Deterministic f32 values in [-1, 1] (xorshift), so failures reproduce. */
export function randomMatrix(len: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(len);
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 0xffffffff) * 2 - 1;
  }
  return out;
}

export function matmulJobBody(m: number, n: number, k: number, seed = 1): { body: { kind: 'matmul'; m: number; n: number; k: number; a: string; b: string }; a: Float32Array; b: Float32Array } {
  const a = randomMatrix(m * k, seed);
  const b = randomMatrix(k * n, seed + 1000);
  return { body: { kind: 'matmul', m, n, k, a: f32ToBase64(a), b: f32ToBase64(b) }, a, b };
}

/** The `{ error: { code, message } }` of a failed reply, checked with the protocol schema. */
export function errorOf(r: Reply): { code: string; message: string } {
  return ErrorBodySchema.parse(r.body).error;
}

/** A fresh anvil chain with the Idleforge token deployed and the treasury funded. */
export interface TestChain {
  rpcUrl: string;
  token: string;
  treasuryKey: string;
  treasury: string;
  /** Token Transfer events to `to` (all senders). */
  transfersTo(to: string): Promise<{ from: string; to: string; value: bigint; txHash: string }[]>;
  balanceOf(address: string): Promise<bigint>;
  /** Another funded treasury (ETH for gas and 10⁶ tokens), for hubs running side by side. Call one at a time. */
  newTreasury(): Promise<{ key: string; address: string }>;
  stop(): Promise<void>;
}

export async function startTestChain(): Promise<TestChain> {
  const { ANVIL_KEYS, startAnvil } = await import('./anvil.js');
  const { Chain, deployToken, transferToken } = await import('./chain.js');
  const { JsonRpcProvider, Wallet: EthersWallet } = await import('ethers');
  const anvil = await startAnvil();
  try {
    const deployer = new EthersWallet(ANVIL_KEYS[0]).address;
    const treasuryKey = ANVIL_KEYS[1];
    const treasury = new EthersWallet(treasuryKey).address;
    const token = await deployToken(anvil.rpcUrl, ANVIL_KEYS[0], deployer, 10n ** 27n);
    await transferToken(anvil.rpcUrl, ANVIL_KEYS[0], token, treasury, 10n ** 24n);
    // A read-only view for the test's own questions (its key is the public anvil one).
    const view = await Chain.connect({ rpcUrl: anvil.rpcUrl, token, treasuryKey: ANVIL_KEYS[2] });
    return {
      rpcUrl: anvil.rpcUrl,
      token,
      treasuryKey,
      treasury,
      transfersTo: (to) => view.transfers(null, to),
      balanceOf: (address) => view.tokenBalance(address),
      async newTreasury() {
        const fresh = EthersWallet.createRandom();
        const provider = new JsonRpcProvider(anvil.rpcUrl, 31337, { staticNetwork: true });
        try {
          await (await new EthersWallet(ANVIL_KEYS[0], provider).sendTransaction({ to: fresh.address, value: 10n ** 18n })).wait();
        } finally {
          provider.destroy();
        }
        await transferToken(anvil.rpcUrl, ANVIL_KEYS[0], token, fresh.address, 10n ** 24n);
        return { key: fresh.privateKey, address: fresh.address };
      },
      async stop() {
        view.close();
        await anvil.stop();
      },
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

/** An honest worker's answer to a hashsearch task (the CPU reference), as it would submit it. */
export function solveHashsearch(task: Extract<Task, { kind: 'hashsearch' }>): HashsearchOutput {
  const r = hashsearch.hashsearchReference({ ...task.params, start: BigInt(task.params.start) });
  return { nonces: r.nonces.map(String), best: { nonce: String(r.best.nonce), hash: r.best.hash } };
}

export interface HubCommandRun {
  /** What the command printed so far, a line an entry (its JSON log lines among them). */
  out: string[];
  err: string[];
  /** The io the command runs with, for more commands whose lines should land in `out` and `err`. */
  io: CliIo;
  /** The first line of `out` that matches. */
  line(re: RegExp): string | undefined;
  /** Stops the command as SIGTERM would; resolves to its exit code. */
  stop(): Promise<number>;
}

/** `idleforge <argv>` run in this process (hub/cli.ts), once a line of its stdout matches `ready`. */
export async function runHubCommand(argv: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<HubCommandRun> {
  const { main } = await import('./cli.js');
  const out: string[] = [];
  const err: string[] = [];
  const abort = new AbortController();
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), signal: abort.signal };
  const line = (re: RegExp): string | undefined => out.find((l) => re.test(l));
  const running = main(argv, io, env);
  running.catch(() => undefined);
  const stop = (): Promise<number> => {
    abort.abort();
    return running;
  };
  const deadline = Date.now() + 30_000;
  while (!line(ready)) {
    const early = await Promise.race([running, new Promise<null>((r) => setTimeout(() => r(null), 10))]);
    if (early !== null) throw new Error(`idleforge ${argv.join(' ')} exited (${early}) before it was ready: ${err.join('\n')}`);
    if (Date.now() > deadline) {
      await stop().catch(() => undefined);
      throw new Error(`idleforge ${argv.join(' ')} was not ready in 30 s: ${err.join('\n')}`);
    }
  }
  return { out, err, io: { out: io.out, err: io.err }, line, stop };
}
