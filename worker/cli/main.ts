/**
 * The worker's commands: `worker`, `gpus`, `earnings`. Each returns an exit code.
 */
import { parseArgs } from 'node:util';
import { formatUnits, fromAmount } from '../../protocol/index.js';
import { defaultDataDir } from '../app-info.js';
import { pauseCommand, settingsCommand } from './settings-command.js';
import { walletCommand } from './wallet-command.js';
import { workerCommand } from './worker-command.js';
import { openNodeGpu } from '../compute/webgpu-node.js';
import { detectGpus } from '../gpu/detect.js';
import { WorkerStore } from '../store/index.js';
import { createOutput, UsageError, type Output } from './output.js';

export const WORKER_USAGE = `Usage:
  worker [--hub URL] [--data DIR] [--once N] [--json] [--dashboard]
         [--idle-minutes N] [--intensity 25|50|75|100] [--temp-limit C] [--gpu NAME]...
                                            lease tasks from the hub, run them on the GPU, get credited,
                                            while the settings allow; until Ctrl-C, or N credited tasks
                                            (--once N). Flags override the stored settings for this run;
                                            --dashboard serves the status page and the engine API
  gpus [--json]                             the GPUs of this machine (an empty list when it has none)
  earnings [--data DIR] [--json]            the local ledger: every task the hub credited to this worker
  settings [set KEY=VALUE ...] [--data DIR] [--json]
                                            show or change the stored settings (validated)
  pause [--for 30m|1h|tomorrow] / resume    pause or snooze a running worker, and resume it
  wallet create|import|watch ADDR|show|balance|reveal --yes|backup [--data DIR] [--rpc URL] [--json]
                                            the worker's wallet: create one, import a phrase or key
                                            (from standard input), or a watch-only payout address

  --data DIR   where the worker keeps its key and database (default: ${defaultDataDir()})
  --hub URL    the hub to work for (default: the stored setting, http://127.0.0.1:8787 at first;
               or set IDLEFORGE_HUB)`;

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
      case 'settings':
        return settingsCommand(argv, out);
      case 'wallet':
        return await walletCommand(argv, out);
      case 'pause':
      case 'resume':
        return pauseCommand(command, argv, out);
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
