/**
 * The hub's side of render: a customer's picture cut into tiles and priced (the scene's cost per
 * sample measured on the CPU reference when the job is submitted), leasing a task (its tile and
 * samples as params, the scene as input), judging its result (the CPU reference re-traces a secret
 * chunk of each pixel the result opens, or CHECK_PIXELS pixels at all their samples for a result
 * without chunk sums: kernels/render/verify.ts), and a done job's picture: PNG (8-bit,
 * tone-mapped) or raw f32 RGB.
 *
 * Tasks sized to the card (hub/sizing.ts, migration 13): a job is stored as one task per tile
 * holding all its samples (`part` = the tile, `start` = 0, `count` = the samples, `weight` = the
 * tile's pixels × the operations per sample), and each lease carves from the head tile a run of
 * samples worth about a second of the leasing worker's render rate (at most 2³⁰ operations, at
 * least one sample, for a key with no observed rate). A task's params come from (`part`, `start`,
 * `count`); the picture is the tiles' runs of samples weighed by their counts.
 *
 * A result that fails is rejected and earns nothing, but, as for matmul, is not yet a strike: the
 * hub is sure only once another worker's answer to the same task passes (an f32 path divergence
 * beyond what the check allows is possible in principle on some GPU, though none was seen).
 */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import {
  JobCreatedSchema,
  RenderSceneSchema,
  ResultRequestSchemas,
  type JobCreated,
  type RenderJobRequest,
  type RenderParams,
  type ResultResponse,
  type TaskOf,
  RENDER_MIN_SIDE,
} from '../../protocol/index.js';
import { JOB_SPECS } from '../../jobs/index.js';
import { decodeRenderBody, decodeRenderOutput, tileOf, type RenderValues } from '../../jobs/render.js';
import { render } from '../../kernels/index.js';
import { reserveJob, settleJob } from '../billing.js';
import type { HubContext } from '../context.js';
import { badRequest, checkOutput, notFound, parseInput } from '../errors.js';
import type { JobResult } from '../jobs.js';
import { assertLeaseHeld } from '../leases.js';
import { countRejected, countValid } from '../standing.js';
import { earningsStore, jobsStore, ROW_LOCKED_TX, tasksStore, trustStore } from '../store/index.js';
import { encodeRgbPng } from '../../lib/png.js';
import { observeResult, type KindSizing } from '../sizing.js';
import { iso, newId } from '../util.js';

const KIND = 'render';

/**
 * Pixels a tile is planned at, about: tiles are ⌊√ of it⌋ = 362 pixels a side to twice that (the
 * whole side when narrower than twice it), 2¹⁷–2¹⁹ pixels, or the whole picture below that. Large,
 * so a fast GPU's task of all a tile's samples outlasts the round trips that carry it (bench/gpu-share.ts:
 * a 20 TFLOP/s GPU renders a 128×192 tile's 4,096 samples in 13 ms, less than one 30 ms round
 * trip); a slow worker still gets about a second of work, as few as one sample of its tile, by
 * the lease's carve (1 sample of the largest tile, 523,000 pixel-samples, is 13–26 s on
 * SwiftShader, far inside a lease). A hub may plan smaller (HubOptions.renderTilePixels).
 */
export const RENDER_TILE_PIXELS = 2 ** 17;
/** The side of the smallest full tile of a plan at `tilePixels` (⌊√ of it⌋: 362 by default). */
export const renderTileSide = (tilePixels = RENDER_TILE_PIXELS): number => Math.max(1, Math.floor(Math.sqrt(tilePixels)));
/**
 * Most floating-point operations in a task for a key with no observed render rate (the new-key
 * size, hub/sizing.ts; at least one sample of its tile): the passes jobs were cut in at submit
 * before tasks were carved to the worker.
 */
export const RENDER_TASK_FLOPS = 2 ** 30;
/** Most tasks one render job may make at the new-key size (tiles × passes of RENDER_TASK_FLOPS). */
export const MAX_RENDER_TASKS_PER_JOB = 65_536;

/**
 * Render tasks are carved at lease time (hub/sizing.ts), in operations: at most `renderTaskFlops`
 * (RENDER_TASK_FLOPS) for a key with no observed rate, and no cap beyond the tile's samples (a job
 * has at most RENDER_MAX_SAMPLES of them) for any.
 */
