/**
 * `npm start` / `idleforge start`: brings up the local network (devnet) and, beside it, the
 * desktop app where it can open (an Electron binary and a display), or else the headless worker
 * with its dashboard in the browser, saying plainly why. Plain progress lines; Ctrl-C (or Quit in
 * the tray) stops everything cleanly.
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
import { bundleDesktopApp, chooseStartMode, DESKTOP_BUNDLE_DIR, desktopArgs, desktopEnv, findElectronBinary, prepareElectronNative, type StartMode } from './desktop.js';

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

/** The headless worker's "dashboard: URL" line, in the same words as the lines above it. */
export function dashboardLine(line: string): string | null {
  const m = /^dashboard: (\S+)$/.exec(line.trim());
  return m ? `Dashboard:    ${m[1]}  (open it in your browser)` : null;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, headless: { type: 'boolean' } }, strict: true });
  const dataDir = values.data ?? defaultDataDir();
  let mode: StartMode = chooseStartMode({ electron: findElectronBinary(), platform: process.platform, env: process.env, headless: values.headless });
  if (mode.mode === 'desktop') {
    console.log('Preparing the desktop app…');
    try {
      await bundleDesktopApp();
      await prepareElectronNative(DESKTOP_BUNDLE_DIR);
    } catch (error) {
      const reason = `The desktop app could not be prepared: ${error instanceof Error ? error.message : String(error)}`;
      mode = { mode: 'headless', reason, why: `${reason}; the worker runs headless instead, with its dashboard in your browser.` };
    }
  }
  const port = (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : 0;

  // Headless, the wallet is protected by a passphrase. The worker runs in a process group of its
  // own (so Ctrl-C stops things in order) and cannot read the terminal, so ask for it here. The
  // desktop app uses the OS key store, or asks in its own window.
  const env = { ...process.env };
  if (mode.mode === 'headless') {
    console.log(mode.why);
    if (!env.IDLEFORGE_PASSPHRASE && !env.IDLEFORGE_PASSPHRASE_FILE) {
      const hasWallet = existsSync(join(dataDir, WALLET_FILE)) || existsSync(join(dataDir, LEGACY_KEY_FILE));
      try {
        env.IDLEFORGE_PASSPHRASE = await headlessPassphrase().get(hasWallet ? 'unlock' : 'new');
      } catch (error) {
        console.error(`idleforge: ${error instanceof Error ? error.message : String(error)}`);
        return 1;
      }
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

  let worker: ChildProcess;
  let who: string;
  if (mode.mode === 'desktop') {
    console.log('Opening the desktop app; it lives in the tray (Quit is in its menu), or press Ctrl-C here.\n');
    who = 'desktop app';
    worker = spawn(mode.electron, desktopArgs({ hub: ready.hub, rpc: ready.rpc, dataDir }), { stdio: ['ignore', 'inherit', 'inherit'], env: desktopEnv(env), detached: true });
  } else {
    console.log('Starting the worker; press Ctrl-C to stop.\n');
    who = 'worker';
    worker = spawn(process.execPath, [BIN, 'worker', '--dashboard', '--hub', ready.hub, ...(ready.rpc ? ['--rpc', ready.rpc] : []), '--data', dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
      detached: true,
    });
    createInterface({ input: worker.stdout! }).on('line', (line) => console.log(dashboardLine(line) ?? line));
  }
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

  const first = await Promise.race([workerExit.then((c) => ({ who, code: c })), devnetExit.then((c) => ({ who: 'network', code: c }))]);
  // Quitting the desktop app from its tray is a normal way to stop.
  const userStopped = stopping || (mode.mode === 'desktop' && first.who === who && first.code === 0);
  if (!userStopped || !stopping) {
    if (!userStopped) console.error(`idleforge: the ${first.who} stopped unexpectedly (exit ${first.code}); stopping the rest.`);
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
