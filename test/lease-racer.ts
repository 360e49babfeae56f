/**
 * One side of test/hub-lease-race.test.ts: a process that leases tasks from the database at
 * `argv[2]` through the hub's own lease (`claimTask`), with `argv[4]` workers at once
 * named from `argv[3]`, as fast as it can, from the moment a line comes on stdin until the queue
 * is empty; then prints `{ leased: [task ids], retries }` as one JSON line.
 */
import { createInterface } from 'node:readline';
import { DEFAULT_STANDING } from '../hub/standing.js';
import { openHubDb } from '../hub/store/db.js';
import { claimTask } from '../hub/worker-requests.js';

const [url, prefix, count] = process.argv.slice(2);
const db = await openHubDb(url!, { targetVersion: false, max: Number(count) });
// No cap: every worker may hold as many tasks as it wins.
const ctx = { standing: { ...DEFAULT_STANDING, leaseCap: 1e9, newKey: { ...DEFAULT_STANDING.newKey, checkedTasks: 0 } } };
const workers = Array.from({ length: Number(count) }, (_, i) => `0x${prefix}${i.toString(16).padStart(40 - prefix!.length, '0')}`);
const leased: string[] = [];
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
await Promise.all(
  workers.map(async (worker) => {
    for (;;) {
      const { task: t } = await claimTask(db, ctx, worker, ['matmul'], '2030-01-01T00:00:00.000Z', '2031-01-01T00:00:00.000Z');
      if (!t) return;
      leased.push(t.id);
    }
  }),
);
process.stdout.write(`${JSON.stringify({ leased, retries: db.retries })}\n`);
await db.close();
