/**
 * node-postgres the way the hub opens PostgreSQL: values come back as the store's row types
 * have them (as the SQLite store gave them before). BIGINT (int8: the hub's integers, ids,
 * count(*)) becomes a JavaScript number (an error past 2⁵³, never a silent rounding); NUMERIC (the
 * `uint256` amounts, sum() of them) stays the decimal string pg gives; BYTEA a Buffer.
 * The parsers are per connection (`types`), never pg's global ones.
 */
import pg from 'pg';

const INT8_OID = 20;

function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`a BIGINT from PostgreSQL (${text}) is past what a JavaScript number holds exactly`);
  return n;
}

/** The type parsers of every hub connection. */
export const HUB_PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** A client config for `url` with the hub's type parsers. */
export function hubClientConfig(url: string, extra: pg.ClientConfig = {}): pg.ClientConfig {
  return { connectionString: url, types: HUB_PG_TYPES, ...extra };
}

export function hubPool(url: string, extra: pg.PoolConfig = {}): pg.Pool {
  return new pg.Pool({ connectionString: url, types: HUB_PG_TYPES, ...extra });
}

export async function hubClient(url: string): Promise<pg.Client> {
  const c = new pg.Client(hubClientConfig(url));
  await c.connect();
  return c;
}
