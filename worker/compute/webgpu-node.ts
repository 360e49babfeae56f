/**
 * Finding a WebGPU adapter in Node with Dawn (npm `webgpu`).
 *
 * Order: the machine's own drivers first (Vulkan on Linux, the platform default elsewhere); then,
 * on Linux only, when nothing was found and software is allowed, SwiftShader (the CPU Vulkan
 * driver): the system's (inside Chromium), else the one npm package @sparticuz/chromium carries,
 * with a Vulkan loader where the system has none. lib/software-gpu.ts chooses them; with
 * IDLEFORGE_NO_SYSTEM_GPU=1 only the bundled ones are used, and no hardware adapter is looked for.
 *
 * Every GPU object create() returns is kept in a module-level list for the life of the process:
 * once one is garbage-collected Dawn aborts the process.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'webgpu';
import { describeAdapter } from '../../jobs/gpu-host.js';
import { BUNDLED_PACKAGE, type GpuSource, NO_SYSTEM_GPU_ENV, preloadVulkanLoader, SWIFTSHADER_PATHS, swiftShaderForDawn, systemGpuSkipped, systemVulkanDriverListed } from '../../lib/software-gpu.js';
import type { AdapterInfo } from './compute-host.js';

export interface OpenNodeGpuOptions {
  /** Use a CPU implementation (SwiftShader, llvmpipe) when no hardware adapter exists. Default true. */
  allowSoftware?: boolean;
  /** Where the SwiftShader ICD file is written. Default `os.tmpdir()/idleforge-icd-<uid>`. */
  icdDir?: string;
  /** Paths to look for libvk_swiftshader.so in, first match wins. Default SWIFTSHADER_PATHS. */
  swiftshaderPaths?: readonly string[];
  /**
   * The user's choice of GPU: parts of adapter names, tried in order (Dawn's `adapter=` filter).
   * When none matches, the best adapter found is used, as with no choice.
   */
  adapterNames?: readonly string[];
}

export interface NodeGpu {
  adapter: GPUAdapter;
  info: AdapterInfo;
  /** The GPU instance (navigator.gpu's equivalent) the adapter came from. */
  gpu: GPU;
  /** Whose SwiftShader it is, where it is the SwiftShader openNodeGpu() set up (the system's, or the bundled one). */
  swiftshader?: GpuSource;
}

/** Every GPU instance create() handed out; never dropped (see the file comment). */
const instances: GPU[] = [];
/** The instance that last produced an adapter: later calls ask it first. */
let working: GPU | null = null;
/** Whose SwiftShader `working` runs on, where it is one openNodeGpu() set up. */
let workingSource: GpuSource | undefined;

function createInstance(extraFlags: readonly string[] = []): GPU | null {
  try {
    const gpu = create([...(process.platform === 'linux' ? ['backend=vulkan'] : []), ...extraFlags]);
    instances.push(gpu);
    return gpu;
  } catch {
    return null;
  }
}

