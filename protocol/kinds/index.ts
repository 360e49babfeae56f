/**
 * The wire schemas of every job kind: its leased task's body, its result's output and its
 * `POST /v1/jobs` body. protocol/http.ts builds the task, result and job schemas from this list,
 * and the kinds' registry (jobs/index.ts) must have one spec for each name in it.
 */
import { z } from 'zod';
import { hashsearchWire } from './hashsearch.js';
import { matmulWire } from './matmul.js';
import { renderWire } from './render.js';

export * from './matmul.js';
export * from './hashsearch.js';
export * from './render.js';

export const KIND_WIRES = [matmulWire, hashsearchWire, renderWire] as const;

type Wires = typeof KIND_WIRES;
/** One kind's wire schemas. */
export type KindWire = Wires[number];
export type JobKind = KindWire['kind'];
/** The wire schemas of `K`. */
export type WireOf<K extends JobKind> = Extract<KindWire, { kind: K }>;

type KindsOf<T extends readonly KindWire[]> = { -readonly [I in keyof T]: T[I]['kind'] };
export const JOB_KINDS = KIND_WIRES.map((w) => w.kind) as KindsOf<Wires>;
export const JobKindSchema = z.enum(JOB_KINDS);

export const isJobKind = (k: string): k is JobKind => (JOB_KINDS as readonly string[]).includes(k);
