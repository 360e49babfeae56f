/**
 * The `hashsearch` job kind: every nonce x in [start, start+count) whose SHA-256(header ‖ u64le(x)),
 * read as a big-endian 256-bit number, is ≤ target; plus `best`, the nonce with the lowest hash.
 * 64-bit nonces travel as decimal strings; header and target as hex.
 */
import { z } from 'zod';
import { TaskCommonShape } from '../common.js';

export const HASHSEARCH_MAX_HEADER_BYTES = 256;
/** Most nonces one job may cover, and one task. */
export const HASHSEARCH_MAX_JOB_COUNT = 2 ** 40;
export const HASHSEARCH_MAX_TASK_COUNT = 2 ** 32;
/** Most matching nonces one result may list. */
export const HASHSEARCH_MAX_NONCES = 65536;
const U64_MAX = (1n << 64n) - 1n;

export const U64Schema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,19})$/, 'a 64-bit integer is written in decimal')
  .refine((s) => BigInt(s) <= U64_MAX, 'the value does not fit in 64 bits');

export const HeaderHexSchema = z
  .string()
  .regex(/^([0-9a-fA-F]{2})*$/, 'header is hex bytes, without 0x')
  .max(2 * HASHSEARCH_MAX_HEADER_BYTES, `header holds at most ${HASHSEARCH_MAX_HEADER_BYTES} bytes`);
export const Hash256HexSchema = z.string().regex(/^[0-9a-fA-F]{64}$/, 'a 256-bit value is 64 hex digits');

const rangeFits = (p: { start: string; count: number }): boolean => BigInt(p.start) + BigInt(p.count) - 1n <= U64_MAX;

/** A range to search, with at most `maxCount` nonces (a job's or a task's limit). */
const rangeFields = (maxCount: number) => ({
  header: HeaderHexSchema,
  target: Hash256HexSchema,
  start: U64Schema,
  count: z.number().int().min(1).max(maxCount),
});
const RANGE_FITS = 'start + count − 1 must fit in 64 bits';

export const HashsearchParamsSchema = z.object(rangeFields(HASHSEARCH_MAX_TASK_COUNT)).refine(rangeFits, RANGE_FITS);
export type HashsearchParams = z.infer<typeof HashsearchParamsSchema>;

export const HashsearchOutputSchema = z.object({
  nonces: z.array(U64Schema).max(HASHSEARCH_MAX_NONCES),
  best: z.object({ nonce: U64Schema, hash: Hash256HexSchema }),
});
export type HashsearchOutput = z.infer<typeof HashsearchOutputSchema>;

/** `POST /v1/jobs` body for hashsearch. */
export const HashsearchJobRequestSchema = z
  .object({ kind: z.literal('hashsearch'), ...rangeFields(HASHSEARCH_MAX_JOB_COUNT) })
  .refine(rangeFits, RANGE_FITS);
export type HashsearchJobRequest = z.infer<typeof HashsearchJobRequestSchema>;

/** A leased hashsearch task: the range is in params; there are no inputs. */
export const HashsearchTaskBody = {
  kind: z.literal('hashsearch'),
  params: HashsearchParamsSchema,
  inputs: z.object({}),
};

/** The hashsearch kind's wire schemas, one entry of protocol/kinds/index.ts. */
export const hashsearchWire = { kind: 'hashsearch', task: z.object({ ...TaskCommonShape, ...HashsearchTaskBody }), output: HashsearchOutputSchema, job: HashsearchJobRequestSchema } as const;
