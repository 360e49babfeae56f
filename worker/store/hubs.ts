/** The chain and token of each hub the worker has worked for (from its /v1/health). */
import type { Health } from '../../protocol/index.js';
import type { Db } from '../../lib/sqlite.js';

export interface TokenInfo {
  symbol: string;
  decimals: number;
}

/** Shown until a hub has told its token. */
export const DEFAULT_TOKEN: TokenInfo = { symbol: 'IDLE', decimals: 18 };

export class HubStore {
  private readonly upsertStmt;
  private readonly tokenStmt;

  constructor(private readonly db: Db) {
    this.upsertStmt = db.prepare(`
      INSERT INTO hubs (url, chain_id, token_address, token_symbol, token_decimals, seen_at)
      VALUES (@url, @chainId, @address, @symbol, @decimals, @now)
      ON CONFLICT (url) DO UPDATE SET chain_id = excluded.chain_id, token_address = excluded.token_address,
        token_symbol = excluded.token_symbol, token_decimals = excluded.token_decimals, seen_at = excluded.seen_at`);
    this.tokenStmt = db.prepare<[string], TokenInfo>('SELECT token_symbol AS symbol, token_decimals AS decimals FROM hubs WHERE url = ?');
  }

  remember(url: string, health: Health): void {
    this.upsertStmt.run({ url, chainId: health.chainId, now: new Date().toISOString(), ...health.token });
  }

  /** The token contract of a hub (or of the hub seen last), where it has one. */
  tokenAddress(url?: string): string | null {
    const row =
      url === undefined
        ? this.db.prepare<[], { token_address: string | null }>('SELECT token_address FROM hubs ORDER BY seen_at DESC LIMIT 1').get()
        : this.db.prepare<[string], { token_address: string | null }>('SELECT token_address FROM hubs WHERE url = ?').get(url);
    return row?.token_address ?? null;
  }

  token(url: string): TokenInfo {
    return this.tokenStmt.get(url) ?? DEFAULT_TOKEN;
  }
}
