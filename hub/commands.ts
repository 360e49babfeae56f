/**
 * The hub's commands, as `idleforge` lists and runs them (lib/cli.ts). This module stays light:
 * a command loads hub/cli.ts, and the hub with it, only when it runs.
 */
import type { Command } from '../lib/cli.js';

/** Environment the hub command reads (flags take precedence). */
export const HUB_ENV = {
  rpc: 'IDLEFORGE_HUB_RPC',
  token: 'IDLEFORGE_HUB_TOKEN',
  treasuryKey: 'IDLEFORGE_HUB_TREASURY_KEY',
  payoutThreshold: 'IDLEFORGE_HUB_PAYOUT_THRESHOLD',
  /** --db: the database's postgres:// URL (kept out of the command line, where its password would show). */
  db: 'IDLEFORGE_HUB_DB',
  /** --public-url: the URL workers use, a reverse proxy's (deploy/idleforge-hub@.service sets it). */
  publicUrl: 'IDLEFORGE_HUB_PUBLIC_URL',
  /** The bearer token of /metrics on the hub's port (--metrics-token). */
  metricsToken: 'IDLEFORGE_METRICS_TOKEN',
  /** Tests only: where a payout SIGKILLs the hub (after-record, before-send, after-send). */
  crashAt: 'IDLEFORGE_HUB_CRASH_AT',
} as const;

/** Environment `idleforge feeder` reads. */
export const FEEDER_ENV = {
  /** The feeder's customer API key (or --customer-key-file). */
  customerKey: 'IDLEFORGE_FEEDER_CUSTOMER_KEY',
} as const;

// Loaded when a command runs: the hub's code (fastify, ethers, the store) waits until then.
const cli = () => import('./cli.js');

export const HUB_COMMANDS: readonly Command[] = [
  {
    name: 'devnet',
    usage: '[--json] [--port N] [--data DIR] [--no-chain] [--payout-threshold BASE_UNITS]',
    summary: [
      'the local network alone: a local chain (anvil) with the',
      'token, a hub on 127.0.0.1 paying from a funded treasury, a',
      'feeder of demo jobs; prints the hub URL and a customer API key',
    ].join('\n'),
    run: async (argv, { io }) => (await cli()).devnet(argv, io),
  },
  {
    name: 'hub',
    usage: [
      '--db URL|FOLDER [--host ADDR] [--port N] [--public-url URL]',
      '[--customer NAME [--customer-credit BASE_UNITS]]',
      '[--chain-id N] [--trust-proxy ADDR ...]',
      '[--rpc URL --token ADDRESS [--treasury-key-file FILE]',
      ' [--payout-threshold BASE_UNITS] [--confirmations N]]',
      '[--metrics-port N | --metrics-token TOKEN] [--log-level LEVEL]',
      '[--lease-seconds N] [--replica-timeout SECONDS] [--db-connections N]',
    ].join('\n'),
    summary: [
      'the hub alone, on the PostgreSQL database at --db postgres://…',
      `(or $${HUB_ENV.db}; any number of hubs may share one) or on a`,
      'PostgreSQL of its own that it starts in FOLDER/postgres (a',
      'FOLDER/hub.db from before is carried over; a FILE.db names its',
      'folder); with --rpc and --token it pays workers from the',
      `treasury whose private key is in $${HUB_ENV.treasuryKey}`,
      `or --treasury-key-file (also read: $${HUB_ENV.rpc},`,
      `$${HUB_ENV.token}, $${HUB_ENV.payoutThreshold},`,
      `$${HUB_ENV.publicUrl}). Behind a reverse proxy,`,
      '--trust-proxy names it (an address or CIDR, repeatable), so',
      'that workers are told apart by their own networks, and',
      '--public-url is the URL workers use (the sign-in domain and',
      'URI; default http://HOST:PORT); --host is the address it',
      'listens on (default 127.0.0.1). Logs are JSON lines on stdout,',
      'one per request with its id (--log-level info; warn, error,',
      'silent: fewer). Prometheus metrics are served only when asked',
      'for: on a port of their own (--metrics-port, same host as the',
      'hub) or at /metrics behind Authorization: Bearer TOKEN',
      `(--metrics-token or $${HUB_ENV.metricsToken}). A hashsearch`,
      'result waits --replica-timeout seconds (default 300) for a',
      'second worker before the hub checks it itself; a lease lasts',
      '--lease-seconds (default 120). It keeps --db-connections to the',
      'database (default twice the cores, 4 to 16)',
    ].join('\n'),
    run: async (argv, { io, env }) => (await cli()).hubOnly(argv, io, env),
  },
  {
    name: 'hub credit',
    usage: '--db URL|FOLDER --customer ID --amount BASE_UNITS [--reason TEXT] [--id ID]',
    summary: "credits a customer's balance (customers pay for their jobs\nfrom it); with --id at most once",
    run: async (argv, { io, env }) => (await cli()).hubCredit(argv, io, env),
  },
  {
    name: 'feeder',
    usage: '--hub URL [--customer-key-file FILE] [--interval-ms N] [--backlog KIND=N ...] [--json]',
    summary: [
      "the devnet's demo job feeder as a process of its own: a",
      'customer of the hub at URL that keeps a backlog of small',
      `jobs of each kind; its API key is in $${FEEDER_ENV.customerKey}`,
      'or --customer-key-file',
    ].join('\n'),
    run: async (argv, { io, env }) => (await import('./feeder-cli.js')).feeder(argv, io, env),
  },
];
