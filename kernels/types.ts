/**
 * What every job kind provides. Kernels know nothing of the app: they take typed arrays and a
 * KernelDevice (device.ts: a GPUDevice and what was learned about it) and return typed arrays;
 * decoding the wire format is the caller's job.
 */
export interface RunOptions {
  /** Checked between slices: once aborted, the run stops and rejects with an AbortError. */
  signal?: AbortSignal;
  /**
   * A fixed amount of work (the kind's own unit: multiply-adds, nonces) per GPU submission,
   * rounded to what the kernel can dispatch. Unset: slices follow the device's measured speed.
   */
  sliceBudget?: number;
  /** Target duration of one submission when slices follow the measured speed, ms (default 50). */
  sliceMs?: number;
  /** Called after each finished slice with the work done so far and the total, in slice units. */
  onProgress?: (done: number, total: number) => void;
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
