/**
 * The worker's commands: `worker`, `gpus`, `earnings`. Each returns an exit code.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatUnits, fromAmount } from '../../protocol/index.js';
import { APP_VERSION, defaultDataDir } from '../app-info.js';
import { createDawnHost, NoWebGpuError } from '../compute/dawn.js';
import type { ComputeHost } from '../compute/host.js';
import { openNodeGpu } from '../compute/webgpu-node.js';
import { WorkerEngine } from '../engine.js';
import { detectGpus } from '../gpu/detect.js';
import { HubClient } from '../hub-client.js';
import { loadOrCreateIdentity } from '../identity.js';
import { WorkerStore } from '../store/index.js';
import { createOutput, UsageError, type Output } from './output.js';

export const WORKER_USAGE = `Usage:
  worker --hub URL [--data DIR] [--once N] [--json]
                                            lease tasks from the hub, run them on the GPU, get credited;
                                            until Ctrl-C, or until N tasks are credited with --once N
  gpus [--json]                             the GPUs of this machine (an empty list when it has none)
  earnings [--data DIR] [--json]            the local ledger: every task the hub credited to this worker

  --data DIR   where the worker keeps its key and database (default: ${defaultDataDir()})
  --hub URL    the hub to work for (or set IDLEFORGE_HUB)`;

export async function main(command: string, argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const out = createOutput(json);
  try {
    switch (command) {
      case 'worker':
        return await workerCommand(argv, out);
      case 'gpus':
        return await gpusCommand(argv, out);
      case 'earnings':
        return earningsCommand(argv, out);
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      out.error(error instanceof Error ? error.message : String(error));
      process.stderr.write(`${WORKER_USAGE.replace(/^ {2}(?=\w)/gm, '  idleforge ')}\n`);
      return 2;
    }
    out.error(error instanceof Error ? error.message : String(error));
    out.event({ event: 'error', message: error instanceof Error ? error.message : String(error) });
    return 1;
  }
}

function isParseArgsError(error: unknown): boolean {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS');
}

async function workerCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      data: { type: 'string' },
      once: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const hub = values.hub ?? process.env.IDLEFORGE_HUB;
  if (!hub) throw new UsageError('which hub? give --hub URL (for a local network, run `idleforge devnet` first)');
  if (!/^https?:\/\/[^\s]+$/.test(hub)) throw new UsageError(`--hub must be an http(s) URL, not ${hub}`);
  let once: number | undefined;
  if (values.once !== undefined) {
    once = Number(values.once);
    if (!Number.isInteger(once) || once < 1) throw new UsageError('--once takes a whole number of tasks, 1 or more');
  }
  const dataDir = values.data ?? defaultDataDir();

  let host: ComputeHost;
  try {
    host = await createDawnHost({ icdDir: join(dataDir, 'vulkan') });
  } catch (error) {
    if (!(error instanceof NoWebGpuError)) throw error;
    out.error(error.message);
    return 1;
  }
  const gpu = { info: host.adapter };
  const store = WorkerStore.open(dataDir);
  const wallet = loadOrCreateIdentity(dataDir);
  const client = new HubClient({ hubUrl: hub, wallet });
  const gpus = await detectGpus({ webgpu: gpu.info });
  out.info(`Idleforge worker ${APP_VERSION}: ${wallet.address}, computing on ${gpu.info.description || gpu.info.device || gpu.info.vendor}${gpu.info.software ? ' (software, CPU speed)' : ''}`);
  out.info(`data: ${dataDir}`);

  const engine = new WorkerEngine({
    client,
    host,
    store,
    gpus,
    appVersion: APP_VERSION,
    onEvent: (e) => out.event(e),
    log: (line) => out.info(line),
  });
  const stop = new AbortController();
  const onSignal = (name: string) => () => {
    if (stop.signal.aborted) {
      out.error(`${name} again: quitting now`);
      process.exit(130);
    }
    out.info(`${name}: finishing up (press Ctrl-C again to quit at once)`);
    stop.abort();
  };
  const onInt = onSignal('SIGINT');
  const onTerm = onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const { credited } = await engine.run({ once, signal: stop.signal });
    out.info(`stopped after ${credited} credited task${credited === 1 ? '' : 's'}`);
    return 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    await host.close();
    store.close();
  }
}

async function gpusCommand(argv: string[], out: Output): Promise<number> {
  parseArgs({ args: argv, options: { json: { type: 'boolean' } }, strict: true });
  const gpu = await openNodeGpu().catch(() => null);
  const gpus = await detectGpus({ webgpu: gpu?.info ?? null });
  if (out.json) {
    out.document(gpus);
    return 0;
  }
  if (gpus.length === 0) out.info('No GPU found on this machine.');
  for (const g of gpus) {
    const memory = g.vramMiB === null ? 'memory unknown' : `${(g.vramMiB / 1024).toFixed(1)} GiB`;
    out.info(`${g.vendor} ${g.model} — ${memory}${g.driver ? `, driver ${g.driver}` : ''}${g.software ? ' (software renderer)' : ''}`);
  }
  return 0;
}

function earningsCommand(argv: string[], out: Output): number {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const store = WorkerStore.open(values.data ?? defaultDataDir());
  try {
    const entries = store.ledger.list();
    const hubs = new Set(entries.map((e) => e.hub));
    const { symbol, decimals } = hubs.size === 1 ? store.hubs.token([...hubs][0]!) : store.hubs.token('');
    const totals = { pending: 0n, verified: 0n, paid: 0n };
    for (const e of entries) if (e.status !== 'rejected') totals[e.status] += fromAmount(e.amount);
    if (out.json) {
      out.document({
        entries,
        totals: { pending: totals.pending.toString(), verified: totals.verified.toString(), paid: totals.paid.toString() },
      });
      return 0;
    }
    if (entries.length === 0) {
      out.info('No earnings yet. Start the worker (idleforge worker --hub URL) and they appear here as tasks are credited.');
      return 0;
    }
    for (const e of entries) {
      out.info(`${e.createdAt}  ${e.kind.padEnd(10)} ${e.status.padEnd(9)} ${formatUnits(fromAmount(e.amount), decimals, 8).padStart(14)} ${symbol}  ${e.taskId}`);
    }
    const show = (v: bigint): string => `${formatUnits(v, decimals, 8)} ${symbol}`;
    out.info(`${entries.length} entries · verified ${show(totals.verified)} · pending ${show(totals.pending)} · paid ${show(totals.paid)}`);
    return 0;
  } finally {
    store.close();
  }
}
