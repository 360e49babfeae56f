/**
 * Inputs are immutable once stored: every task of a matmul job needs all of B (to lease it and
 * to verify it), and a task's own A is read when it is leased and again when its result is
 * verified. This keeps recently used inputs in memory, by key (a job's B, a task's A), least
 * recently used out first, within a byte budget.
 */
import { bytesToF32, f32ToBytes } from '../protocol/index.js';

interface Entry {
  f32: Float32Array;
  bytes: number;
}

export class InputsCache {
  private readonly entries = new Map<string, Entry>();
  private used = 0;

  constructor(private readonly budgetBytes = 256 * 1024 * 1024) {}

  private async entry(key: string, load: () => Promise<Uint8Array>): Promise<Entry> {
    let e = this.entries.get(key);
    if (e) {
      this.entries.delete(key);
      this.entries.set(key, e);
      return e;
    }
    // node-postgres's Buffers need not be 4-byte aligned: a copy then, a view otherwise.
    const f32 = bytesToF32(await load());
    // Another request may have loaded the same key meanwhile: keep one copy.
    e = this.entries.get(key);
    if (e) return e;
    e = { f32, bytes: f32.byteLength };
    this.entries.set(key, e);
    this.used += e.bytes;
    this.trim(key);
    return e;
  }

  async f32(key: string, load: () => Promise<Uint8Array>): Promise<Float32Array> {
    return (await this.entry(key, load)).f32;
  }

  /** The bytes: a view of the cached f32 array. */
  async bytes(key: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    return f32ToBytes((await this.entry(key, load)).f32);
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
