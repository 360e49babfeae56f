/**
 * The binary form of a lease answer (a protocol addition, see docs/PROTOCOL.md): the task's JSON
 * without its large arrays, then the arrays as raw little-endian bytes. A worker asks for it with
 * `Accept: application/vnd.idleforge.task`; nothing is base64-encoded, JSON-escaped or scanned on
 * either side, and a matrix reaches the GPU as a view of the bytes received.
 *
 *   bytes 0–3   the header's length H, u32 little-endian
 *   bytes 4…    the header: UTF-8 JSON `{ task, sections: [{ name, bytes }] }`, padded with spaces
 *               so that the first section starts at a multiple of 8
 *   then        each section's bytes, in the header's order, each padded with zeros to a
 *               multiple of 8 (so every section starts 8-byte aligned); nothing after the last
 *
 * `task` is the JSON task with `inputs` holding everything but the sections; each section is
 * put back as `task.inputs[name]` (a Uint8Array) and the whole task then parsed by TaskSchema as
 * usual. Pure TypeScript, no Node built-ins.
 */
import { z } from 'zod';

export const TASK_FRAME_TYPE = 'application/vnd.idleforge.task';

/** Largest header; the header holds ids and params only. */
export const TASK_FRAME_MAX_HEADER = 64 * 1024;

const ALIGN = 8;
const padded = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

const SectionSchema = z.object({
  name: z.string().regex(/^[a-z][A-Za-z0-9]{0,31}$/, 'a section name is a short identifier'),
  bytes: z.number().int().min(0),
});
const FrameHeaderSchema = z.object({
  task: z.looseObject({ inputs: z.record(z.string(), z.unknown()) }),
  sections: z.array(SectionSchema).max(8),
});

/** The frame does not hold together (lengths, header, sections); say so, lose nothing. */
export class TaskFrameError extends Error {
  constructor(message: string) {
    super(`the task frame is malformed: ${message}`);
    this.name = 'TaskFrameError';
  }
}

/**
 * Writes a frame: the parts to send one after another (no copy of the sections). `task.inputs`
 * must not hold the sections' names.
 */
export function encodeTaskFrame(task: { inputs: Record<string, unknown> } & Record<string, unknown>, sections: { name: string; bytes: Uint8Array }[]): Uint8Array[] {
  for (const s of sections) if (s.name in task.inputs) throw new TypeError(`input ${s.name} is both in the header and a section`);
  const json = JSON.stringify({ task, sections: sections.map((s) => ({ name: s.name, bytes: s.bytes.byteLength })) });
  const text = new TextEncoder().encode(json);
  const headerLength = padded(4 + text.byteLength) - 4;
  const head = new Uint8Array(4 + headerLength).fill(0x20);
  new DataView(head.buffer).setUint32(0, headerLength, true);
  head.set(text, 4);
  const parts: Uint8Array[] = [head];
  for (const s of sections) {
    parts.push(s.bytes);
    const pad = padded(s.bytes.byteLength) - s.bytes.byteLength;
    if (pad > 0) parts.push(new Uint8Array(pad));
  }
  return parts;
}

/**
 * Reads a frame into the lease answer's shape, `{ task }` with the sections in `task.inputs` as
 * views of `frame` (aligned as f32 arrays need): the caller parses that with LeaseResponseSchema.
 * Throws TaskFrameError.
 */
export function decodeTaskFrame(frame: Uint8Array): { task: Record<string, unknown> } {
  if (frame.byteLength < 4) throw new TaskFrameError(`${frame.byteLength} bytes, too short for a header`);
  const headerLength = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (headerLength > TASK_FRAME_MAX_HEADER) throw new TaskFrameError(`a header of ${headerLength} bytes (at most ${TASK_FRAME_MAX_HEADER})`);
  if ((4 + headerLength) % ALIGN !== 0) throw new TaskFrameError('the header is not padded to a multiple of 8');
  if (4 + headerLength > frame.byteLength) throw new TaskFrameError('the header runs past the end');
  let header: z.infer<typeof FrameHeaderSchema>;
  try {
    const json: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.subarray(4, 4 + headerLength)));
    const parsed = FrameHeaderSchema.safeParse(json);
    if (!parsed.success) throw new TaskFrameError(`header: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`);
    header = parsed.data;
  } catch (error) {
    if (error instanceof TaskFrameError) throw error;
    throw new TaskFrameError(`the header is not UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  // The sections must fill the rest exactly.
  const expected = header.sections.reduce((sum, s) => sum + padded(s.bytes), 4 + headerLength);
  if (expected !== frame.byteLength) throw new TaskFrameError(`the sections need ${expected} bytes in all, the frame has ${frame.byteLength}`);
  const inputs: Record<string, unknown> = { ...header.task.inputs };
  let at = 4 + headerLength;
  for (const s of header.sections) {
    if (s.name in inputs) throw new TaskFrameError(`input ${s.name} is given twice`);
    inputs[s.name] = frame.subarray(at, at + s.bytes);
    at += padded(s.bytes);
  }
  return { task: { ...header.task, inputs } };
}
