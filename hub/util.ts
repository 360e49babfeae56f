/** Small helpers of the hub: ids, secrets, hashes, times. Node built-ins only. */
import { createHash, randomBytes } from 'node:crypto';

/** Random bytes drawn 4 KiB at a time: ids are made by the thousand when a job is split. */
const pool = { bytes: Buffer.alloc(0), used: 0 };

/** A random url-safe id with a readable prefix: `job_3f9c0a1b2d4e5f60`. */
export function newId(prefix: 'job' | 'task' | 'cus' | 'pay'): string {
  if (pool.used + 8 > pool.bytes.length) {
    pool.bytes = randomBytes(4096);
    pool.used = 0;
  }
  const id = pool.bytes.toString('hex', pool.used, pool.used + 8);
  pool.used += 8;
  return `${prefix}_${id}`;
}

/** A fresh secret of `bytes` random bytes, as lowercase hex. */
export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** SHA-256 of a UTF-8 string, lowercase hex: what the hub stores instead of a secret. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Milliseconds since the epoch → ISO 8601 UTC with milliseconds (sorts as text). */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The bytes of an f32 array as a Buffer that shares its memory (for BYTEA parameters and replies). */
export function f32ToBuffer(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}
