/**
 * `idleforge gpus`: the GPUs of this machine; `idleforge earnings`: the local ledger. Each
 * returns an exit code.
 */
import { parseArgs } from 'node:util';
import { checkWords, formatUnits, fromAmount, HISTORY_STATUS_WORDS, workWords } from '../../protocol/index.js';
import { defaultDataDir } from '../app-info.js';
import { openNodeGpu } from '../compute/webgpu-node.js';
import { detectGpus } from '../gpu/detect.js';
import { WorkerStore } from '../store/index.js';
import type { Output } from './output.js';

export async function gpusCommand(argv: string[], out: Output): Promise<number> {
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

export function earningsCommand(argv: string[], out: Output): number {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const store = WorkerStore.open(values.data ?? defaultDataDir());
  try {
    const entries = store.ledger.list();
    // Every task with its receipt, the ones the hub has no entry of included (newest first).
    const history = store.ledger.history();
    const hubs = new Set(entries.map((e) => e.hub));
    const { symbol, decimals } = hubs.size === 1 ? store.hubs.token([...hubs][0]!) : store.hubs.token('');
    const totals = { pending: 0n, verified: 0n, paid: 0n };
    for (const e of entries) if (e.status !== 'rejected') totals[e.status] += fromAmount(e.amount);
    if (out.json) {
      out.document({
        entries,
        history,
        totals: { pending: totals.pending.toString(), verified: totals.verified.toString(), paid: totals.paid.toString() },
      });
      return 0;
    }
    if (history.length === 0) {
      out.info('No earnings yet. Start the worker (idleforge worker --hub URL) and they appear here as tasks are credited.');
      return 0;
    }
    for (const e of [...history].reverse()) {
      const done = [workWords(e.work), e.gpuMs === null ? null : `${(e.gpuMs / 1000).toFixed(2)} s of GPU`].filter(Boolean).join(', ');
      out.info(`${e.createdAt}  ${e.kind.padEnd(10)} ${HISTORY_STATUS_WORDS[e.status].label.padEnd(10)} ${formatUnits(fromAmount(e.amount), decimals, 8).padStart(14)} ${symbol}  ${e.taskId}${done ? ` (${done})` : ''}`);
      out.info(`    ${checkWords(e.check, e.status)}${e.reason ? ` ${e.reason}` : ''}`);
    }
    const show = (v: bigint): string => `${formatUnits(v, decimals, 8)} ${symbol}`;
    out.info(`${entries.length} entries · verified ${show(totals.verified)} · pending ${show(totals.pending)} · paid ${show(totals.paid)}`);
    return 0;
  } finally {
    store.close();
  }
}
