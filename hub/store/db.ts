/**
 * The hub's store on PostgreSQL (node-postgres): a pool, transactions, and statements written in
 * the store's SQL with `?` (positional) or `@name` (named) parameters, turned into PostgreSQL's
 * `$n` once per SQL text.
 *
 * Every write goes through `tx(fn)`: one connection, `BEGIN ISOLATION LEVEL SERIALIZABLE`, `fn`,
 * `COMMIT`. Serializable transactions let the store's read-check-write code stay as it was under
 * SQLite's single writer: when two hub processes (or two requests of one) race on the same rows,
 * PostgreSQL aborts one with a serialization failure and `tx` runs it again, from its first read,
 * so a task is leased to one worker and a credit recorded once whatever runs beside it. `fn` may
 * therefore run more than once: it must not touch anything outside the database (no chain
 * transaction, no reply, no counter) before it returns. A `tx` inside a `tx` joins it as a
 * savepoint, rolled back alone when its function throws.
 *
 * Values come back as the hub's connections parse them (see postgres/db.ts): BIGINT as a number,
 * NUMERIC (amounts) as a decimal string, BYTEA as a Buffer.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type pg from 'pg';
import { hubPool } from '../postgres/db.js';
import { migratePg } from '../postgres/migrations/index.js';

/** Rows a statement changed, and the rows it returned (RETURNING). */
export interface RunResult<R = Record<string, unknown>> {
  changes: number;
  rows: R[];
}

