/**
 * What every job kind provides. Kernels know nothing of the app: they take typed arrays and a
 * GPUDevice and return typed arrays; decoding the wire format is the caller's job.
 */
export interface RunOptions {
  /** Checked between slices: once aborted, the run stops and rejects with an AbortError. */
  signal?: AbortSignal;
  /** Largest amount of work (the kind's own unit) one GPU submission may hold. */
  sliceBudget?: number;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

export class KernelError extends Error {
  constructor(
    message: string,
    readonly code: 'VALIDATION' | 'OUT_OF_MEMORY' | 'DEVICE_LOST' | 'ABORTED' | 'INTERNAL',
  ) {
    super(message);
    this.name = 'KernelError';
  }
}
