/**
 * IPC channel names and bridge globals shared by main and the preloads (kept apart from the
 * schemas so a preload's bundle holds nothing but names). The engine's own channels are in
 * protocol/engine-api.ts.
 */

/** The hidden compute renderer: a task in, an answer out. */
export const COMPUTE_CHANNELS = {
  /** main → renderer: `{ id, task }` */
  run: 'idleforge:compute:run',
  /** main → renderer: `{ id }` */
  benchmark: 'idleforge:compute:benchmark',
  /** main → renderer: no payload; the task in progress answers ABORTED */
  stop: 'idleforge:compute:stop',
  /** renderer → main: `{ ok: true, adapter }` or `{ ok: false, message }` */
  ready: 'idleforge:compute:ready',
  /** renderer → main: `{ id, answer }` */
  answer: 'idleforge:compute:answer',
  /** renderer → main: `{ id }`: the GPU is done with request `id`'s task, its answer follows once encoded */
  computed: 'idleforge:compute:computed',
} as const;
export const COMPUTE_BRIDGE_GLOBAL = 'idleforgeComputeHost';

/** The passphrase window. */
export const PASSPHRASE_CHANNELS = {
  /** → `{ ok, result: { purpose, problem, minLength } }` */
  request: 'idleforge:passphrase:request',
  /** `{ passphrase }` → `{ ok }` */
  submit: 'idleforge:passphrase:submit',
  cancel: 'idleforge:passphrase:cancel',
} as const;
export const PASSPHRASE_BRIDGE_GLOBAL = 'idleforgePassphrase';
