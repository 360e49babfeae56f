/**
 * Finding a WebGPU adapter in Node with Dawn (npm `webgpu`).
 *
 * Order: the machine's own drivers first (Vulkan on Linux, the platform default elsewhere); then,
 * on Linux only, when nothing was found, VK_ICD_FILENAMES is unset and software is allowed,
 * SwiftShader (the CPU Vulkan driver that ships inside Chromium) through an ICD file we write
 * with the library's absolute path. Chromium's own vk_swiftshader_icd.json names the library by
 * a relative path, which the Vulkan loader resolves against the working directory, so it cannot
 * be used as is.
 *
 * Every GPU object create() returns is kept in a module-level list for the life of the process:
 * once one is garbage-collected Dawn aborts the process.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'webgpu';
import { describeAdapter } from '../../jobs/gpu-host.js';
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
}

/** Where distributions put Chromium's (or Chrome's) SwiftShader Vulkan driver. */
export const SWIFTSHADER_PATHS: readonly string[] = [
  '/usr/lib/chromium/libvk_swiftshader.so', // Debian
  '/usr/lib/chromium-browser/libvk_swiftshader.so', // Ubuntu (deb), Alpine
  '/usr/lib64/chromium/libvk_swiftshader.so', // Fedora, openSUSE
  '/usr/lib64/chromium-browser/libvk_swiftshader.so', // Fedora (older)
  '/snap/chromium/current/usr/lib/chromium-browser/libvk_swiftshader.so', // Ubuntu (snap)
  '/opt/google/chrome/libvk_swiftshader.so', // Google Chrome
];

/** Every GPU instance create() handed out; never dropped (see the file comment). */
const instances: GPU[] = [];
/** The instance that last produced an adapter: later calls ask it first. */
let working: GPU | null = null;

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

/** The first SwiftShader library that exists among `paths`, or null. */
export function findSwiftShader(paths: readonly string[] = SWIFTSHADER_PATHS): string | null {
  for (const path of paths) {
    try {
      if (existsSync(path)) return path;
    } catch {
      // unreadable path: try the next
    }
  }
  return null;
}

function defaultIcdDir(): string {
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(tmpdir(), `idleforge-icd-${uid}`);
}

/**
 * Writes a Vulkan ICD manifest pointing at `library` into `dir` and returns its path. The folder
 * is created private (0700); an existing one must be a real folder owned by us and writable by
 * no one else, since whoever can change the manifest chooses the library we load.
 */
export function writeSwiftShaderIcd(library: string, dir: string = defaultIcdDir()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`);
  if (typeof process.getuid === 'function') {
    if (st.uid !== process.getuid()) throw new Error(`${dir} belongs to another user`);
    if ((st.mode & 0o022) !== 0) throw new Error(`${dir} is writable by other users`);
  }
  const file = join(dir, 'swiftshader_icd.json');
  const manifest = { file_format_version: '1.0.0', ICD: { library_path: library, api_version: '1.0.5' } };
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${JSON.stringify(manifest)}\n`, { mode: 0o600 });
  renameSync(temp, file);
  return file;
}

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
    return info.software && !allowSoftware ? null : { adapter, info, gpu };
  };
  try {
    ensureRuntimeDir();
    // A GPU instance that already worked: ask it again (an adapter serves one device only).
    if (working) {
      const found = accept(await requestAdapter(working), working);
      if (found) return found;
    }

    for (const name of opts.adapterNames ?? []) {
      if (!/^[^=,\s][^=,]*$/.test(name)) continue;
      const chosen = createInstance([`adapter=${name}`]);
      const match = accept(await requestAdapter(chosen), chosen);
      if (match) {
        working = chosen;
        return match;
      }
    }

    const hardware = createInstance();
    const found = accept(await requestAdapter(hardware), hardware);
    if (found) {
      working = hardware;
      return found;
    }

    if (process.platform !== 'linux' || !allowSoftware || process.env.VK_ICD_FILENAMES) return null;
    const library = findSwiftShader(opts.swiftshaderPaths);
    if (!library) return null;
    process.env.VK_ICD_FILENAMES = writeSwiftShaderIcd(library, opts.icdDir);
    const software = createInstance();
    const fallback = accept(await requestAdapter(software), software);
    if (fallback) working = software;
    return fallback;
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
      'Without a GPU (a server, a container, CI), install Chromium for its SwiftShader CPU driver; it is slow but works:',
      '  Debian/Ubuntu: sudo apt-get install -y chromium libvulkan1   (Ubuntu: chromium-browser)',
      '  Fedora: sudo dnf install -y chromium vulkan-loader',
      `Idleforge looks for SwiftShader in: ${SWIFTSHADER_PATHS.join(', ')}.`,
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
