/**
 * `idleforge rigs`: the owner's rigs for those without a desktop (docs/PROTOCOL.md, "Rigs").
 *
 *   idleforge rigs [--json]                  every rig of this rig's fleet, online or not
 *   idleforge rigs pair                      a one-time code another rig joins with
 *   idleforge rigs join CODE                 join the fleet this rig pays to, with a code
 *   idleforge rigs join --signature 0x…      …or with the payout address's signature of:
 *   idleforge rigs join-message              the text to sign
 *   idleforge rigs pause|resume RIG          another rig, by name or address
 *   idleforge rigs snooze RIG --for 30m|1h|tomorrow
 *
 * It signs in as the worker of --data does (its wallet; a watch-only wallet's payout address is
 * registered first), beside a running worker or without one.
 */
import { parseArgs } from 'node:util';
import { fleetJoinMessage, formatUnits, type RigsView } from '../../protocol/index.js';
import { snoozeUntil } from '../api/handlers.js';
import { defaultDataDir } from '../app-info.js';
import { HubClient } from '../hub-client.js';
import { FleetLink, ownRigName } from '../rigs/link.js';
import { SettingsSchema, type Settings } from '../../protocol/settings.js';
import { WorkerStore } from '../store/index.js';
import { WalletGate } from '../wallet/gate.js';
import { headlessVault } from '../wallet/index.js';
import { UsageError, type Output } from './output.js';

export async function rigsCommand(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      hub: { type: 'string' },
      json: { type: 'boolean' },
      for: { type: 'string' },
      signature: { type: 'string' },
      'passphrase-file': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action = 'list', arg] = positionals;
  const known = ['list', 'pair', 'join', 'join-message', 'pause', 'resume', 'snooze'];
  if (!known.includes(action)) throw new UsageError(`unknown rigs action ${action}; use ${known.join(', ')}`);
  const dataDir = values.data ?? defaultDataDir();
  const vault = headlessVault(dataDir, values['passphrase-file']);
  const info = vault.info();
  if (!info) throw new UsageError(`there is no wallet in ${dataDir} yet: rigs are found by the address they pay to (idleforge wallet create, or watch ADDRESS)`);
  if (action === 'join-message') {
    // No hub needed: the text names the payout address and this rig.
    const message = fleetJoinMessage(info.payoutAddress, info.address);
    if (out.json) out.document({ message, payoutAddress: info.payoutAddress, rig: info.address });
    else out.info(`Sign this text with the key of ${info.payoutAddress} (EIP-191 personal_sign), then run \`idleforge rigs join --signature 0x…\`:\n\n${message}`);
    return 0;
  }

  const store = WorkerStore.open(dataDir);
  const envHub = process.env.IDLEFORGE_HUB;
  const stored = store.settings.get();
  const settings: Settings = SettingsSchema.parse({ ...stored, hubUrl: values.hub ?? (envHub ? envHub : stored.hubUrl) });
  const wallet = new WalletGate(vault);
  const client = new HubClient({ hubUrl: settings.hubUrl, wallet });
  try {
    await wallet.open();
    // As the worker does at each sign-in: a watch-only wallet's payouts go to its address.
    if (info.kind === 'watch') await client.registerPayoutAddress(info.payoutAddress);
    const link = new FleetLink({
      client,
      store,
      settings: () => settings,
      ready: () => true,
      setPause: () => undefined,
      ownName: () => ownRigName(settings),
      // This command is not the worker: this rig is online only if its worker's heartbeats say so.
      selfRunning: false,
      onAlert: () => undefined,
      onCommand: () => undefined,
      log: () => undefined,
    });
    switch (action) {
      case 'pair': {
        const code = await link.pairingCode();
        if (out.json) out.document(code);
        else out.info(`Pairing code: ${code.code}\nOn the other rig (paying to the same address): idleforge rigs join ${code.code}\nIt works once, until ${new Date(code.expiresAt).toLocaleTimeString()}.`);
        return 0;
      }
      case 'join': {
        if (!arg && !values.signature) throw new UsageError('give the pairing code (idleforge rigs join ABCD-EFGH-JKLM) or --signature 0x…');
        const payout = await client.joinFleet(values.signature ? { signature: values.signature } : { code: arg! });
        if (out.json) out.document({ payoutAddress: payout });
        else out.info(`This rig is now one of the rigs paying to ${payout}.`);
        return 0;
      }
      case 'pause':
      case 'resume':
      case 'snooze': {
        if (!arg) throw new UsageError(`which rig? idleforge rigs ${action} NAME (or its address)`);
        let until: Date | undefined;
        if (action === 'snooze') {
          const choice = values.for;
          if (choice !== '30m' && choice !== '1h' && choice !== 'tomorrow') throw new UsageError('--for takes 30m, 1h or tomorrow');
          until = snoozeUntil(choice, new Date());
        }
        await link.tick(true);
        const view = link.view();
        if (view.status !== 'ok') throw new Error(view.message ?? 'the fleet could not be read');
        const wanted = arg.toLowerCase();
        const matches = view.rigs.filter((r) => !r.you && (r.address.toLowerCase() === wanted || r.name.toLowerCase() === wanted));
        if (matches.length === 0) throw new UsageError(`no other rig of yours is called ${arg}; \`idleforge rigs\` lists them`);
        if (matches.length > 1) throw new UsageError(`${matches.length} rigs are called ${arg}; give its address`);
        const target = matches[0]!;
        const id = await link.command(target.address, action, until ? { until } : {});
        if (out.json) out.document({ id, target: target.address, action });
        else out.info(`Sent: ${action} ${target.name}. It applies within seconds while it is online (it asks every few seconds).`);
        return 0;
      }
      default: {
        await link.tick(true);
        const view = link.view();
        if (out.json) {
          out.document(view);
          return view.status === 'ok' ? 0 : 1;
        }
        printRigs(view, out, await client.health().then((h) => h.token).catch(() => ({ symbol: 'IDLE', decimals: 18 })));
        return view.status === 'ok' ? 0 : 1;
      }
    }
  } finally {
    client.close();
    store.close();
  }
}

function printRigs(view: RigsView, out: Output, token: { symbol: string; decimals: number }): void {
  if (view.status !== 'ok') {
    out.info(view.message ?? 'the rigs could not be read');
    return;
  }
  const money = (v: string | null): string => (v === null ? '–' : `${formatUnits(BigInt(v), token.decimals, 4)} ${token.symbol}`);
  out.info(`Rigs paying to ${view.payoutAddress ?? '?'}:`);
  for (const r of view.rigs) {
    const where = `${r.online ? 'online' : `OFFLINE${r.heartbeatAt ? ` since ${new Date(r.heartbeatAt).toLocaleString()}` : ''}`}${r.you ? ' (this rig)' : ''}`;
    const temp = r.temperatureC === null ? '' : ` · ${Math.round(r.temperatureC)} °C`;
    out.info(`  ${r.name.padEnd(20)} ${where.padEnd(12)} ${r.online ? (r.state ?? '–') : 'not earning'}${r.online && r.reason ? `: ${r.reason}` : ''}${temp}`);
    out.info(`  ${''.padEnd(20)} today ${money(r.earnedToday)} (${r.tasksToday ?? '–'} tasks) · this week ${money(r.earnedWeek)} · ${r.address}`);
  }
  if (view.rigs.length <= 1) out.info('Alerts need another rig online: with one rig (or when all of them lose power) nobody is told. Add one with `idleforge rigs pair` on this rig.');
  else out.info(`A rig silent for ${view.offlineAfterS} s is shown offline, and your other rigs say so. Alerts need another rig online.`);
}
