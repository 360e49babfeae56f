/** Payouts to workers. Empty until payouts on chain are built; the table exists from version 1. */
import { stmt, type HubDb } from './db.js';

export interface PayoutRow {
  id: string;
  amount: string;
  status: 'pending' | 'sent' | 'confirmed' | 'failed';
  tx_hash: string | null;
  created_at: string;
}

export function listPayouts(db: HubDb, worker: string): PayoutRow[] {
  return stmt<[string], PayoutRow>(
    db,
    'SELECT id, amount, status, tx_hash, created_at FROM payouts WHERE worker = ? ORDER BY created_at, id',
  ).all(worker);
}