export function renderSizing(ctx: Partial<Pick<HubContext, 'renderTaskFlops'>>): KindSizing {
  return { newKeyUnits: ctx.renderTaskFlops ?? RENDER_TASK_FLOPS, maxUnits: Number.MAX_SAFE_INTEGER };
}

/** What a render job stores in `jobs.spec`. */
const RenderJobSpecSchema = z.object({
  width: z.number().int(),
  height: z.number().int(),
  samples: z.number().int(),
  seed: z.number().int(),
  flopsPerSample: z.number().int(),
  tilesX: z.number().int(),
  tilesY: z.number().int(),
  /** Samples of the largest tile in RENDER_TASK_FLOPS (a new key's task; the job's size limit counts them). */
  samplesPerPass: z.number().int(),
  scene: RenderSceneSchema,
});
export type RenderJobSpec = z.infer<typeof RenderJobSpecSchema>;

export function renderSpecOf(job: jobsStore.JobRow): RenderJobSpec {
  if (job.kind !== KIND || job.spec === null) throw new Error(`job ${job.id} is not a render job`);
  return RenderJobSpecSchema.parse(JSON.parse(job.spec));
}

/** Cuts `size` into `parts` spans as even as can be: [start, length] of span `i`. */
function span(size: number, parts: number, i: number): [number, number] {
  const start = Math.floor((i * size) / parts);
  return [start, Math.floor(((i + 1) * size) / parts) - start];
}

export const passesOf = (spec: Pick<RenderJobSpec, 'samples' | 'samplesPerPass'>): number => Math.ceil(spec.samples / spec.samplesPerPass);

/** Samples [sampleStart, sampleStart + sampleCount) of tile `tile` (row-major: tile 0 top left) of a job, as a task's params. */
export function renderTaskParams(spec: RenderJobSpec, tile: number, sampleStart: number, sampleCount: number): RenderParams {
  const [x, w] = span(spec.width, spec.tilesX, tile % spec.tilesX);
  const [y, h] = span(spec.height, spec.tilesY, Math.floor(tile / spec.tilesX));
  return { width: spec.width, height: spec.height, x, y, w, h, sampleStart, sampleCount, seed: spec.seed, flopsPerSample: spec.flopsPerSample };
}

