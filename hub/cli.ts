/**
 * `idleforge devnet [--json] [--port N] [--data DIR] [--no-chain] [--payout-threshold N]`: the
 * local network (anvil chain + token, hub, demo feeder).
 * `idleforge hub --db FILE [--port N] [--customer NAME] [--rpc URL --token ADDRESS] ...`: the hub
 * alone, paying on the chain it is given (the treasury key comes from the environment or a file,
 * never the command line, where other users of the machine could read it).
 * `idleforge hub credit --db FILE --customer ID --amount BASE_UNITS [--reason TEXT] [--id ID]`:
 * the operator credits a customer's balance (a ledger entry with its reason; once per --id).
 *
 * Both run until SIGINT or SIGTERM and then close cleanly (exit code 0). With --json, devnet
 * prints exactly one line on stdout, the `ready` event; everything else goes to stderr.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isIP } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { processIo, runProgram, UsageError, type CliIo } from '../lib/cli.js';
import { privateFileProblem } from '../lib/private-file.js';
import { AmountSchema, ReadyEventSchema, formatUnits } from '../protocol/index.js';
import { creditCustomer } from './billing.js';
import { HUB_COMMANDS, HUB_ENV } from './commands.js';
import { startDevnet } from './devnet.js';
import { describeSubmitted } from './feeder.js';
import { PAYOUT_CRASH_POINTS, type PayoutCrashPoint } from './payouts.js';
import { isLogLevel, LOG_LEVELS, type HubLogLevel } from './logging.js';
import { metricsOptionsProblem, type HubMetricsOptions } from './metrics.js';
import { normalizePublicUrl, startHub, type Hub, type HubChainOptions } from './server.js';
import { startLocalHubDatabase, LEGACY_DB_FILE } from './postgres/local-hub.js';
import { openHubDb } from './store/index.js';

export type { CliIo };

function parseAmount(flag: string, value: string | undefined): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  if (!AmountSchema.safeParse(value).success || BigInt(value) === 0n) throw new UsageError(`${flag} must be a positive whole number of base units, not ${value}`);
  return BigInt(value);
}

function parsePositiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw new UsageError(`${flag} must be a positive whole number, not ${value}`);
  return Number(value);
}

function crashPoint(env: NodeJS.ProcessEnv): PayoutCrashPoint | undefined {
  const v = env[HUB_ENV.crashAt];
  if (v === undefined || v === '') return undefined;
  if (!(PAYOUT_CRASH_POINTS as readonly string[]).includes(v)) throw new UsageError(`${HUB_ENV.crashAt} must be one of ${PAYOUT_CRASH_POINTS.join(', ')}`);
  return v as PayoutCrashPoint;
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) throw new UsageError(`--port must be a number from 0 to 65535, not ${value}`);
  return Number(value);
}

/** Resolves on SIGINT, SIGTERM or the io's abort signal. */
export function untilStopped(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      signal?.removeEventListener('abort', onAbort);
      resolve(why);
    };
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    const onAbort = (): void => done('abort');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (signal?.aborted) done('abort');
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function devnet(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      port: { type: 'string' },
      data: { type: 'string' },
      'no-chain': { type: 'boolean', default: false },
      'payout-threshold': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const json = values.json === true;
  const port = parsePort(values.port);
  const payoutThreshold = parseAmount('--payout-threshold', values['payout-threshold']);
  const log = json ? io.err : io.out;
  const net = await startDevnet({
    port,
    ...(values.data !== undefined ? { dataDir: values.data } : {}),
    ...(values['no-chain'] === true ? { chain: false } : {}),
    ...(payoutThreshold !== undefined ? { payoutThreshold } : {}),
    log,
    onFeederEvent: (e) => {
      if (e.type === 'error') log(`feeder: ${e.message}`);
      else if (!json && e.type === 'submitted') {
        log(`feeder: submitted job ${e.id} (${describeSubmitted(e)})`);
      }
    },
  });
  try {
    if (json) {
      const ready = ReadyEventSchema.parse({
        event: 'ready',
        hub: net.hubUrl,
        rpc: net.rpc,
        chainId: net.chainId,
        token: net.token,
        customerKey: net.customerKey,
      });
      io.out(JSON.stringify(ready));
    } else {
      log(`hub listening at ${net.hubUrl} (chain id ${net.chainId})`);
      log(net.rpc ? `chain: ${net.rpc}, token ${net.token ?? ''}` : 'no chain: nobody is paid');
      log(`data in ${net.dataDir}`);
      log(`customer key: ${net.customerKey}`);
      log('feeding demo jobs; press Ctrl+C to stop');
    }
    const why = await untilStopped(io.signal);
    if (!json) log(`stopping (${why})`);
  } finally {
    await net.close();
  }
  return 0;
}

