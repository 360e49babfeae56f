/**
 * Version 6, PostgreSQL's own (the SQLite schema stops at version 5: a hub.db is carried over at
 * 5, then migrated on): the lease's queue as an index of the tasks it may take, in order.
 *
 * The lease asks for the oldest queued task of a kind (`ORDER BY seq LIMIT 1`, store/tasks.ts).
 * With most tasks queued (a backlog, or the bench's), the planner preferred walking the primary
 * key in `seq` order and filtering, which reads every task done before the queue's head: 15–22 ms
 * a lease with 16,000 done, and `idleforge bench hub` on a database with history fell from
 * 517–580 to 114–139 cycles/s. The lease now starts its walk at the queue's head, the lowest
 * `seq` of this index, which holds only the queued tasks a worker may take (by kind): read from
 * the index alone, whatever the share of tasks queued (0.46 ms for the same lease).
 * It is built without CONCURRENTLY (migrations run in a transaction): it blocks writes to tasks
 * while it builds, which reads the whole table.
 */
import type { PgMigration } from './index.js';

export const migration0006: PgMigration = {
  version: 6,
  name: 'queue-index',
  sql: `CREATE INDEX tasks_leasable ON tasks (kind, seq) WHERE status = 'queued' AND needs_replica = 0;`,
};