/** A stored task's params: its tile (`part`) and its samples (`start`, `count`). */
function paramsOfRow(spec: RenderJobSpec, task: { id?: string; row0: number; part: number | null; start: string | null; count: number | null }): RenderParams {
  if (task.part === null || task.start === null || task.count === null) throw new Error(`render task ${task.id ?? `#${task.row0}`} has no tile or samples`);
  return renderTaskParams(spec, task.part, Number(task.start), task.count);
}

/**
 * The layout of a job: tiles of √`tilePixels`..2× that a side, and a new key's samples of the
 * largest in `taskFlops`. A costly scene gets smaller tiles: their side is at most √(`taskFlops` /
 * operations a sample), so one sample of a tile (up to twice that side) is under 4 · `taskFlops`
 * operations (tiles of at least RENDER_MIN_SIDE² pixels whatever the cost): the least a lease
 * carves, one sample, stays within a few new-key tasks, seconds on a software GPU, inside its lease.
 */
export function planRender(
  req: Pick<RenderJobRequest, 'width' | 'height' | 'samples'>,
  flopsPerSample: number,
  taskFlops = RENDER_TASK_FLOPS,
  tilePixels = RENDER_TILE_PIXELS,
): Pick<RenderJobSpec, 'tilesX' | 'tilesY' | 'samplesPerPass'> {
  const side = renderTileSide(Math.min(tilePixels, Math.max(RENDER_MIN_SIDE ** 2, Math.floor(taskFlops / flopsPerSample))));
  const tilesX = Math.max(1, Math.floor(req.width / side));
  const tilesY = Math.max(1, Math.floor(req.height / side));
  // The largest tile's pixels.
  const pixels = Math.ceil(req.width / tilesX) * Math.ceil(req.height / tilesY);
  const samplesPerPass = Math.max(1, Math.min(req.samples, Math.floor(taskFlops / (pixels * flopsPerSample))));
  return { tilesX, tilesY, samplesPerPass };
}

/** Tasks of a job if every one were a new key's (tiles × passes): what the job's size limit counts. */
export const renderTaskCount = (spec: Pick<RenderJobSpec, 'tilesX' | 'tilesY' | 'samples' | 'samplesPerPass'>): number => spec.tilesX * spec.tilesY * passesOf(spec);

export function renderParamsOf(task: tasksStore.TaskRow, job: jobsStore.JobRow): TaskOf<'render'>['params'] {
  return paramsOfRow(renderSpecOf(job), task);
}

export async function leaseRender(
  _ctx: HubContext,
  task: tasksStore.TaskRow,
  job: jobsStore.JobRow,
  common: Pick<TaskOf<'render'>, 'id' | 'reward' | 'leaseExpiresAt'>,
): Promise<TaskOf<'render'>> {
  const spec = renderSpecOf(job);
  return { ...common, kind: KIND, params: paramsOfRow(spec, task), inputs: { scene: spec.scene } };
}

export async function createRenderJob(ctx: HubContext, customerId: string, req: RenderJobRequest): Promise<JobCreated> {
  const flopsPerSample = render.measureFlopsPerSample(req.scene, req.width, req.height);
  const layout = planRender(req, flopsPerSample, RENDER_TASK_FLOPS, ctx.renderTilePixels);
  const spec: RenderJobSpec = { width: req.width, height: req.height, samples: req.samples, seed: req.seed ?? randomInt(2 ** 32), flopsPerSample, ...layout, scene: req.scene };
  const planned = renderTaskCount(spec);
  if (planned > MAX_RENDER_TASKS_PER_JOB) {
    throw badRequest(`the picture would make ${planned} tasks, more than the ${MAX_RENDER_TASKS_PER_JOB} a job may have: fewer samples, a smaller image or a simpler scene`);
  }
  // One task per tile with all its samples: leases carve runs of samples from it (hub_lease).
  const count = spec.tilesX * spec.tilesY;
  const tasks = Array.from({ length: count }, (_, index) => {
    const params = renderTaskParams(spec, index, 0, spec.samples);
    return { index, params, reward: JOB_SPECS.render.reward(JOB_SPECS.render.workUnits(params), ctx.rewardPerGflop) };
  });
  const price = tasks.reduce((sum, t) => sum + t.reward, 0n);
  const id = newId('job');
  const createdAt = iso(ctx.now());
  await ctx.db.tx(async (q) => {
    // m, n, k belong to matmul; a render job keeps its parameters in `spec` (m × n: its size, k: samples).
    await jobsStore.insertJob(q, { id, customerId, kind: KIND, m: req.height, n: req.width, k: req.samples, price: price.toString(), tasksTotal: count, createdAt, spec: JSON.stringify(spec) });
    await reserveJob(q, ctx, { customerId, jobId: id, price, tasks: count });
    for (const t of tasks) {
      await tasksStore.insertTask(q, {
        id: newId('task'),
        jobId: id,
        kind: KIND,
        row0: t.index,
        rows: 1,
        reward: t.reward.toString(),
        createdAt,
        start: String(t.params.sampleStart),
        count: t.params.sampleCount,
        part: t.index,
        // Operations per sample of this tile: a carve's samples are the worker's operations over it.
        weight: t.params.w * t.params.h * spec.flopsPerSample,
      });
    }
  });
  return checkOutput(JobCreatedSchema, { id, tasks: count, price: price.toString() });
}

export async function judgeRender(ctx: HubContext, worker: string, task: tasksStore.TaskRow, job: jobsStore.JobRow, body: unknown, nowIso: string): Promise<ResultResponse> {
  const spec = renderSpecOf(job);
  const params = paramsOfRow(spec, task);
  // Raw bytes of the tile (application/octet-stream: f16 or f32, told by their length), or JSON (`rgb` f32 or `rgbHalf` f16, base64).
  const output = Buffer.isBuffer(body) ? body : parseInput(ResultRequestSchemas.render, body).output;
  let values: RenderValues;
  try {
    values = Buffer.isBuffer(output) ? decodeRenderBody(params, output) : decodeRenderOutput(params, output);
  } catch (error) {
    // A size that does not fit (KernelError), or base64 whose padding makes a length that does not.
    throw badRequest(`${Buffer.isBuffer(output) ? '' : 'output: '}${error instanceof Error ? error.message : 'not the tile\'s values'}`);
  }
  const { rgb, encoding, chunked } = values;
  const tile = tileOf(params);
  // The re-trace reads only fixed data (the scene, the tile): outside any transaction. A result
  // with chunk sums gets the chunk check (one chunk of each opened pixel re-traced); one without,
  // the pixel check at all its samples.
  const check = chunked
    ? render.checkRenderChunks(spec.scene, tile, rgb, chunked.sums, await render.openedPixels(tile, chunked.half), { random: ctx.random })
    : render.checkRenderTile(spec.scene, tile, rgb, { random: ctx.random, encoding });
  const verdict = check.verdict;
  const taskId = task.id;
  const units = Number(JOB_SPECS.render.workUnits(params));

  const outcome = await ctx.write(async (q): Promise<{ response: ResultResponse; jobFailed: boolean }> => {
    const current = await tasksStore.lockTask(q, taskId);
    if (!current) throw notFound(`there is no task ${taskId}`, 'TASK_NOT_FOUND');
    await assertLeaseHeld(q, current, worker, nowIso);
    if (verdict.ok) {
      // Its operations over its time: the worker's render rate, which sizes its next tasks.
      await observeResult(q, { worker, kind: KIND, taskId, units, now: nowIso });
      if (!(await tasksStore.completeTask(q, taskId, worker, Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), nowIso))) throw new Error(`task ${taskId} changed under the write lock`);
      const entryId = await earningsStore.insertEarning(q, { taskId, worker, kind: KIND, amount: current.reward, status: 'verified', createdAt: nowIso });
      await jobsStore.countTaskDone(q, job.id, nowIso);
      await countValid(q, ctx, worker, KIND, units);
      // Another worker's answer to the same task passed: the ones rejected before were wrong.
      for (const earlier of await trustStore.confirmRejections(q, taskId)) await countRejected(q, ctx, earlier, KIND, nowIso);
      return { response: { status: 'accepted', credited: current.reward, entryId: String(entryId) }, jobFailed: false };
    }
    if (!(await tasksStore.releaseTask(q, taskId, worker))) throw new Error(`task ${taskId} changed under the write lock`);
    const entryId = await earningsStore.insertEarning(q, { taskId, worker, kind: KIND, amount: '0', status: 'rejected', createdAt: nowIso });
    await trustStore.insertRejection(q, { taskId, worker, certain: false, reason: verdict.reason, createdAt: nowIso });
    const failedFor = await trustStore.establishedRejections(q, taskId, ctx.standing.newKey.checkedTasks);
    let jobFailed = false;
    if (failedFor >= ctx.standing.failAfterRejections && (await trustStore.failJob(q, job.id, nowIso))) {
      await settleJob(q, ctx, job.id);
      jobFailed = true;
    }
    return { response: { status: 'rejected', credited: '0', entryId: String(entryId), reason: verdict.reason }, jobFailed };
  }, ROW_LOCKED_TX);
  if (outcome.jobFailed) ctx.log(`job ${job.id} failed: task ${taskId} was rejected for ${ctx.standing.failAfterRejections} different workers`);
  return outcome.response;
}

