/**
 * The `matmul` job kind: C = A·B, f32, row-major, A m×k, B k×n, C m×n.
 * Customers send whole jobs; the hub leases row-slices of C as tasks.
 */
import { z } from 'zod';
import { Base64Schema, TaskCommonShape } from '../common.js';

/** Largest side a matrix may have, and most elements in one matrix (64 MiB of f32). */
export const MATMUL_MAX_DIM = 16384;
export const MATMUL_MAX_ELEMENTS = 16 * 1024 * 1024;

/** Length of the base64 text of `bytes` bytes. */
export const base64Length = (bytes: number): number => 4 * Math.ceil(bytes / 3);

const Dim = z.number().int().min(1).max(MATMUL_MAX_DIM);

export const MatmulParamsSchema = z
  .object({ m: Dim, n: Dim, k: Dim })
  .refine((p) => p.m * p.k <= MATMUL_MAX_ELEMENTS && p.k * p.n <= MATMUL_MAX_ELEMENTS && p.m * p.n <= MATMUL_MAX_ELEMENTS, {
    message: `each matrix may hold at most ${MATMUL_MAX_ELEMENTS} elements`,
  });
export type MatmulParams = z.infer<typeof MatmulParamsSchema>;

/**
 * f32 data of a task or a result: base64 text in a JSON body; the raw little-endian bytes when it
 * came in a binary body (a task frame, an octet-stream result; see docs/PROTOCOL.md).
 */
export const F32DataSchema = z.union([Base64Schema, z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected base64 text or bytes')]);
export type F32Data = z.infer<typeof F32DataSchema>;

/** Whether `data` holds exactly `count` f32 values. */
export function holdsF32s(data: F32Data, count: number): boolean {
  return typeof data === 'string' ? data.length === base64Length(4 * count) : data.byteLength === 4 * count;
}

export const MatmulInputsSchema = z.object({ a: F32DataSchema, b: F32DataSchema });
export type MatmulInputs = z.infer<typeof MatmulInputsSchema>;

export const MatmulOutputSchema = z.object({ c: F32DataSchema });
export type MatmulOutput = z.infer<typeof MatmulOutputSchema>;

/** Checks that a and b hold exactly m×k and k×n f32 values. */
export function matmulInputsFit(p: MatmulParams, i: MatmulInputs): string | null {
  if (!holdsF32s(i.a, p.m * p.k)) return `a must hold m×k = ${p.m * p.k} f32 values`;
  if (!holdsF32s(i.b, p.k * p.n)) return `b must hold k×n = ${p.k * p.n} f32 values`;
  return null;
}

export function matmulOutputFits(p: MatmulParams, o: MatmulOutput): string | null {
  return holdsF32s(o.c, p.m * p.n) ? null : `c must hold m×n = ${p.m * p.n} f32 values`;
}

/** `POST /v1/jobs` body for matmul. */
export const MatmulJobRequestSchema = z
  .object({ kind: z.literal('matmul'), m: Dim, n: Dim, k: Dim, a: Base64Schema, b: Base64Schema })
  .superRefine((j, ctx) => {
    const p = MatmulParamsSchema.safeParse({ m: j.m, n: j.n, k: j.k });
    if (!p.success) {
      ctx.addIssue({ code: 'custom', message: p.error.issues[0]?.message ?? 'bad sizes' });
      return;
    }
    const problem = matmulInputsFit(p.data, j);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
export type MatmulJobRequest = z.infer<typeof MatmulJobRequestSchema>;

/** A leased matmul task; params describe this slice (m rows of C). */
export const MatmulTaskBody = {
  kind: z.literal('matmul'),
  params: MatmulParamsSchema,
  inputs: MatmulInputsSchema,
};

/** The matmul kind's wire schemas, one entry of protocol/kinds/index.ts. */
export const matmulWire = { kind: 'matmul', task: z.object({ ...TaskCommonShape, ...MatmulTaskBody }), output: MatmulOutputSchema, job: MatmulJobRequestSchema } as const;
