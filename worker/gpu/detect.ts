/**
 * GPU detection for the heartbeat: what the OS reports (systeminformation's graphics()), plus the
 * WebGPU adapter the compute host runs on when that adapter is a CPU implementation (SwiftShader),
 * or when the OS reported nothing at all. Never throws: a failure reports what is known, or [].
 */
import si from 'systeminformation';
import type { GpuReport } from '../../protocol/http.js';
import type { AdapterInfo } from '../compute/compute-host.js';

/** The part of systeminformation's graphics() result we read; every field may be missing or odd. */
export interface SystemGraphics {
  controllers?: unknown;
  displays?: unknown;
}

export interface DetectGpusOptions {
  /** The adapter the compute host uses, when one was found. */
  webgpu?: AdapterInfo | null;
  /** Source of the OS's view; default systeminformation's graphics(). */
  graphics?: () => Promise<SystemGraphics>;
  /** Longest wait for graphics() (it runs lspci, nvidia-smi, WMI...). Default 15 s. */
  timeoutMs?: number;
}

/** Most entries a heartbeat may carry (HeartbeatRequestSchema). */
const MAX_GPUS = 64;
/** Longest string GpuReportSchema accepts. */
const MAX_TEXT = 200;
/** Larger VRAM sizes than this (16 TiB) are garbage, not GPUs. */
const MAX_VRAM_MIB = 16 * 1024 * 1024;

/**
 * Display-only adapters: virtual machine and remote-desktop displays, and the BMC VGA chips of
 * server boards. They run no compute, so reporting them as GPUs would mislead the hub.
 */
const DISPLAY_ONLY =
  /basic display|remote display|indirect display|virtual display|\bvirtual\b.*\b(display|graphics|video|adapter)\b|vmware svga|svga ii|virtualbox|vboxvga|vboxsvga|hyper-v|\bqxl\b|virtio.?gpu|cirrus|\bbochs\b|parsec|citrix|spacedesk|aspeed|matrox.*g200|mga g200|displaylink|mirage driver|idd(cx)? ?driver/i;

/** CPU implementations that may show up as controllers (WARP on Windows, llvmpipe). */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|basic render|\bwarp\b/i;

function text(value: unknown): string {
  if (typeof value !== 'string') return '';
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);
}

/** Short, stable vendor names, so the hub can group reports: "NVIDIA Corporation" → "NVIDIA". */
export function normalizeVendor(vendor: string, model = ''): string {
  const v = text(vendor);
  const both = `${v} ${text(model)}`;
  if (/nvidia|geforce|quadro|tesla/i.test(both)) return 'NVIDIA';
  if (/advanced micro devices|\bamd\b|\bati\b|radeon/i.test(both)) return 'AMD';
  if (/intel/i.test(both)) return 'Intel';
  if (/apple/i.test(both)) return 'Apple';
  if (/qualcomm|adreno/i.test(both)) return 'Qualcomm';
  if (/\barm\b|mali/i.test(both)) return 'ARM';
  if (/google|swiftshader/i.test(both)) return 'Google';
  if (/microsoft/i.test(both)) return 'Microsoft';
  return v || 'Unknown';
}

function mib(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > MAX_VRAM_MIB) return null;
  return Math.round(n);
}

/** One controller of graphics() as a GpuReport, or null when it is empty or display-only. */
export function normalizeController(raw: unknown): GpuReport | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const c = raw as Record<string, unknown>;
  // nvidia-smi data comes as `name`; lspci/WMI data as `model`.
  const model = text(c.model) || text(c.name);
  if (!model) return null;
  const rawVendor = text(c.vendor);
  if (DISPLAY_ONLY.test(model) || DISPLAY_ONLY.test(rawVendor)) return null;
  return {
    vendor: normalizeVendor(rawVendor, model),
    model,
    // vram is MiB (systeminformation's "MB"); memoryTotal is nvidia-smi's MiB.
    vramMiB: mib(c.vram) ?? mib(c.memoryTotal),
    driver: text(c.driverVersion) || null,
    software: SOFTWARE.test(model) || SOFTWARE.test(rawVendor),
  };
}

/** The WebGPU adapter as a GpuReport. */
export function adapterReport(info: AdapterInfo): GpuReport {
  const names = [info.description, info.device, info.architecture].map(text);
  if (info.software) {
    const all = `${info.vendor} ${names.join(' ')}`;
    const name = /swiftshader/i.test(all) ? 'SwiftShader' : /llvmpipe/i.test(all) ? 'llvmpipe' : /lavapipe/i.test(all) ? 'lavapipe' : names.find(Boolean) || 'Software renderer';
    return { vendor: normalizeVendor(info.vendor, name), model: `${name} (CPU)`.slice(0, MAX_TEXT), vramMiB: null, driver: text(info.description) || null, software: true };
  }
  // Dawn puts the GPU's name in `device` ("nvidia-h200") and the driver in `description`
  // ("NVIDIA: 580.159.04 580.159.4.0"); browsers may leave `device` empty.
  const device = text(info.device);
  const description = text(info.description);
  const model = device || description || text(info.architecture) || 'WebGPU adapter';
  return { vendor: normalizeVendor(info.vendor, model), model, vramMiB: null, driver: device ? description || null : null, software: false };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The GPUs of this machine, for the heartbeat; never throws. */
export async function detectGpus(opts: DetectGpusOptions = {}): Promise<GpuReport[]> {
  try {
    let controllers: unknown = [];
    try {
      const graphics = opts.graphics ?? (() => si.graphics() as Promise<SystemGraphics>);
      const data = await withTimeout(Promise.resolve().then(graphics), opts.timeoutMs ?? 15_000);
      controllers = typeof data === 'object' && data !== null ? data.controllers : [];
    } catch {
      controllers = [];
    }
    const reports: GpuReport[] = [];
    if (Array.isArray(controllers)) {
      for (const raw of controllers) {
        const report = normalizeController(raw);
        if (report) reports.push(report);
      }
    }
    const info = opts.webgpu;
    if (info) {
      // A hardware adapter is one of the controllers already; name it only when the OS did not.
      if (info.software) {
        if (!reports.some((r) => r.software && r.model === adapterReport(info).model)) reports.push(adapterReport(info));
      } else if (!reports.some((r) => !r.software)) {
        reports.push(adapterReport(info));
      }
    }
    return reports.slice(0, MAX_GPUS);
  } catch {
    return [];
  }
}
