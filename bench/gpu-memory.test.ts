import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { drmMemoryKiB, drmProcessMemoryKiB, nvidiaProcessMemoryKiB } from './gpu-memory.js';

describe("a process's GPU memory, as the driver reports it", () => {
  it('reads the DRM fdinfo memory keys in the order the kernel documents them', () => {
    const amdgpu = 'drm-driver:\tamdgpu\ndrm-client-id:\t57\ndrm-pdev:\t0000:03:00.0\ndrm-memory-vram:\t409600 KiB\ndrm-memory-gtt:\t2048 KiB\ndrm-engine-gfx:\t5 ns\n';
    assert.deepEqual(drmMemoryKiB(amdgpu), { client: 'amdgpu/0000:03:00.0/57', kib: 411648 });
    const i915 = 'drm-driver:\ti915\ndrm-client-id:\t7\ndrm-total-system0:\t4096 KiB\ndrm-resident-system0:\t2 MiB\n';
    assert.deepEqual(drmMemoryKiB(i915), { client: 'i915//7', kib: 2048 }, 'resident first');
    assert.equal(drmMemoryKiB('drm-driver:\tvirtio_gpu\ndrm-client-id:\t9\n'), null, 'no memory named');
    assert.equal(drmMemoryKiB('pos:\t0\n'), null, 'not a DRM client');
  });

  it('sums a process’s DRM clients once each, from a /proc tree', () => {
    const root = mkdtempSync(join(tmpdir(), 'idleforge-gpumem-'));
    try {
      mkdirSync(join(root, '42', 'fd'), { recursive: true });
      mkdirSync(join(root, '42', 'fdinfo'), { recursive: true });
      const fd = (n: number, target: string, info: string): void => {
        symlinkSync(target, join(root, '42', 'fd', String(n)));
        writeFileSync(join(root, '42', 'fdinfo', String(n)), info);
      };
      fd(3, '/dev/dri/renderD128', 'drm-driver:\tnvidia-drm\ndrm-client-id:\t31\ndrm-total-vram:\t1048576 KiB\n');
      fd(4, '/dev/dri/renderD128', 'drm-driver:\tnvidia-drm\ndrm-client-id:\t31\ndrm-total-vram:\t1048576 KiB\n');
      fd(5, '/tmp/not-a-gpu', 'pos:\t0\n');
      assert.equal(drmProcessMemoryKiB(42, root), 1048576);
      assert.equal(drmProcessMemoryKiB(43, root), null);
      assert.ok(drmProcessMemoryKiB(process.pid) === null || (drmProcessMemoryKiB(process.pid) ?? 0) >= 0, 'this machine’s own /proc reads without throwing');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("reads NVIDIA's per-process memory (recorded output; not run on a real NVIDIA driver here)", () => {
    const out = '1234, 3071\n5678, 812\n1234, 1\n';
    assert.equal(nvidiaProcessMemoryKiB(out, 1234), 3072 * 1024);
    assert.equal(nvidiaProcessMemoryKiB(out, 9), null);
  });
});