async function requestAdapter(gpu: GPU | null): Promise<GPUAdapter | null> {
  if (!gpu) return null;
  try {
    return await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch {
    return null;
  }
}

/** Maps Dawn's adapter.info to ours; `software` is true for CPU implementations. */
export const toAdapterInfo = describeAdapter;

/**
 * Vulkan's window-system code complains on stderr, once per probe, when XDG_RUNTIME_DIR is unset
 * (rigs, services, containers). Give it a private folder of its own so the output stays readable.
 */
function ensureRuntimeDir(): void {
  if (process.platform !== 'linux' || process.env.XDG_RUNTIME_DIR) return;
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  const dir = join(tmpdir(), `idleforge-runtime-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (st.isDirectory() && (typeof process.getuid !== 'function' || st.uid === process.getuid()) && (st.mode & 0o077) === 0) {
    process.env.XDG_RUNTIME_DIR = dir;
  }
}

/**
 * Finds a WebGPU adapter, hardware first, SwiftShader after (see the file comment).
 * Resolves null when nothing works; never throws.
 */
export async function openNodeGpu(opts: OpenNodeGpuOptions = {}): Promise<NodeGpu | null> {
  const allowSoftware = opts.allowSoftware ?? true;
  const accept = (adapter: GPUAdapter | null, gpu: GPU | null): NodeGpu | null => {
    if (!adapter || !gpu) return null;
    const info = toAdapterInfo(adapter);
    if (info.software && !allowSoftware) return null;
    return gpu === working && workingSource ? { adapter, info, gpu, swiftshader: workingSource } : { adapter, info, gpu };
  };
  try {
    ensureRuntimeDir();
    // A GPU instance that already worked: ask it again (an adapter serves one device only).
    if (working) {
      const found = accept(await requestAdapter(working), working);
      if (found) return found;
    }

    // IDLEFORGE_NO_SYSTEM_GPU: the system's Vulkan is never opened, so no hardware adapter either;
    // nor where no Vulkan driver is installed (Dawn would only print a warning on stderr).
    const systemSkipped = process.platform === 'linux' && (systemGpuSkipped() || !systemVulkanDriverListed());
    if (!systemSkipped) {
      for (const name of opts.adapterNames ?? []) {
        if (!/^[^=,\s][^=,]*$/.test(name)) continue;
        const chosen = createInstance([`adapter=${name}`]);
        const match = accept(await requestAdapter(chosen), chosen);
        if (match) {
          working = chosen;
          workingSource = undefined;
          return match;
        }
      }

      const hardware = createInstance();
      const found = accept(await requestAdapter(hardware), hardware);
      if (found) {
        working = hardware;
        workingSource = undefined;
        return found;
      }
    }

    if (process.platform !== 'linux' || !allowSoftware) return null;
    const vulkan = await swiftShaderForDawn({
      ...(opts.swiftshaderPaths ? { swiftshaderPaths: opts.swiftshaderPaths } : {}),
      ...(opts.icdDir ? { icdDir: opts.icdDir } : {}),
    });
    if (!vulkan) return null;
    // Before the instance: Dawn opens the loader by name, and finds this one already loaded.
    if (vulkan.loader && !preloadVulkanLoader(vulkan.loader)) return null;
    if (vulkan.icd) process.env.VK_ICD_FILENAMES = vulkan.icd;
    const software = createInstance();
    const fallback = accept(await requestAdapter(software), software);
    if (!fallback) return null;
    working = software;
    workingSource = vulkan.source;
    return { ...fallback, swiftshader: vulkan.source };
  } catch {
    return null;
  }
}

/** What a newcomer needs to do when openNodeGpu() finds nothing, in plain words. */
export function describeMissingWebGpu(): string {
  const lines = ['No WebGPU adapter found, so this machine cannot run compute tasks yet.'];
  if (process.platform === 'linux') {
    lines.push(
      'If the machine has a GPU, install its Vulkan driver and the Vulkan loader:',
      '  NVIDIA: the proprietary driver (it includes Vulkan) and libvulkan1; in a container also',
      '    libglvnd0 libegl1 libgl1 (its Vulkan driver loads through libGLX_nvidia, which needs them)',
      '  AMD or Intel: sudo apt-get install -y mesa-vulkan-drivers libvulkan1',
      '  check with: vulkaninfo --summary (package vulkan-tools)',
      'Without a GPU (a server, a container, CI), WebGPU runs on SwiftShader, a CPU Vulkan driver: slow, but it works.',
      `  Idleforge uses the system's (Chromium's, in: ${SWIFTSHADER_PATHS.join(', ')})`,
      `  or else the one npm package ${BUNDLED_PACKAGE} carries (Linux x64): run npm install in the project to get it.`,
      `  ${NO_SYSTEM_GPU_ENV}=1 uses the bundled one only.`,
      'If VK_ICD_FILENAMES is set, it is used as is: unset it, or point it at a manifest whose library_path is absolute.',
    );
  } else if (process.platform === 'win32') {
    lines.push('Update the graphics driver from NVIDIA, AMD or Intel; WebGPU runs on Direct3D 12 (Windows 10 or later).');
  } else if (process.platform === 'darwin') {
    lines.push('WebGPU needs Metal: macOS 11 or later on a Mac with Metal support.');
  } else {
    lines.push(`WebGPU for Node (Dawn) has no build for ${process.platform}.`);
  }
  return lines.join('\n');
}