/** The treasury key file's text; refused while other users of the machine may read (or swap) it. */
function readPrivateFile(file: string): string {
  const problem = privateFileProblem(file);
  if (problem) throw new Error(`the treasury key file ${problem}`);
  return readFileSync(file, 'utf8');
}

/** The chain options of `idleforge hub`, from flags and then the environment; undefined without a chain. */
function chainOptions(values: Record<string, string | string[] | boolean | undefined>, env: NodeJS.ProcessEnv): HubChainOptions | undefined {
  const str = (flag: string, name: keyof typeof HUB_ENV): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[HUB_ENV[name]] || undefined;
  };
  const rpcUrl = str('rpc', 'rpc');
  const token = str('token', 'token');
  if (rpcUrl === undefined && token === undefined) {
    for (const flag of ['payout-threshold', 'confirmations', 'treasury-key-file']) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for a hub that pays: give --rpc and --token too`);
    }
    return undefined;
  }
  if (rpcUrl === undefined || token === undefined) throw new UsageError('give both --rpc and --token (or neither, for a hub that pays nobody)');
  const keyFile = values['treasury-key-file'];
  const treasuryKey = (typeof keyFile === 'string' ? readPrivateFile(keyFile) : (env[HUB_ENV.treasuryKey] ?? '')).trim();
  if (treasuryKey === '') throw new UsageError(`a hub that pays needs its treasury key in $${HUB_ENV.treasuryKey} or --treasury-key-file`);
  const payoutThreshold = parseAmount('--payout-threshold', str('payout-threshold', 'payoutThreshold'));
  const confirmations = parsePositiveInt('--confirmations', typeof values.confirmations === 'string' ? values.confirmations : undefined);
  const crashAt = crashPoint(env);
  return {
    rpcUrl,
    token,
    treasuryKey,
    ...(payoutThreshold !== undefined ? { payoutThreshold } : {}),
    ...(confirmations !== undefined ? { confirmations } : {}),
    ...(crashAt !== undefined ? { crashAt } : {}),
  };
}

/** `--metrics-port N` or `--metrics-token T` (or its environment variable); undefined: not served. */
function metricsOptions(values: { 'metrics-port'?: string; 'metrics-token'?: string }, env: NodeJS.ProcessEnv): HubMetricsOptions | undefined {
  const port = values['metrics-port'];
  const token = values['metrics-token'] ?? (env[HUB_ENV.metricsToken] || undefined);
  if (port === undefined && token === undefined) return undefined;
  if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) throw new UsageError(`--metrics-port must be a number from 0 to 65535, not ${port}`);
  const o: HubMetricsOptions = port !== undefined ? { port: Number(port) } : {};
  if (token !== undefined) o.token = token;
  const problem = metricsOptionsProblem(o);
  if (problem) throw new UsageError(`${problem} (--metrics-port, --metrics-token or $${HUB_ENV.metricsToken})`);
  return o;
}

function logLevel(value: string | undefined): HubLogLevel {
  if (value === undefined) return 'info';
  if (!isLogLevel(value)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${value}`);
  return value;
}

