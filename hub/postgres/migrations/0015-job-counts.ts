/**
 * Version 15: a job's count of tasks done kept in a few rows of its own (`job_counts`), not only
 * in its `jobs` row.
 *
 * Every credit of a job added one to `jobs.tasks_done`, and a credit commits with a flush of the
 * log (it moves money), so the job's row stayed locked through that flush: the credits of one
 * job, whichever hub process or connection took them, went one at a time (measured in `bench
 * hub`: with that update left out, 581–626 cycles/s against 377–418 beside it). Now a credit adds
 * one to its shard: the row (job, its connection's backend pid modulo the shard count,
 * store/jobs.ts JOB_COUNT_SHARDS), so credits on different connections never wait on one row. A
 * job's count is `tasks_done` (what it had counted before this version) plus its shards' sum
 * (store/jobs.ts `jobDoneCount`); a credit that may have been the last (the count it saw, with
 * its own, within JOB_CLOSE_MARGIN of the total) marks the job done in a statement of its own,
 * after its commit, where it sees every credit committed before it; the leader's round closes
 * any job the last credits all missed (store/jobs.ts `closeDoneJobs`). A task taken back counts
 * minus one in a shard. No foreign key: checking one would lock the job's row again (FOR KEY
 * SHARE), and the rows go with nothing (jobs are kept).
 */
import type { PgMigration } from './index.js';

export const migration0015: PgMigration = {
  version: 15,
  name: 'job-counts',
  sql: `
  CREATE TABLE job_counts (
    job_id TEXT NOT NULL,
    shard SMALLINT NOT NULL,
    done BIGINT NOT NULL,
    PRIMARY KEY (job_id, shard)
  );`,
};
