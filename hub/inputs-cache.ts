/**
 * Inputs are immutable once stored: every task of a matmul job needs all of B (to lease it and
 * to verify it), and a task's own A is read when it is leased and again when its result is
 * verified. This keeps recently used inputs in memory, by key (a job's B, a task's A), least
 * recently used out first, within a byte budget.
 */
import { blobToF32 } from './util.js';

interface Entry {
  f32: Float32Array;
  bytes: number;
}

export class InputsCache {
  private readonly entries = new Map<string, Entry>();
  private used = 0;

  constructor(private readonly budgetBytes = 256 * 1024 * 1024) {}

  private entry(key: string, load: () => Uint8Array): Entry {
    let e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e);
      return e;
    }
    const f32 = blobToF32(load());
    e = { f32, bytes: f32.byteLength };
    this.entries.set(key, e);
    this.used += e.bytes;
    this.trim(key);
    return e;
  }

  f32(key: string, load: () => Uint8Array): Float32Array {
    return this.entry(key, load).f32;
  }

  /** The bytes: a view of the cached f32 array. */
  bytes(key: string, load: () => Uint8Array): Uint8Array {
    const f32 = this.entry(key, load).f32;
    return new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  }

  forget(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.used -= e.bytes;
  }

  private trim(keep: string): void {
    for (const [id] of this.entries) {
      if (this.used <= this.budgetBytes) return;
      if (id !== keep) this.forget(id);
    }
  }
}
