/**
 * `idleforge wallet create|import|watch|show|balance|reveal --data DIR [--json]`.
 * `import` reads the recovery phrase or private key from standard input, never from the command
 * line (which other users can see in the process list).
 */
import { parseArgs } from 'node:util';
import { formatUnits } from '../../protocol/index.js';
import { defaultDataDir } from '../app-info.js';
import { WorkerStore } from '../store/index.js';
import { headlessVault, readBalances, RpcOfflineError, WalletError, PassphraseError } from '../wallet/index.js';
import { UsageError, type Output } from './output.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function walletCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      json: { type: 'boolean' },
      rpc: { type: 'string' },
      token: { type: 'string' },
      'passphrase-file': { type: 'string' },
      yes: { type: 'boolean' },
      words: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, arg] = positionals;
  const dataDir = values.data ?? defaultDataDir();
  const vault = headlessVault(dataDir, values['passphrase-file']);
  try {
    switch (action) {
      case 'create': {
        const info = await vault.create();
        if (out.json) out.document({ address: info.address });
        else {
          out.info(`Created wallet ${info.address}.`);
          out.info('Write down its recovery phrase and keep it offline: `idleforge wallet reveal --yes`.');
        }
        return 0;
      }
      case 'import': {
        if (process.stdin.isTTY) process.stderr.write('Paste the recovery phrase or private key, then press Ctrl-D:\n');
        const info = await vault.importSecret(await readStdin());
        if (out.json) out.document({ address: info.address });
        else out.info(`Imported wallet ${info.address}.`);
        return 0;
      }
      case 'watch': {
        if (!arg) throw new UsageError('give the payout address: idleforge wallet watch 0x…');
        const info = await vault.watch(arg);
        if (out.json) out.document({ address: info.address, payoutAddress: info.payoutAddress });
        else out.info(`Payouts go to ${info.payoutAddress}; this machine signs in as ${info.address}.`);
        return 0;
      }
      case 'show': {
        await vault.migrateLegacy();
        const info = vault.info();
        if (!info) {
          out.error('there is no wallet here yet: `idleforge wallet create`, or `idleforge wallet import` to bring one');
          return 1;
        }
        if (out.json) out.document({ address: info.address, payoutAddress: info.payoutAddress, kind: info.kind, backedUp: info.backedUp });
        else {
          out.info(`Address: ${info.address}${info.kind === 'watch' ? ` (this machine; payouts go to ${info.payoutAddress})` : ''}`);
          out.info(info.hasPhrase ? (info.backedUp ? 'Recovery phrase: backed up' : 'Recovery phrase: not confirmed as backed up yet') : 'No recovery phrase (imported key or watch-only)');
        }
        return 0;
      }
      case 'balance': {
        const info = vault.info();
        if (!info) {
          out.error('there is no wallet here yet: `idleforge wallet create`');
          return 1;
        }
        const store = WorkerStore.open(dataDir);
        const rpc = values.rpc ?? store.settings.get().rpcUrl;
        const token = values.token ?? store.hubs.tokenAddress();
        store.close();
        if (!rpc) throw new UsageError('which chain? give --rpc URL (idleforge devnet prints it), or set it: idleforge settings set rpcUrl=URL');
        const b = await readBalances(rpc, info.payoutAddress, token);
        if (out.json) out.document(b);
        else {
          out.info(`${b.address}: ${formatUnits(BigInt(b.native), 18, 6)} ETH`);
          out.info(b.token === null ? 'Token: unknown until the worker has met a hub with a token' : `${formatUnits(BigInt(b.token), b.decimals ?? 18, 6)} ${b.symbol ?? ''}`);
        }
        return 0;
      }
      case 'reveal': {
        if (!values.yes) throw new UsageError('revealing the recovery phrase shows it on this screen: confirm with --yes');
        const phrase = await vault.revealPhrase(true);
        process.stderr.write('Anyone with these words can take your earnings. Write them down offline; never share them.\n');
        if (out.json) out.document({ phrase });
        else process.stdout.write(`${phrase}\n`);
        return 0;
      }
      case 'backup': {
        // Checks the written-down phrase: --words "3=apple 7=river 11=zone", or asked one by one.
        let words: Record<number, string> = {};
        if (values.words) {
          for (const pair of values.words.trim().split(/\s+/)) {
            const m = /^([0-9]{1,2})=([a-z]+)$/i.exec(pair);
            if (!m) throw new UsageError('write --words as "POSITION=word …", like "3=apple 7=river 11=zone"');
            words[Number(m[1])] = m[2]!;
          }
        } else if (process.stdin.isTTY) {
          const { createInterface } = await import('node:readline/promises');
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          for (const position of vault.backupChallenge()) words[position] = await rl.question(`Word ${position} of your recovery phrase: `);
          rl.close();
        } else {
          throw new UsageError('give the words to check: --words "3=apple 7=river 11=zone"');
        }
        words = Object.fromEntries(Object.entries(words).map(([k, v]) => [Number(k), v]));
        const ok = await vault.confirmBackup(words);
        if (out.json) out.document({ ok });
        else out.info(ok ? 'Backup confirmed: those words are right.' : 'Those words do not match the recovery phrase; check what you wrote down.');
        return ok ? 0 : 1;
      }
      default:
        throw new UsageError('wallet what? create, import, watch ADDRESS, show, balance, reveal --yes or backup');
    }
  } catch (error) {
    if (error instanceof WalletError || error instanceof PassphraseError || error instanceof RpcOfflineError) {
      out.error(error.message);
      return 1;
    }
    throw error;
  }
}
