/**
 * `npm start` / `idleforge start`: brings up the local network (devnet) and a worker that earns
 * on it, as two child processes, and prints plain progress lines. Ctrl-C stops both cleanly.
 * (The desktop shell takes this over once it exists.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ReadyEventSchema } from '../protocol/index.js';
import { defaultDataDir } from '../worker/app-info.js';
import { headlessPassphrase, LEGACY_KEY_FILE, WALLET_FILE } from '../worker/wallet/index.js';

const BIN = fileURLToPath(new URL('../bin/idleforge.mjs', import.meta.url));
const PREFERRED_PORT = 8787;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' } }, strict: true });
  const dataDir = values.data ?? defaultDataDir();
  const port = (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : 0;

  // The worker's wallet is protected by a passphrase. The worker runs in a process group of its
  // own (so Ctrl-C stops things in order) and cannot read the terminal, so ask for it here.
  const env = { ...process.env };
  if (!env.IDLEFORGE_PASSPHRASE && !env.IDLEFORGE_PASSPHRASE_FILE) {
    const hasWallet = existsSync(join(dataDir, WALLET_FILE)) || existsSync(join(dataDir, LEGACY_KEY_FILE));
    try {
      env.IDLEFORGE_PASSPHRASE = await headlessPassphrase().get(hasWallet ? 'unlock' : 'new');
    } catch (error) {
      console.error(`idleforge: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  }

  console.log('Starting the local Idleforge network…');
  const devnet = spawn(process.execPath, [BIN, 'devnet', '--json', '--port', String(port), '--data', join(dataDir, 'devnet')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // Own process groups: Ctrl-C reaches only this process, which stops the children in order.
    detached: true,
  });
  process.once('exit', () => devnet.kill('SIGKILL'));
  const devnetExit = exited(devnet);
  const ready = await new Promise<ReturnType<typeof ReadyEventSchema.parse> | null>((resolve) => {
    const lines = createInterface({ input: devnet.stdout! });
    lines.on('line', (line) => {
      const parsed = ReadyEventSchema.safeParse(safeJson(line));
      if (parsed.success) resolve(parsed.data);
    });
    void devnetExit.then(() => resolve(null));
  });
  if (!ready) {
    console.error('idleforge: the local network did not start (see the messages above).');
    return 1;
  }
  console.log(`Hub:          ${ready.hub}`);
  console.log(`Customer key: ${ready.customerKey}  (submit your own jobs with it: see README)`);
  console.log(`Worker data:  ${dataDir}`);
  console.log('Starting the worker; press Ctrl-C to stop.\n');

  const worker = spawn(process.execPath, [BIN, 'worker', '--hub', ready.hub, ...(ready.rpc ? ['--rpc', ready.rpc] : []), '--data', dataDir], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
    detached: true,
  });
  process.once('exit', () => worker.kill('SIGKILL'));
  const workerExit = exited(worker);

  let stopping = false;
  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    worker.kill('SIGINT');
    void workerExit.then(() => devnet.kill('SIGINT'));
  };
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);

  const first = await Promise.race([workerExit.then((c) => ({ who: 'worker', code: c })), devnetExit.then((c) => ({ who: 'network', code: c }))]);
  const userStopped = stopping;
  if (!userStopped) {
    console.error(`idleforge: the ${first.who} stopped unexpectedly (exit ${first.code}); stopping the rest.`);
    stopAll();
  }
  const [w, d] = await Promise.all([workerExit, devnetExit]);
  if (userStopped) console.log('Stopped.');
  return userStopped ? Math.max(w, d) : first.code || 1;
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}
