/**
 * The worker's commands, as `idleforge` lists and runs them (lib/cli.ts). This module stays light:
 * a command loads its code, and the engine with it, only when it runs. Each speaks through an
 * `Output` (output.ts): JSON lines with --json, sentences otherwise.
 */
import type { Command } from '../../lib/cli.js';
import { defaultDataDir } from '../app-info.js';
import { createOutput, type Output } from './output.js';

/** A worker command: its code loaded when it runs, its output chosen by --json. */
function worker(c: Omit<Command, 'run' | 'errorEvent'>, run: (argv: string[], out: Output) => Promise<number>): Command {
  return { ...c, errorEvent: true, run: (argv) => run(argv, createOutput(argv.includes('--json'))) };
}

export const WORKER_COMMANDS: readonly Command[] = [
  worker(
    {
      name: 'worker',
      usage: '[--hub URL] [--data DIR] [--once N] [--json] [--dashboard]\n[--idle-minutes N] [--intensity 25|50|75|100] [--temp-limit C] [--gpu NAME]...',
      summary: [
        'lease tasks from the hub, run them on the GPU, get credited,',
        'while the settings allow; until Ctrl-C, or N credited tasks',
        '(--once N). Flags override the stored settings for this run;',
        '--dashboard serves the status page and the engine API',
      ].join('\n'),
    },
    async (argv, out) => (await import('./worker-command.js')).workerCommand(argv, out),
  ),
  worker(
    { name: 'gpus', usage: '[--json]', summary: 'the GPUs of this machine (an empty list when it has none)' },
    async (argv, out) => (await import('./info-commands.js')).gpusCommand(argv, out),
  ),
  worker(
    { name: 'earnings', usage: '[--data DIR] [--json]', summary: 'the local ledger, and every task this worker ran with its receipt' },
    async (argv, out) => (await import('./info-commands.js')).earningsCommand(argv, out),
  ),
  worker(
    {
      name: 'earnings reconcile',
      usage: '[--hub URL] [--rpc URL] [--data DIR] [--json]',
      summary: [
        "the hub's payouts to this wallet's payout address (every rig",
        "paying there) against the token's transfers on chain: both",
        'totals and every difference; exit code 1 when they differ',
      ].join('\n'),
    },
    async (argv, out) => (await import('./reconcile-command.js')).reconcileCommand(argv, out),
  ),
  worker(
    { name: 'settings', usage: '[set KEY=VALUE ...] [--data DIR] [--json]', summary: 'show or change the stored settings (validated)' },
    async (argv, out) => (await import('./settings-command.js')).settingsCommand(argv, out),
  ),
  worker(
    { name: 'pause', usage: '[--for 30m|1h|tomorrow]', summary: 'pause or snooze a running worker' },
    async (argv, out) => (await import('./settings-command.js')).pauseCommand('pause', argv, out),
  ),
  worker(
    { name: 'resume', usage: '', summary: 'resume a paused or snoozed worker' },
    async (argv, out) => (await import('./settings-command.js')).pauseCommand('resume', argv, out),
  ),
  worker(
    {
      name: 'rigs',
      usage: '[pair|join CODE|join --signature SIG|join-message|pause RIG|resume RIG|snooze RIG --for 30m|1h|tomorrow]\n[--data DIR] [--hub URL] [--json]',
      summary: [
        "your rigs (PCs paying to this rig's payout address): online or",
        'offline, state, temperature, earnings; pair and join them;',
        'pause, resume or snooze another one',
      ].join('\n'),
    },
    async (argv, out) => (await import('./rigs-command.js')).rigsCommand(argv, out),
  ),
  worker(
    {
      name: 'wallet',
      usage: 'create|import|watch ADDR|show|balance|reveal --yes|backup [--data DIR] [--rpc URL] [--json]',
      summary: [
        "the worker's wallet: create one, import a phrase or key",
        '(from standard input), or a watch-only payout address',
      ].join('\n'),
    },
    async (argv, out) => (await import('./wallet-command.js')).walletCommand(argv, out),
  ),
];

/** The flags the worker's commands share. */
export const WORKER_NOTES = `  --data DIR   where the worker keeps its key and database (default: ${defaultDataDir()})
  --hub URL    the hub to work for (default: the stored setting, http://127.0.0.1:8787 at first;
               or set IDLEFORGE_HUB)`;
