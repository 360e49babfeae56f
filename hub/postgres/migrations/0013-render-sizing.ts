/**
 * Version 13: render tasks sized to the card, as hashsearch's are (docs/DESIGN.md, "Tasks sized
 * to the card"; hub/sizing.ts). A render job is stored as one task per tile holding all its
 * samples, and the lease carves a run of samples from the head tile for its worker.
 *
 * - `tasks.weight`: work units per unit of the task's `count`. Rates (`worker_rates`) are in work
 *   units a second, a task's `count` in its own units: nonces for hashsearch (weight 1), samples
 *   of each pixel of its tile for render (weight: the tile's pixels × the scene's operations per
 *   sample). A carve's size is the worker's units over the task's weight.
 * - `tasks.part`: which part of its job a task is, kept when it is carved (render: its tile; null
 *   for the other kinds). A carved task's `row0` is a fresh index in its job, as in migration 11,
 *   so render reads its tile from `part` and its samples from `start` and `count`.
 * - Render tasks written before (one a tile and a pass: `row0` the tile-major index of both,
 *   `start`/`count` the pass's samples): `part` = their tile (`row0` over the job's passes) and
 *   `weight` = that tile's pixels × `flopsPerSample`, from the job's spec; they carve like the new.
 * - `hub_task_count(...)`: `hub_task_size`'s units over a task's weight, rounded down, at least 1.
 * - `hub_worker_rate(...)`: a worker's rate in a kind as the replica rule reads it: observed, else
 *   benchmarked, else `p_unknown` (hub/store/trust.ts `onlineCandidates` uses it too).
 * - `hub_lease(...)` again, dropped and created (its arguments and columns change, which CREATE OR
 *   REPLACE cannot do): migration 12's function (11's with 12's changes) restated with the changes
 *   below, made exactly as often as written (`CHANGES`), every step kept in the same order (the
 *   worker's row locked before its standing is read, the caps, the replica owed first, kinds in
 *   the order of their oldest task, FOR UPDATE SKIP LOCKED claims by id, the carve). What changed:
 *   1. sizes per carved kind: `p_new_size`, `p_min_size` and `p_max_size` are arrays beside
 *      `p_carved` (one set served the one carved kind); and `p_slack`, the replica rule's;
 *   2. the carve's size is in units of the head's `count`: `hub_task_count(…, head.weight)`,
 *      where it was `hub_task_size(…)` (the same for hashsearch, whose weight is 1);
 *   3. the carved task copies the head's `part` and `weight`;
 *   4. the head of a carved kind is the oldest leasable task that was never answered (no replica
 *      row, no rejection) or that this worker would do within `p_slack` targets at its rate
 *      (`hub_worker_rate`, the kind's new-key size a target when unknown): an answered task keeps
 *      its range, so it goes only to a worker of comparable speed, as replicas do
 *      (replica-assign.ts); a render run rejected after an H200's second is hours on a software
 *      GPU;
 *   5. it returns `part` and `weight` with the task.
 */
import { LEASABLE } from './0007-lease-function.js';
import { HUB_LEASE_12 } from './0012-write-costs.js';
import { restate, type TextChange } from './restate.js';
import type { PgMigration } from './index.js';

/** Migration 12's text of `hub_lease` and this version's (see the header's list). */
const CHANGES: readonly TextChange[] = [
  { from: 'CREATE OR REPLACE FUNCTION hub_lease(', to: 'CREATE FUNCTION hub_lease(', times: 1 },
  // 1. Sizes per carved kind, and the replica rule's slack.
  { from: 'p_new_size BIGINT, p_min_size BIGINT, p_max_size BIGINT', to: 'p_new_size BIGINT[], p_min_size BIGINT[], p_max_size BIGINT[],\n    p_slack DOUBLE PRECISION', times: 1 },
  // 5. The task's part and weight, in the columns, each claim's RETURNING and SELECT, and the carve's RETURNING.
  { from: 'quorum BIGINT, input BYTEA', to: 'quorum BIGINT,\n    part BIGINT, weight DOUBLE PRECISION, input BYTEA', times: 1 },
  { from: 'tasks.count, tasks.quorum', to: 'tasks.count, tasks.quorum, tasks.part, tasks.weight', times: 4 },
  { from: 'p.count, p.quorum, i.a', to: 'p.count, p.quorum, p.part, p.weight, i.a', times: 3 },
  { from: 'v_index BIGINT;', to: 'v_index BIGINT;\n    v_at INTEGER;\n    v_reach DOUBLE PRECISION;', times: 1 },
  // 1 and 4. The kind's sizes, and the head: never answered, or within this worker's reach.
  {
    from: 'IF v_kind = ANY (p_carved) THEN',
    to: `v_at := array_position(p_carved, v_kind);
      IF v_at IS NOT NULL THEN
        v_reach := p_slack * p_seconds * hub_worker_rate(p_worker, v_kind, p_new_size[v_at] / p_seconds);`,
    times: 1,
  },
  {
    from: `SELECT t.seq, t.id, t.job_id, t.start, t.count, t.reward INTO v_head FROM tasks t
          WHERE ${LEASABLE('v_kind')} ORDER BY t.seq LIMIT 1 FOR UPDATE SKIP LOCKED;`,
    to: `SELECT t.seq, t.id, t.job_id, t.start, t.count, t.reward, t.part, t.weight INTO v_head FROM tasks t
          WHERE ${LEASABLE('v_kind')}
            AND (t.count * t.weight <= v_reach
                 OR NOT (EXISTS (SELECT 1 FROM replicas r WHERE r.task_id = t.id) OR EXISTS (SELECT 1 FROM task_rejections x WHERE x.task_id = t.id)))
          ORDER BY t.seq LIMIT 1 FOR UPDATE SKIP LOCKED;`,
    times: 1,
  },
  // 2. The size in units of the head's count.
  {
    from: 'v_size := hub_task_size(p_worker, v_kind, p_seconds, p_new_size, p_min_size, p_max_size);',
    to: 'v_size := hub_task_count(p_worker, v_kind, p_seconds, p_new_size[v_at], p_min_size[v_at], p_max_size[v_at], v_head.weight);',
    times: 1,
  },
  // 3. The carved task keeps the head's part and weight.
  { from: 'start, count, leased_at)', to: 'start, count, leased_at, part, weight)', times: 1 },
  { from: 'v_head.start, v_size, p_now)', to: 'v_head.start, v_size, p_now, v_head.part, v_head.weight)', times: 1 },
];

