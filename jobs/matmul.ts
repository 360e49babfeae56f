/**
 * The `matmul` kind: C = A·B in f32 (kernels/matmul), verified with Freivalds' check, paid per
 * FLOP. Demo jobs have random sides in 256..512 (often not multiples of 16, to exercise edge
 * tiles); 512³ multiply-adds is the hub's task cap, so every demo job is a single task.
 */
import { runMatmul } from '../kernels/matmul/dispatch.js';
import { matmulWorkUnits, type MatmulDims } from '../kernels/matmul/reference.js';
import { verifyMatmul } from '../kernels/matmul/verify.js';
import { KernelError } from '../kernels/types.js';
import { base64Length, f32ToBase64, f32ToBytes, matmulInputsFit, matmulWire, toF32 } from '../protocol/index.js';
import { GFLOP, type JobKindSpec } from './types.js';

export const FEEDER_MIN_SIDE = 256;
export const FEEDER_MAX_SIDE = 512;

export interface MatmulTask {
  kind: 'matmul';
  dims: MatmulDims;
  a: Float32Array;
  b: Float32Array;
}

export interface MatmulOutput {
  kind: 'matmul';
  c: Float32Array;
}

export const matmulSpec: JobKindSpec<'matmul', MatmulTask, MatmulOutput, MatmulDims> = {
  kind: 'matmul',
  wire: matmulWire,
  decode(task) {
    const problem = matmulInputsFit(task.params, task.inputs);
    if (problem) throw new KernelError(`the matmul task does not fit: ${problem}`, 'VALIDATION');
    try {
      return { kind: 'matmul', dims: task.params, a: toF32(task.inputs.a), b: toF32(task.inputs.b) };
    } catch (error) {
      throw new KernelError(`the matmul inputs are not valid f32 data: ${error instanceof Error ? error.message : String(error)}`, 'VALIDATION');
    }
  },
  async run(gpu, task, options) {
    return { kind: 'matmul', c: await runMatmul(gpu, task.dims, task.a, task.b, options) };
  },
  // C as its raw bytes (sent as application/octet-stream).
  encodeOutput: (output) => ({ c: f32ToBytes(output.c) }),
  rawResultField: 'c',
  verify: (task, output) => verifyMatmul(task.dims, task.a, task.b, output.c),
  workUnits: (params) => matmulWorkUnits(params),
  paidBy: 'rewardPerGflop',
  reward: (units, rate) => (units * rate) / GFLOP,
  speedScore: 'gflops',
  replicated: false,
  // C as base64 in JSON (raw bytes are shorter).
  maxResultBytes: (params) => base64Length(4 * params.m * params.n),
  demo: {
    backlog: 4,
    make(random) {
      const side = (): number => FEEDER_MIN_SIDE + Math.floor(random() * (FEEDER_MAX_SIDE - FEEDER_MIN_SIDE + 1));
      const m = side();
      const n = side();
      const k = side();
      const fill = (len: number): Float32Array => {
        const v = new Float32Array(len);
        for (let i = 0; i < len; i++) v[i] = random() * 2 - 1;
        return v;
      };
      return { kind: 'matmul', m, n, k, a: f32ToBase64(fill(m * k)), b: f32ToBase64(fill(k * n)) };
    },
    fields: (job) => ({ m: job.m, n: job.n, k: job.k }),
    describe: ({ m, n, k }) => `${m}×${k} · ${k}×${n}`,
    maxPrice: (rates) => matmulSpec.reward(matmulWorkUnits({ m: FEEDER_MAX_SIDE, n: FEEDER_MAX_SIDE, k: FEEDER_MAX_SIDE }), rates.rewardPerGflop),
  },
};