export async function hubOnly(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      db: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'public-url': { type: 'string' },
      customer: { type: 'string' },
      'customer-credit': { type: 'string' },
      'chain-id': { type: 'string' },
      rpc: { type: 'string' },
      token: { type: 'string' },
      'treasury-key-file': { type: 'string' },
      'payout-threshold': { type: 'string' },
      confirmations: { type: 'string' },
      'trust-proxy': { type: 'string', multiple: true },
      'metrics-port': { type: 'string' },
      'metrics-token': { type: 'string' },
      'log-level': { type: 'string' },
      'replica-timeout': { type: 'string' },
      'lease-seconds': { type: 'string' },
      'db-connections': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const replicaTimeout = values['replica-timeout'];
  if (replicaTimeout !== undefined && !(/^[0-9]+(\.[0-9]+)?$/.test(replicaTimeout) && Number(replicaTimeout) > 0)) {
    throw new UsageError(`--replica-timeout takes seconds (more than 0), not ${replicaTimeout}`);
  }
  const leaseSeconds = parsePositiveInt('--lease-seconds', values['lease-seconds']);
  const dbConnections = parsePositiveInt('--db-connections', values['db-connections']);
  const dbArg = values.db ?? (env[HUB_ENV.db] || undefined);
  if (dbArg === undefined) throw new UsageError(`--db is required: a postgres:// URL (or $${HUB_ENV.db}), or a folder for a PostgreSQL of the hub's own`);
  const customerCredit = parseAmount('--customer-credit', values['customer-credit']);
  if (customerCredit !== undefined && values.customer === undefined) throw new UsageError('--customer-credit is for the customer --customer NAME makes');
  const host = values.host ?? '127.0.0.1';
  if (isIP(host) === 0) throw new UsageError(`--host must be an IPv4 or IPv6 address (0.0.0.0 or :: for all), not ${host}`);
  const publicUrl = values['public-url'] ?? (env[HUB_ENV.publicUrl] || undefined);
  if (publicUrl !== undefined) {
    try {
      normalizePublicUrl(publicUrl);
    } catch (err) {
      throw new UsageError(`--public-url: ${(err as Error).message}`);
    }
  }
  const chain = chainOptions(values, env);
  const chainId = parsePositiveInt('--chain-id', values['chain-id']);
  const metrics = metricsOptions(values, env);
  const level = logLevel(values['log-level']);
  const database = await hubDatabase(dbArg, io);
  let hub: Hub;
  try {
    hub = await startHub({
      db: database.url,
      host,
      port: parsePort(values.port),
      // The URL workers use (a reverse proxy's): the sign-in message's domain and URI.
      ...(publicUrl !== undefined ? { publicUrl } : {}),
      ...(chainId !== undefined ? { chainId } : {}),
      ...(chain ? { chain } : {}),
      // Behind a reverse proxy: the addresses (or CIDRs) whose X-Forwarded-For names the client.
      ...(values['trust-proxy'] ? { trustProxy: values['trust-proxy'] } : {}),
      // JSON lines on stdout beside the lines below; the operator's lines (payouts) among them.
      logger: { level, write: (line) => io.out(line.replace(/\n$/, '')) },
      ...(metrics ? { metrics } : {}),
      ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
      ...(dbConnections !== undefined ? { dbConnections } : {}),
      // How long a result that needs a second worker waits for one before the hub checks it itself.
      ...(replicaTimeout !== undefined ? { replication: { replicaTimeoutMs: Math.round(Number(replicaTimeout) * 1000) } } : {}),
    });
  } catch (err) {
    await database.stop();
    throw err;
  }
  try {
    io.out(`hub listening at ${hub.url} (chain id ${hub.chainId}), data in ${database.where}`);
    if (hub.publicUrl !== hub.url) io.out(`workers sign in for ${hub.publicUrl}`);
    if (hub.metricsUrl) io.out(`metrics at ${hub.metricsUrl}${metrics?.token !== undefined ? ' (Authorization: Bearer <the metrics token>)' : ''}`);
    if (hub.chain) {
      const t = hub.chain.token;
      io.out(`paying in ${t.symbol} (${t.address}) from treasury ${hub.chain.treasury}, which holds ${formatUnits(await hub.chain.tokenBalance(hub.chain.treasury), t.decimals, 6)} ${t.symbol}`);
    }
    if (values.customer !== undefined) {
      const c = await hub.createCustomerAccount(values.customer, { balance: customerCredit ?? 0n });
      io.out(`customer key for ${values.customer}: ${c.apiKey}`);
      io.out(`customer id for ${values.customer}: ${c.id} (balance ${customerCredit ?? 0n} base units; add with idleforge hub credit)`);
    }
    const why = await untilStopped(io.signal);
    io.out(`stopping (${why})`);
  } finally {
    await hub.close();
    await database.stop();
  }
  return 0;
}

