/**
 * Version 14: the lease's asynchronous commit, asked for by its caller.
 *
 * Migration 12 meant a lease that is a transaction of its own to commit without waiting for its
 * log flush, and told that case by `transaction_timestamp() = statement_timestamp()`. That holds
 * for a simple query, but the hub sends its statements with the extended protocol (named prepared
 * statements), where the transaction starts at Bind and Execute sets the statement's time again:
 * the two never matched, and every lease still waited for its flush (sampled in `bench hub`: the
 * lease waited on WALWrite and WalSync 4.7 times as often as it ran). Now the caller says so:
 * `p_async` (the hub passes true only for a lease sent on its own through the pool, never inside a
 * transaction: store/db.ts `Sql.inTransaction`), and `hub_lease` then sets `synchronous_commit`
 * off for its own transaction. Why that is safe is in migration 12's header: a lease moves no
 * money, and every credit's flush carries every lease before it.
 */
import { HUB_LEASE_13 } from './0013-render-sizing.js';
import { restate, type TextChange } from './restate.js';
import type { PgMigration } from './index.js';

const CHANGES: readonly TextChange[] = [
  { from: 'p_slack DOUBLE PRECISION', to: 'p_slack DOUBLE PRECISION, p_async BOOLEAN', times: 1 },
  { from: 'IF transaction_timestamp() = statement_timestamp() THEN', to: 'IF p_async THEN', times: 1 },
];

export const migration0014: PgMigration = {
  version: 14,
  name: 'lease-commit',
  sql: `
  DROP FUNCTION hub_lease(TEXT, TEXT[], TEXT[], TEXT, TEXT, BIGINT, BIGINT, BIGINT, NUMERIC, BIGINT, TEXT[], TEXT, DOUBLE PRECISION, BIGINT[], BIGINT[], BIGINT[], DOUBLE PRECISION);
  ${restate(HUB_LEASE_13, CHANGES, "migration 14, in migration 13's hub_lease")};`,
};
