/** Who may submit a result for a task, and the 403/409 everyone else gets. */
import { conflict, forbidden } from './errors.js';
import { replicasStore, type Sql, type tasksStore } from './store/index.js';

/**
 * Throws the 403/409 a submission gets when `worker` does not hold a live lease on `task`. `db`:
 * the transaction that read `task`, when there is one.
 */
export async function assertLeaseHeld(db: Sql, task: tasksStore.TaskRow, worker: string, nowIso: string): Promise<void> {
  if (task.status === 'done') throw conflict('a result for this task was already accepted', 'ALREADY_DONE');
  if (task.status === 'leased' && task.lease_worker !== worker) throw forbidden('this task is leased to another worker', 'NOT_YOUR_LEASE');
  if (task.status !== 'leased' && (await replicasStore.hasReplica(db, task.id, worker))) {
    throw conflict('you already submitted a result for this task', 'ALREADY_SUBMITTED');
  }
  if (task.status === 'queued' || task.lease_expires_at === null || task.lease_expires_at <= nowIso) {
    throw conflict('your lease on this task has expired; the task went back to the queue', 'LEASE_EXPIRED');
  }
}
