/**
 * How much GPU memory one process holds, as the driver reports it: the DRM fdinfo memory keys of
 * its DRM clients on Linux (Documentation/gpu/drm-usage-stats.rst: `drm-resident-<region>`, else
 * `drm-memory-<region>`, else `drm-total-<region>`), or NVIDIA's per-process `used_memory`. For
 * `bench handoff --real`: "freed" as the driver sees it, not only as WebGPU says.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const KIB: Record<string, number> = { '': 1 / 1024, B: 1 / 1024, KiB: 1, MiB: 1024, GiB: 1024 * 1024 };

/** KiB of GPU memory one fdinfo text reports, with its client id; null when it is no DRM client or names no memory. */
export function drmMemoryKiB(text: string): { client: string; kib: number } | null {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const id = kv.get('drm-client-id');
  if (!id) return null;
  for (const family of ['resident', 'memory', 'total']) {
    let kib = 0;
    let found = false;
    for (const [k, v] of kv) {
      if (!k.startsWith(`drm-${family}-`)) continue;
      const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/.exec(v);
      if (!m) continue;
      found = true;
      kib += Number(m[1]) * (KIB[m[2] ?? ''] ?? 0);
    }
    if (found) return { client: `${kv.get('drm-driver') ?? ''}/${kv.get('drm-pdev') ?? ''}/${id}`, kib };
  }
  return null;
}

/** KiB of GPU memory `pid` holds over its DRM clients (each counted once); null when none can be read. */
export function drmProcessMemoryKiB(pid: number, procRoot = '/proc'): number | null {
  let fds: string[];
  try {
    fds = readdirSync(`${procRoot}/${pid}/fd`);
  } catch {
    return null;
  }
  const clients = new Map<string, number>();
  for (const fd of fds) {
    try {
      if (!readlinkSync(`${procRoot}/${pid}/fd/${fd}`).startsWith('/dev/dri/')) continue;
      const m = drmMemoryKiB(readFileSync(`${procRoot}/${pid}/fdinfo/${fd}`, 'latin1'));
      if (m) clients.set(m.client, m.kib);
    } catch {
      // the fd closed while we looked
    }
  }
  return clients.size === 0 ? null : [...clients.values()].reduce((a, b) => a + b, 0);
}

/** KiB `pid` holds in `nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits` (MiB); null when absent. */
export function nvidiaProcessMemoryKiB(out: string, pid: number): number | null {
  let kib: number | null = null;
  for (const line of out.split('\n')) {
    const [p, mib] = line.split(',').map((x) => x.trim());
    if (Number(p) === pid && /^\d+$/.test(mib ?? '')) kib = (kib ?? 0) + Number(mib) * 1024;
  }
  return kib;
}
