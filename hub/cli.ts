/**
 * `idleforge devnet [--json] [--port N] [--data DIR]`: the local network (hub + demo feeder).
 * `idleforge hub --db FILE [--port N] [--customer NAME]`: the hub alone.
 *
 * Both run until SIGINT or SIGTERM and then close cleanly (exit code 0). With --json, devnet
 * prints exactly one line on stdout, the `ready` event; everything else goes to stderr.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ReadyEventSchema } from '../protocol/index.js';
import { startDevnet } from './devnet.js';
import { startHub } from './server.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Stops the command as SIGINT/SIGTERM would (tests). */
  signal?: AbortSignal;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export const USAGE = `usage:
  idleforge devnet [--json] [--port N] [--data DIR]   local hub + demo job feeder
  idleforge hub --db FILE [--port N] [--customer NAME] the hub alone`;

class UsageError extends Error {}

function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535) throw new UsageError(`--port must be a number from 0 to 65535, not ${value}`);
  return Number(value);
}

/** Resolves on SIGINT, SIGTERM or the io's abort signal. */
function untilStopped(signal?: AbortSignal): Promise<string> {
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

async function devnet(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { json: { type: 'boolean', default: false }, port: { type: 'string' }, data: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const json = values.json === true;
  const port = parsePort(values.port);
  const log = json ? io.err : io.out;
  const net = await startDevnet({
    port,
    ...(values.data !== undefined ? { dataDir: values.data } : {}),
    onFeederEvent: (e) => {
      if (e.type === 'error') log(`feeder: ${e.message}`);
      else if (!json && e.type === 'submitted') log(`feeder: submitted job ${e.id} (${e.m}×${e.k} · ${e.k}×${e.n})`);
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
      log(`hub listening at ${net.hubUrl} (chain id ${net.chainId}, no token contract yet)`);
      log(`data in ${net.dataDir}`);
      log(`customer key: ${net.customerKey}`);
      log('feeding demo matmul jobs; press Ctrl+C to stop');
    }
    const why = await untilStopped(io.signal);
    if (!json) log(`stopping (${why})`);
  } finally {
    await net.close();
  }
  return 0;
}

async function hubOnly(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { db: { type: 'string' }, port: { type: 'string' }, customer: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.db === undefined) throw new UsageError('--db FILE is required');
  const hub = await startHub({ dbPath: values.db, port: parsePort(values.port) });
  try {
    io.out(`hub listening at ${hub.url} (chain id ${hub.chainId}), data in ${values.db}`);
    if (values.customer !== undefined) io.out(`customer key for ${values.customer}: ${hub.createCustomer(values.customer)}`);
    const why = await untilStopped(io.signal);
    io.out(`stopping (${why})`);
  } finally {
    await hub.close();
  }
  return 0;
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'devnet':
        return await devnet(rest, io);
      case 'hub':
        return await hubOnly(rest, io);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.err(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.err(`unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    const usage = err instanceof UsageError || (err instanceof Error && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    if (usage) {
      io.err(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
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
