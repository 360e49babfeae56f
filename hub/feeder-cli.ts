/**
 * `idleforge feeder --hub URL [--customer-key-file FILE] [--interval-ms N] [--backlog KIND=N ...] [--json]`:
 * the demo job feeder (feeder.ts) as a process of its own, a customer of any hub (the devnet runs
 * the same feeder inside its process). Its API key comes from `$IDLEFORGE_FEEDER_CUSTOMER_KEY` or
 * a file only its owner may read, never the command line, where other users could read it.
 *
 * Runs until SIGINT or SIGTERM, then stops once a request in flight has finished (exit code 0).
 * With --json, one line per event on stdout (`submitted`, `finished`, `error`); otherwise words.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, type CliIo } from '../lib/cli.js';
import { privateFileProblem } from '../lib/private-file.js';
import { JOB_KINDS, type JobKind } from '../protocol/index.js';
import { untilStopped } from './cli.js';
import { FEEDER_ENV } from './commands.js';
import { describeSubmitted, startFeeder, type FeederEvent } from './feeder.js';

function customerKey(file: string | undefined, env: NodeJS.ProcessEnv): string {
  let key: string;
  if (file !== undefined) {
    const problem = privateFileProblem(file);
    if (problem) throw new Error(`the customer key file ${problem}`);
    key = readFileSync(file, 'utf8').trim();
  } else {
    key = (env[FEEDER_ENV.customerKey] ?? '').trim();
  }
  if (key === '') throw new UsageError(`the feeder needs a customer API key in $${FEEDER_ENV.customerKey} or --customer-key-file`);
  return key;
}

function backlogs(entries: readonly string[]): Partial<Record<JobKind, number>> {
  const out: Partial<Record<JobKind, number>> = {};
  for (const entry of entries) {
    const m = /^([a-z0-9_-]+)=([0-9]{1,6})$/.exec(entry);
    const kind = m?.[1] as JobKind | undefined;
    if (!m || kind === undefined || !(JOB_KINDS as readonly string[]).includes(kind)) {
      throw new UsageError(`--backlog takes KIND=N with KIND one of ${JOB_KINDS.join(', ')}, not ${entry}`);
    }
    out[kind] = Number(m[2]);
  }
  return out;
}

function eventLine(e: FeederEvent, json: boolean): string {
  if (json) {
    const { type, ...rest } = e;
    return JSON.stringify({ event: type, ...rest });
  }
  if (e.type === 'submitted') return `submitted job ${e.id} (${describeSubmitted(e)})`;
  if (e.type === 'finished') return `job ${e.id} ${e.status}`;
  return `error: ${e.message}`;
}

export async function feeder(args: string[], io: CliIo, env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      hub: { type: 'string' },
      'customer-key-file': { type: 'string' },
      'interval-ms': { type: 'string' },
      backlog: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.hub === undefined) throw new UsageError('--hub URL is required (the hub, or the proxy in front of it)');
  let hubUrl: URL;
  try {
    hubUrl = new URL(values.hub);
  } catch {
    throw new UsageError(`--hub must be a URL, not ${values.hub}`);
  }
  if (hubUrl.protocol !== 'http:' && hubUrl.protocol !== 'https:') throw new UsageError(`--hub must be http:// or https://, not ${values.hub}`);
  const interval = values['interval-ms'];
  if (interval !== undefined && !/^[1-9][0-9]{0,7}$/.test(interval)) throw new UsageError(`--interval-ms must be a positive whole number, not ${interval}`);
  const json = values.json === true;
  const f = startFeeder({
    hubUrl: hubUrl.href,
    customerKey: customerKey(values['customer-key-file'], env),
    backlogs: backlogs(values.backlog ?? []),
    ...(interval !== undefined ? { intervalMs: Number(interval) } : {}),
    onEvent: (e) => (json || e.type !== 'error' ? io.out : io.err)(eventLine(e, json)),
  });
  // The feeder's own timer does not hold the process open; this does, until a stop.
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    if (!json) io.out(`feeding demo jobs to ${hubUrl.href}; stop with Ctrl+C or SIGTERM`);
    const why = await untilStopped(io.signal);
    if (!json) io.out(`stopping (${why})`);
  } finally {
    clearInterval(keepAlive);
    await f.stop();
  }
  return 0;
}