/**
 * A done render job's picture: its mean radiance (f32 RGB, row-major) and that tone-mapped as a
 * PNG. Each tile is the runs of samples its tasks rendered (carved to their workers), each
 * weighed by its sample count, added in tile and sample order.
 */
export async function renderJobResult(ctx: HubContext, job: jobsStore.JobRow): Promise<JobResult> {
  const spec = renderSpecOf(job);
  const sums = new Float64Array(3 * spec.width * spec.height);
  const parts = (await tasksStore.jobResults(ctx.db, job.id)).map((p) => ({ p, params: paramsOfRow(spec, p) }));
  parts.sort((a, b) => a.params.y - b.params.y || a.params.x - b.params.x || a.params.sampleStart - b.params.sampleStart);
  for (const { p, params } of parts) {
    if (!p.result || p.result.byteLength !== 12 * params.w * params.h) throw new Error(`job ${job.id} is done but task ${p.row0} has no result`);
    const rgb = new Float32Array(p.result.buffer.slice(p.result.byteOffset, p.result.byteOffset + p.result.byteLength));
    render.addPass(sums, spec.width, params, rgb, params.sampleCount);
  }
  const mean = render.meanImage(sums, spec.samples);
  return {
    type: 'image',
    raw: Buffer.from(mean.buffer, mean.byteOffset, mean.byteLength),
    png: () => encodeRgbPng(spec.width, spec.height, render.toneMap(mean)),
  };
}

