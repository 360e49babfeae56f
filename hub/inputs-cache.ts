/**
 * Job inputs are immutable once stored, and every task of a matmul job needs all of B (to lease
 * it and to verify it). This keeps recently used B matrices decoded and base64-encoded in memory,
 * least recently used out first, within a byte budget.
 */
import { blobToF32 } from './util.js';

interface Entry {
  f32: Float32Array;
  b64: string | null;
  bytes: number;
}

export class InputsCache {
  private readonly entries = new Map<string, Entry>();
  private used = 0;

  constructor(private readonly budgetBytes = 256 * 1024 * 1024) {}

  private entry(jobId: string, load: () => Uint8Array): Entry {
    let e = this.entries.get(jobId);
    if (e) {
      this.entries.delete(jobId);
      this.entries.set(jobId, e);
      return e;
    }
    const f32 = blobToF32(load());
    e = { f32, b64: null, bytes: f32.byteLength };
    this.entries.set(jobId, e);
    this.used += e.bytes;
    this.trim(jobId);
    return e;
  }

  f32(jobId: string, load: () => Uint8Array): Float32Array {
    return this.entry(jobId, load).f32;
  }

  base64(jobId: string, load: () => Uint8Array): string {
    const e = this.entry(jobId, load);
    if (e.b64 === null) {
      e.b64 = Buffer.from(e.f32.buffer, e.f32.byteOffset, e.f32.byteLength).toString('base64');
      e.bytes += e.b64.length;
      this.used += e.b64.length;
      this.trim(jobId);
    }
    return e.b64;
  }

  forget(jobId: string): void {
    const e = this.entries.get(jobId);
    if (!e) return;
    this.entries.delete(jobId);
    this.used -= e.bytes;
  }

  private trim(keep: string): void {
    for (const [id] of this.entries) {
      if (this.used <= this.budgetBytes) return;
      if (id !== keep) this.forget(id);
    }
  }
}
