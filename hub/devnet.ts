/**
 * A local network for development: the hub on a free 127.0.0.1 port, a customer key and the
 * demo job feeder. No chain yet: `rpc` and `token` are null until payouts on chain exist.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFeeder, type Feeder, type FeederEvent } from './feeder.js';
import { startHub, type Hub } from './server.js';

export const DEVNET_DB_FILE = 'hub.db';

export interface DevnetOptions {
  /** Where the hub keeps hub.db; default a fresh temporary folder, removed on close. */
  dataDir?: string;
  /** Hub port; default 0 (a free one). */
  port?: number;
  /** Run the demo feeder (default true); an object tunes it. */
  feeder?: boolean | { backlog?: number; intervalMs?: number };
  onFeederEvent?: (event: FeederEvent) => void;
}

export interface Devnet {
  hubUrl: string;
  customerKey: string;
  chainId: number;
  rpc: null;
  token: null;
  dataDir: string;
  hub: Hub;
  close(): Promise<void>;
}

export async function startDevnet(opts: DevnetOptions = {}): Promise<Devnet> {
  const temporary = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'idleforge-devnet-')));
  let hub: Hub | null = null;
  let feeder: Feeder | null = null;
  try {
    await mkdir(dataDir, { recursive: true });
    hub = await startHub({ dbPath: join(dataDir, DEVNET_DB_FILE), port: opts.port ?? 0 });
    const customerKey = hub.createCustomer('devnet feeder');
    if (opts.feeder !== false) {
      const tune = typeof opts.feeder === 'object' ? opts.feeder : {};
      feeder = startFeeder({ hubUrl: hub.url, customerKey, ...tune, ...(opts.onFeederEvent ? { onEvent: opts.onFeederEvent } : {}) });
    }
    const started = hub;
    const runningFeeder = feeder;
    let closing: Promise<void> | null = null;
    return {
      hubUrl: started.url,
      customerKey,
      chainId: started.chainId,
      rpc: null,
      token: null,
      dataDir,
      hub: started,
      close() {
        closing ??= (async () => {
          try {
            await runningFeeder?.stop();
            await started.close();
          } finally {
            if (temporary) await rm(dataDir, { recursive: true, force: true });
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await feeder?.stop();
    await hub?.close();
    if (temporary) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
