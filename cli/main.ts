/**
 * `idleforge <command>`: routes each command to the folder that owns it. The hub and the worker
 * never import each other; only this dispatcher knows both.
 */
import { APP_VERSION } from '../worker/app-info.js';
import { WORKER_USAGE } from '../worker/cli/main.js';

const USAGE = `Idleforge ${APP_VERSION}: rent out your idle GPU.

Usage: idleforge <command> [options]

Run a local network:
  start [--data DIR]                        the local network and a worker that earns on it (npm start)
  devnet [--json] [--port N] [--data DIR]   the local network alone: a hub on 127.0.0.1 and a feeder of
                                            demo jobs; prints the hub URL and a customer API key
  hub --db FILE [--port N] [--customer NAME]  just the hub

Work:
${WORKER_USAGE.replace(/^Usage:\n/, '')}

Long-running commands take --json and then print one JSON object per line (see docs/PROTOCOL.md).`;

export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'devnet':
    case 'hub': {
      const hub = await import('../hub/cli.js');
      return hub.main([command, ...rest]);
    }
    case 'worker':
    case 'gpus':
    case 'earnings': {
      const worker = await import('../worker/cli/main.js');
      return worker.main(command, rest);
    }
    case 'start': {
      const start = await import('./start.js');
      return start.main(rest);
    }
    case '--version':
    case 'version':
      process.stdout.write(`${APP_VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`idleforge: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}
