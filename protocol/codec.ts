/**
 * Task payloads between their wire form and typed values, for every compute host (Dawn in Node,
 * the compute page in a browser): matrices as Float32Array, 64-bit nonces as bigint. Pure
 * TypeScript, no Node built-ins.
 */
import { f32ToBytes, toF32 } from './binary.js';
import type { Task } from './http.js';
import type { HashsearchOutput } from './kinds/hashsearch.js';
import { matmulInputsFit } from './kinds/matmul.js';

export type DecodedTask =
  | { kind: 'matmul'; dims: { m: number; n: number; k: number }; a: Float32Array; b: Float32Array }
  | { kind: 'hashsearch'; spec: { header: string; target: string; start: bigint; count: number } };

export type DecodedOutput =
  | { kind: 'matmul'; c: Float32Array }
  | { kind: 'hashsearch'; result: { nonces: bigint[]; best: { nonce: bigint; hash: string } } };

/** Thrown when a task's inputs do not fit its params, or a kind is unknown. */
export class TaskDecodeError extends Error {
  constructor(
    message: string,
    readonly unknownKind = false,
  ) {
    super(message);
    this.name = 'TaskDecodeError';
  }
}

/** A task (already parsed by TaskSchema) as typed values; throws TaskDecodeError. */
export function decodeTask(task: Task): DecodedTask {
  switch (task.kind) {
    case 'matmul': {
      const problem = matmulInputsFit(task.params, task.inputs);
      if (problem) throw new TaskDecodeError(`the matmul task does not fit: ${problem}`);
      try {
        return { kind: 'matmul', dims: task.params, a: toF32(task.inputs.a), b: toF32(task.inputs.b) };
      } catch (error) {
        throw new TaskDecodeError(`the matmul inputs are not valid f32 data: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    case 'hashsearch': {
      const { header, target, start, count } = task.params;
      return { kind: 'hashsearch', spec: { header, target: target.toLowerCase(), start: BigInt(start), count } };
    }
    default: {
      const kind = (task as { kind: unknown }).kind;
      throw new TaskDecodeError(`this worker cannot run tasks of kind ${JSON.stringify(kind)}`, true);
    }
  }
}

/**
 * An output in wire form, as `POST /v1/tasks/{id}/result` takes it: a matmul's C as its raw
 * bytes (sent as application/octet-stream), other kinds as their JSON output.
 */
export function encodeOutput(output: DecodedOutput): Record<string, unknown> {
  switch (output.kind) {
    case 'matmul':
      return { c: f32ToBytes(output.c) };
    case 'hashsearch':
      return encodeHashsearchOutput(output.result);
  }
}

export function encodeHashsearchOutput(result: { nonces: bigint[]; best: { nonce: bigint; hash: string } }): HashsearchOutput {
  return { nonces: result.nonces.map(String), best: { nonce: String(result.best.nonce), hash: result.best.hash } };
}

export function decodeHashsearchOutput(output: HashsearchOutput): { nonces: bigint[]; best: { nonce: bigint; hash: string } } {
  return { nonces: output.nonces.map((n) => BigInt(n)), best: { nonce: BigInt(output.best.nonce), hash: output.best.hash.toLowerCase() } };
}
