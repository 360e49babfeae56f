/**
 * `idleforge <command>`: every part's commands gathered into one program (lib/cli.ts dispatches
 * them and writes the help). The hub and the worker never import each other; only this module
 * knows both.
 */
import { runProgram, type Command, type Program } from '../lib/cli.js';
import { BENCH_COMMANDS } from '../bench/commands.js';
import { HUB_COMMANDS } from '../hub/commands.js';
import { APP_VERSION } from '../worker/app-info.js';
import { WORKER_COMMANDS, WORKER_NOTES } from '../worker/cli/commands.js';

const START: Command = {
  name: 'start',
  usage: '[--data DIR] [--headless]',
  summary: [
    'the local network and the desktop app (or, without Electron or',
    'a display, the headless worker and its dashboard) (npm start)',
  ].join('\n'),
  run: async (argv) => (await import('./start.js')).main(argv),
};

export const PROGRAM: Program = {
  title: `Idleforge ${APP_VERSION}: rent out your idle GPU.`,
  version: APP_VERSION,
  sections: [
    { title: 'Run a local network', commands: [START, ...HUB_COMMANDS] },
    { title: 'Work', commands: WORKER_COMMANDS, notes: WORKER_NOTES },
    { title: 'Measure', commands: BENCH_COMMANDS },
  ],
  footer: 'Long-running commands take --json and then print one JSON object per line (see docs/PROTOCOL.md).',
  bare: 'help',
};

export function run(argv: string[]): Promise<number> {
  return runProgram(PROGRAM, argv);
}
