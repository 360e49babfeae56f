/**
 * `idleforge <command>`: routes each command to the folder that owns it. The hub and the worker
 * never import each other; only this dispatcher knows both.
 */
import { APP_VERSION } from '../worker/app-info.js';
import { WORKER_USAGE } from '../worker/cli/main.js';

const USAGE = `Idleforge ${APP_VERSION}: rent out your idle GPU.

Usage: idleforge <command> [options]

Run a local network:
  start [--data DIR] [--headless]           the local network and the desktop app (or, without Electron or
                                            a display, the headless worker and its dashboard) (npm start)
  devnet [--json] [--port N] [--data DIR]   the local network alone: a hub on 127.0.0.1 and a feeder of
                                            demo jobs; prints the hub URL and a customer API key
  hub --db FILE [--port N] [--customer NAME]  just the hub

Work:
${WORKER_USAGE.replace(/^Usage:\n/, '')}

Measure:
  bench kernels [--json]                    GFLOP/s and MH/s of the kernels on this machine's WebGPU
  bench hub [--json]                        hub cycles/s on loopback; protocol overhead at the feeder's sizes
  bench pause [--json]                      how fast GPU work stops when a condition says stop
  bench handoff [--json] [--trials N]       how fast the GPU's memory is given back to a game or fullscreen app
  bench tray [--json]                       memory and CPU of the desktop app idle in the tray (needs Electron)
  bench ui [--json] [--loads N]             the dashboard's bundle size and its first render in headless Chromium

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
    case 'earnings':
    case 'settings':
    case 'pause':
    case 'resume':
    case 'wallet': {
      const worker = await import('../worker/cli/main.js');
      return worker.main(command, rest);
    }
    case 'bench':
      return bench(rest);
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

async function bench(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  switch (what) {
    case 'kernels':
      return (await import('../worker/bench/kernels.js')).main(rest);
    case 'pause':
      return (await import('../worker/bench/pause.js')).main(rest);
    case 'handoff':
      return (await import('../worker/bench/handoff.js')).main(rest);
    case 'hub':
      return (await import('./bench-hub.js')).main(rest);
    case 'tray':
      return (await import('./bench-tray.js')).main(rest);
    case 'ui':
      return (await import('../worker/bench/ui.js')).main(rest);
    default:
      process.stderr.write('idleforge: bench what? kernels, hub, pause, handoff, tray or ui (e.g. idleforge bench kernels --json)\n');
      return 2;
  }
}
