/**
 * `idleforge earnings reconcile`: the hub's payouts to this worker's payout address (every rig
 * paying there) checked against the token's Transfer events on chain (worker/chain/reconcile.ts).
 * Exit code 0 when they agree, 1 when a difference is listed or a side cannot be read.
 */
import { parseArgs } from 'node:util';
import { formatUnits, type Reconciliation } from '../../protocol/index.js';
import { defaultDataDir } from '../app-info.js';
import { reconcileWithChain } from '../chain/reconcile.js';
import { HubClient } from '../hub-client.js';
import { WorkerStore } from '../store/index.js';
import { headlessVault } from '../wallet/index.js';
import { UsageError, type Output } from './output.js';

export async function reconcileCommand(argv: string[], out: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      hub: { type: 'string' },
      rpc: { type: 'string' },
      data: { type: 'string' },
      json: { type: 'boolean' },
      'passphrase-file': { type: 'string' },
    },
    strict: true,
  });
  const dataDir = values.data ?? defaultDataDir();
  const store = WorkerStore.open(dataDir);
  let hubUrl: string;
  let rpc: string | null;
  let token: { symbol: string; decimals: number };
  try {
    const settings = store.settings.get();
    const envHub = process.env.IDLEFORGE_HUB;
    hubUrl = values.hub ?? (envHub ? envHub : settings.hubUrl);
    rpc = values.rpc ?? settings.rpcUrl;
    token = store.hubs.token(hubUrl.replace(/\/+$/, ''));
  } finally {
    store.close();
  }
  if (!rpc) throw new UsageError('which chain? give --rpc URL (idleforge devnet prints it), or set it: idleforge settings set rpcUrl=URL');
  const vault = headlessVault(dataDir, values['passphrase-file']);
  const info = vault.info();
  if (!info) throw new UsageError('there is no wallet here yet: the check reads the payouts to its address (idleforge wallet create, or --data DIR)');
  const signer = await vault.unlock();
  const client = new HubClient({ hubUrl, wallet: { address: info.address, signMessage: (m) => signer.signMessage(m) } });
  try {
    // A watch-only wallet's payouts go to its payout address: the hub is told, as at every sign-in.
    if (info.kind === 'watch') await client.registerPayoutAddress(info.payoutAddress);
    const result = await reconcileWithChain({ hub: client, rpc });
    if (out.json) out.document(result);
    else for (const line of describe(result, token)) out.info(line);
    return result.agrees ? 0 : 1;
  } finally {
    client.close();
  }
}

/** The check in sentences, amounts in tokens. */
export function describe(r: Reconciliation, token: { symbol: string; decimals: number }): string[] {
  const show = (v: string): string => `${formatUnits(BigInt(v), token.decimals, 8)} ${token.symbol}`;
  const lines: string[] = [];
  if (r.fromBlock === null) {
    lines.push(`No payout to ${r.address} has been sent yet: nothing to check on chain.`);
    return lines;
  }
  lines.push(`Payouts to ${r.address} (${r.payouts.mine} of this worker, ${r.payouts.others} of other workers paying there), blocks ${r.fromBlock}–${r.toBlock}:`);
  lines.push(`  hub's ledger: ${show(r.ledgerTotal)} · on chain from the treasury ${r.treasury}: ${show(r.chainTotal)} · ${r.matched} matched by transaction`);
  if (r.notSentYet > 0) lines.push(`  ${r.notSentYet} payout${r.notSentYet === 1 ? '' : 's'} not sent yet (counted on neither side)`);
  if (r.agrees) lines.push('  They agree.');
  for (const d of r.differences) lines.push(`  DIFFERENCE ${d.kind} ${d.txHash ?? ''}: ${d.explanation}`);
  if (r.otherSenders.length > 0) {
    lines.push(`Transfers from other senders (not payouts of this hub): ${show(r.otherTotal)}`);
    for (const t of r.otherSenders) lines.push(`  ${t.txHash} block ${t.blockNumber} from ${t.from}: ${show(t.amount)}`);
  }
  return lines;
}