/** A connection or a transaction: where statements run. */
export interface Sql {
  query<R>(sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<RunResult<R>>;
  /** Runs `fn` in a transaction (a savepoint when this is one already); see the file's comment. */
  tx<T>(fn: (q: Sql) => Promise<T>, options?: TxOptions): Promise<T>;
  /**
   * Runs `fn` once this transaction has committed (at once outside one): for what must happen
   * once and only if the writes stay (an operator's log line), never in a run that was retried.
   */
  afterCommit(fn: () => void): void;
  /** Whether statements here run inside a transaction (a TxSql), rather than each on its own (the pool). */
  readonly inTransaction: boolean;
}

export interface TxOptions {
  /**
   * Default 'serializable'. 'read committed' only for a transaction whose every read that a write
   * depends on is a row it locks (`FOR UPDATE`, `SKIP LOCKED`) or an increment (`x = x + 1`):
   * the lease, whose serializable form would abort whenever two leases meet at the queue's head.
   */
  isolation?: 'serializable' | 'read committed';
}

/**
 * READ COMMITTED for a transaction whose every read that a write depends on is a row it locks
 * first (`FOR UPDATE`, `SKIP LOCKED`) or an increment: the lease, and the judging of a result
 * (its task's row locked first, so one result per task at a time; customer balances read
 * `FOR UPDATE`). Serializable would abort and rerun them whenever results of one job meet at
 * its row (`tasks_done`).
 */
export const ROW_LOCKED_TX: TxOptions = { isolation: 'read committed' };

export interface Statement<P extends unknown[], R> {
  get(...params: P): Promise<R | undefined>;
  all(...params: P): Promise<R[]>;
  run(...params: P): Promise<RunResult<R>>;
}

interface Compiled {
  text: string;
  /** The prepared statement's name on every connection. */
  name: string;
  /** Positional SQL: how many `?`; named SQL: the names in `$n` order. */
  names: string[] | null;
  count: number;
}

const compiled = new Map<string, Compiled>();

/** Turns `?` and `@name` into `$n`, leaving quoted strings and identifiers alone. */
export function compileSql(sql: string): Compiled {
  const hit = compiled.get(sql);
  if (hit) return hit;
  let text = '';
  let count = 0;
  const names: string[] = [];
  let usesNames = false;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      const end = sql.indexOf(ch, i + 1);
      if (end < 0) throw new Error(`unterminated quote in SQL: ${sql}`);
      text += sql.slice(i, end + 1);
      i = end;
    } else if (ch === '?') {
      count++;
      text += `$${count}`;
    } else if (ch === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      usesNames = true;
      let j = i + 1;
      while (j < sql.length && /\w/.test(sql[j]!)) j++;
      const name = sql.slice(i + 1, j);
      let k = names.indexOf(name);
      if (k < 0) k = names.push(name) - 1;
      text += `$${k + 1}`;
      i = j - 1;
    } else {
      text += ch;
    }
  }
  if (usesNames && count > 0) throw new Error(`SQL mixes ? and @name parameters: ${sql}`);
  const c: Compiled = { text, name: `s${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, names: usesNames ? names : null, count: usesNames ? names.length : count };
  if (compiled.size < 10_000) compiled.set(sql, c);
  return c;
}

function bind(c: Compiled, sql: string, params: readonly unknown[] | Readonly<Record<string, unknown>> | undefined): unknown[] {
  let values: unknown[];
  if (c.names) {
    const obj = (params ?? {}) as Record<string, unknown>;
    if (Array.isArray(params)) throw new TypeError(`named SQL takes one object of parameters: ${sql}`);
    values = c.names.map((n) => {
      if (!(n in obj)) throw new TypeError(`no value for @${n} in: ${sql}`);
      return obj[n];
    });
  } else {
    values = Array.isArray(params) ? [...(params as unknown[])] : [];
    if (values.length !== c.count) throw new TypeError(`SQL takes ${c.count} parameters, given ${values.length}: ${sql}`);
  }
  // better-sqlite3 took bigint and boolean; PostgreSQL takes their text.
  return values.map((v) => (typeof v === 'bigint' ? v.toString() : typeof v === 'boolean' ? (v ? 1 : 0) : v));
}

/**
 * Statements this process ran and the time it waited for their answers (ms; statements running
 * at once each count): for `idleforge bench hub`'s account of where a cycle's time goes.
 */
export const dbTimes = { statements: 0, waitMs: 0 };

async function runOn<R>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<RunResult<R>> {
  const c = compileSql(sql);
  const t0 = performance.now();
  try {
    // Named: each connection parses and plans a statement once, then only binds and runs it.
    const r = await client.query<R & pg.QueryResultRow>({ name: c.name, text: c.text, values: bind(c, sql, params) });
    return { changes: r.rowCount ?? 0, rows: r.rows };
  } finally {
    dbTimes.statements++;
    dbTimes.waitMs += performance.now() - t0;
  }
}

/** BEGIN, COMMIT, ROLLBACK and savepoints, timed with the statements. */
async function control(client: pg.PoolClient, text: string): Promise<void> {
  const t0 = performance.now();
  try {
    await client.query(text);
  } finally {
    dbTimes.statements++;
    dbTimes.waitMs += performance.now() - t0;
  }
}

/** SQLSTATEs after which a transaction is run again: serialization failure, deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
/** Tries of one transaction before its serialization failure is the caller's. */
export const TX_ATTEMPTS = 50;

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** A short, random wait before a rerun, so that the racers do not meet again at once. */
function retryPause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
}

class TxSql implements Sql {
  readonly inTransaction = true;
  private savepoints = 0;
  readonly committed: (() => void)[] = [];
  constructor(private readonly client: pg.PoolClient) {}
  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }
  query<R>(sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<RunResult<R>> {
    return runOn<R>(this.client, sql, params);
  }
  async tx<T>(fn: (q: Sql) => Promise<T>, _options?: TxOptions): Promise<T> {
    const name = `sp${++this.savepoints}`;
    await control(this.client, `SAVEPOINT ${name}`);
    const callbacks = this.committed.length;
    try {
      const value = await fn(this);
      await control(this.client, `RELEASE SAVEPOINT ${name}`);
      return value;
    } catch (error) {
      // A serialization failure aborts the whole transaction: let the outer tx retry it.
      if (!RETRYABLE.has(sqlState(error) ?? '')) await control(this.client, `ROLLBACK TO SAVEPOINT ${name}`);
      this.committed.length = callbacks;
      throw error;
    }
  }
}

/**
 * Connections a hub process keeps by default: twice the machine's cores, 4 to 16. More
 * connections than the cores can serve only queue inside PostgreSQL: on 2 cores, 4 connections
 * gave 538–596 cycles/s in `idleforge bench hub` where 8 gave 464–602 (3 runs each, alternated).
 * Several processes on one database add up: keep their sum under its max_connections (100).
 */
export function defaultDbConnections(cpus = availableParallelism()): number {
  return Math.min(16, Math.max(4, 2 * cpus));
}

export interface OpenHubDbOptions {
  /** Connections in the pool; default `defaultDbConnections()`. */
  max?: number;
  /** Migrate only up to this version (tests of old versions); default: the newest. false: not at all. */
  targetVersion?: number | false;
}

/** The hub's database: a pool of connections to one PostgreSQL database. */
export class HubDb implements Sql {
  readonly inTransaction = false;
  /** Transactions and statements run again after a serialization failure or deadlock (for benchmarks and tests). */
  retries = 0;
  private closed = false;

  constructor(readonly pool: pg.Pool) {
    // An idle connection the server dropped must not take the process down: the pool replaces it.
    pool.on('error', () => {});
  }

  get open(): boolean {
    return !this.closed;
  }

  /**
   * One statement on its own (its own transaction): rolled back whole when it fails, so a
   * deadlock or serialization failure runs it again, as `tx` does.
   */
  async query<R>(sql: string, params?: readonly unknown[] | Readonly<Record<string, unknown>>): Promise<RunResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await runOn<R>(this.pool, sql, params);
      } catch (error) {
        if (!RETRYABLE.has(sqlState(error) ?? '') || attempt >= TX_ATTEMPTS) throw error;
        this.retries++;
        await retryPause(attempt);
      }
    }
  }

  afterCommit(fn: () => void): void {
    fn();
  }

  async tx<T>(fn: (q: Sql) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const begin = options.isolation === 'read committed' ? 'BEGIN ISOLATION LEVEL READ COMMITTED' : 'BEGIN ISOLATION LEVEL SERIALIZABLE';
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      // Whether the connection is out of any transaction again, fit for the pool; else it is closed.
      let clean = false;
      let failure: unknown;
      try {
        await control(client, begin);
        const q = new TxSql(client);
        try {
          const value = await fn(q);
          await control(client, 'COMMIT');
          clean = true;
          for (const after of q.committed) after();
          return value;
        } catch (error) {
          failure = error;
          await control(client, 'ROLLBACK').then(
            () => (clean = true),
            () => undefined,
          );
        }
      } finally {
        client.release(!clean);
      }
      if (!RETRYABLE.has(sqlState(failure) ?? '') || attempt >= TX_ATTEMPTS) throw failure;
      this.retries++;
      await retryPause(attempt);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** Opens (and migrates, under the migration lock) the database at `url`. */
export async function openHubDb(url: string, options: OpenHubDbOptions = {}): Promise<HubDb> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`the hub's database is a postgres:// URL, not ${JSON.stringify(url)}`);
  const pool = hubPool(url, { max: options.max ?? defaultDbConnections(), connectionTimeoutMillis: 5000, keepAlive: true });
  const db = new HubDb(pool);
  try {
    if (options.targetVersion !== false) await migratePg(pool, options.targetVersion === undefined ? {} : { target: options.targetVersion });
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}

/**
 * A statement of the store: its SQL beside `R`, the row shape the SQL selects (the one place rows
 * are given a type, so keep the SQL and `R` side by side). `P` is the parameters: values for `?`,
 * or one object for `@name`.
 */
export function stmt<P extends unknown[] = unknown[], R = unknown>(q: Sql, sql: string): Statement<P, R> {
  const params = (p: P): readonly unknown[] | Readonly<Record<string, unknown>> =>
    p.length === 1 && p[0] !== null && typeof p[0] === 'object' && !Array.isArray(p[0]) && !Buffer.isBuffer(p[0]) && !(p[0] instanceof Uint8Array)
      ? (p[0] as Record<string, unknown>)
      : p;
  return {
    async get(...p: P) {
      return (await q.query<R>(sql, params(p))).rows[0];
    },
    async all(...p: P) {
      return (await q.query<R>(sql, params(p))).rows;
    },
    run(...p: P) {
      return q.query<R>(sql, params(p));
    },
  };
}