/** A render job's spec, read as numbers, for the tasks written before this version. */
const RENDER_SPECS = `SELECT j.id, (j.spec::jsonb ->> 'width')::bigint AS width, (j.spec::jsonb ->> 'height')::bigint AS height,
           (j.spec::jsonb ->> 'tilesX')::bigint AS tx, (j.spec::jsonb ->> 'tilesY')::bigint AS ty,
           (j.spec::jsonb ->> 'flopsPerSample')::bigint AS fps,
           ceil((j.spec::jsonb ->> 'samples')::numeric / (j.spec::jsonb ->> 'samplesPerPass')::numeric)::bigint AS passes
    FROM jobs j WHERE j.kind = 'render' AND j.spec IS NOT NULL`;

/** This version's `CREATE FUNCTION hub_lease(...)`, which later versions restate with their changes (0014). */
export const HUB_LEASE_13 = restate(HUB_LEASE_12, CHANGES, "migration 13, in migration 12's hub_lease");

export const migration0013: PgMigration = {
  version: 13,
  name: 'render-sizing',
  sql: `
  ALTER TABLE tasks ADD COLUMN weight DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK (weight > 0);
  ALTER TABLE tasks ADD COLUMN part BIGINT CHECK (part IS NULL OR part >= 0);

  UPDATE tasks t SET part = t.row0 / s.passes FROM (${RENDER_SPECS}) s WHERE t.job_id = s.id AND t.kind = 'render';
  -- A tile's span on each axis as hub/kinds/render.ts cuts it: [⌊i·size/parts⌋, ⌊(i+1)·size/parts⌋).
  UPDATE tasks t SET weight = (((t.part % s.tx + 1) * s.width / s.tx - (t.part % s.tx) * s.width / s.tx)
                             * ((t.part / s.tx + 1) * s.height / s.ty - (t.part / s.tx) * s.height / s.ty) * s.fps)::float8
    FROM (${RENDER_SPECS}) s WHERE t.job_id = s.id AND t.kind = 'render';

  CREATE FUNCTION hub_task_count(p_worker TEXT, p_kind TEXT, p_seconds DOUBLE PRECISION, p_new_size BIGINT, p_min_size BIGINT, p_max_size BIGINT, p_weight DOUBLE PRECISION)
  RETURNS BIGINT LANGUAGE sql STABLE AS $fn$
    SELECT greatest(1, floor(hub_task_size(p_worker, p_kind, p_seconds, p_new_size, p_min_size, p_max_size) / p_weight))::bigint
  $fn$;

  CREATE FUNCTION hub_worker_rate(p_worker TEXT, p_kind TEXT, p_unknown DOUBLE PRECISION)
  RETURNS DOUBLE PRECISION LANGUAGE sql STABLE AS $fn$
    SELECT coalesce((SELECT coalesce(r.rate, r.benchmark_rate) FROM worker_rates r WHERE r.worker = p_worker AND r.kind = p_kind), p_unknown)
  $fn$;

  DROP FUNCTION hub_lease(TEXT, TEXT[], TEXT[], TEXT, TEXT, BIGINT, BIGINT, BIGINT, NUMERIC, BIGINT, TEXT[], TEXT, DOUBLE PRECISION, BIGINT, BIGINT, BIGINT);
  ${HUB_LEASE_13};`,
};