interface HubDatabaseArg {
  url: string;
  /** What the hub's start line names (never the URL's password). */
  where: string;
  stop(): Promise<void>;
}

/**
 * `--db`: a postgres:// URL as it is; else a folder (or, as before PostgreSQL, a FILE.db, which
 * names its folder) where the hub runs a PostgreSQL of its own, carrying over the folder's hub.db.
 */
async function hubDatabase(value: string, io: CliIo): Promise<HubDatabaseArg> {
  if (/^postgres(ql)?:\/\//.test(value)) {
    const u = new URL(value);
    return { url: value, where: `PostgreSQL at ${u.host}${u.pathname}`, stop: async () => undefined };
  }
  const legacy = value.endsWith('.db') || (existsSync(value) && statSync(value).isFile());
  const dataDir = legacy ? dirname(value) : value;
  const local = await startLocalHubDatabase({ dataDir, legacyFile: legacy ? value : join(dataDir, LEGACY_DB_FILE), log: (line) => io.out(line) });
  return { url: local.url, where: `${join(dataDir, 'postgres')} (PostgreSQL on 127.0.0.1:${local.cluster.port})`, stop: () => local.stop() };
}

/** `idleforge hub credit`: the operator's credit to a customer, on the hub's database (running or not). */
export async function hubCredit(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { db: { type: 'string' }, customer: { type: 'string' }, amount: { type: 'string' }, reason: { type: 'string' }, id: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const dbArg = values.db ?? (env[HUB_ENV.db] || undefined);
  if (dbArg === undefined) throw new UsageError(`--db is required: the hub's postgres:// URL (or $${HUB_ENV.db}), or the folder of its own PostgreSQL`);
  if (values.customer === undefined) throw new UsageError('--customer ID is required (the id `idleforge hub --customer NAME` printed)');
  const amount = parseAmount('--amount', values.amount);
  if (amount === undefined) throw new UsageError('--amount BASE_UNITS is required');
  if (!/^postgres(ql)?:\/\//.test(dbArg) && !existsSync(dbArg)) throw new UsageError(`there is no hub database at ${dbArg}`);
  const database = await hubDatabase(dbArg, io);
  const db = await openHubDb(database.url, { max: 1 }).catch(async (err: unknown) => {
    await database.stop();
    throw err;
  });
  try {
    const r = await creditCustomer(db, { customerId: values.customer, amount, reason: values.reason ?? 'operator credit', ...(values.id !== undefined ? { id: values.id } : {}) });
    const balance = `available ${r.available}, reserved ${r.reserved} base units`;
    io.out(r.credited ? `credited ${amount} base units to ${values.customer} (ledger entry ${r.entryId}); ${balance}` : `credit ${values.id ?? ''} was made before (ledger entry ${r.entryId}); nothing changed; ${balance}`);
  } finally {
    await db.close();
    await database.stop();
  }
  return 0;
}

/** The hub's commands alone (`node hub/cli.ts devnet …`, and tests); `idleforge` runs the same ones. */
export function main(argv: string[], io: CliIo = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return runProgram({ sections: [{ title: 'The hub', commands: HUB_COMMANDS }], bare: 'usage' }, argv, io, env);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
