import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import {
  bundledPackage,
  bundledSwiftShader,
  cacheRoot,
  extractTar,
  findChromium,
  findSwiftShader,
  swiftShaderForDawn,
  systemGpuSkipped,
  systemVulkanDriverListed,
  vulkanManifestDirs,
  unpackOnce,
  writeSwiftShaderIcd,
} from './software-gpu.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'idleforge-software-gpu-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const bundledHere = process.platform === 'linux' && process.arch === 'x64';

/** A ustar archive of `entries` (type '0' file, '5' folder, '2' link). */
function tar(entries: { name: string; type?: string; body?: string; mode?: number }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100);
    h.write(`${(e.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
    h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write(e.type ?? '0', 156);
    h.write('ustar\0', 257);
    h.write('        ', 148);
    h.write(`${h.reduce((s, b) => s + b, 0).toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...blocks, Buffer.alloc(1024)]);
}

describe('the switch and the system parts', () => {
  test('IDLEFORGE_NO_SYSTEM_GPU: set to anything but 0 or false', () => {
    assert.equal(systemGpuSkipped({}), false);
    assert.equal(systemGpuSkipped({ IDLEFORGE_NO_SYSTEM_GPU: '' }), false);
    assert.equal(systemGpuSkipped({ IDLEFORGE_NO_SYSTEM_GPU: '0' }), false);
    assert.equal(systemGpuSkipped({ IDLEFORGE_NO_SYSTEM_GPU: 'false' }), false);
    assert.equal(systemGpuSkipped({ IDLEFORGE_NO_SYSTEM_GPU: '1' }), true);
    assert.equal(systemGpuSkipped({ IDLEFORGE_NO_SYSTEM_GPU: 'yes' }), true);
  });

  test('a system Vulkan driver is listed by a manifest in the loader’s folders, or by its variables', () => {
    const root = join(scratch, 'vk');
    const env = { HOME: join(root, 'home'), XDG_DATA_DIRS: join(root, 'share'), XDG_CONFIG_DIRS: join(root, 'xdg') };
    const dirs = vulkanManifestDirs(env);
    assert.deepEqual(dirs, [join(root, 'home/.config/vulkan/icd.d'), join(root, 'xdg/vulkan/icd.d'), '/etc/vulkan/icd.d', join(root, 'home/.local/share/vulkan/icd.d'), join(root, 'share/vulkan/icd.d')]);
    const ours = dirs.filter((d) => d.startsWith(root));
    assert.equal(systemVulkanDriverListed(env, ours), false, 'no folders');
    mkdirSync(ours[3]!, { recursive: true });
    writeFileSync(join(ours[3]!, 'README'), '');
    assert.equal(systemVulkanDriverListed(env, ours), false, 'a folder without a manifest');
    writeFileSync(join(ours[3]!, 'nvidia_icd.json'), '{}');
    assert.equal(systemVulkanDriverListed(env, ours), true, 'a manifest');
    assert.equal(systemVulkanDriverListed({ VK_ICD_FILENAMES: '/x/icd.json' }, []), true, 'VK_ICD_FILENAMES');
    assert.equal(systemVulkanDriverListed({ VK_DRIVER_FILES: '/x/icd.json' }, []), true, 'VK_DRIVER_FILES');
  });

  test('findSwiftShader returns the first path that exists, or null', () => {
    const lib = join(scratch, 'libvk_swiftshader.so');
    writeFileSync(lib, '');
    assert.equal(findSwiftShader([join(scratch, 'nope.so'), lib]), lib);
    assert.equal(findSwiftShader([join(scratch, 'nope.so')]), null);
    assert.equal(findSwiftShader([]), null);
  });

  test('writeSwiftShaderIcd writes a manifest with the absolute library path into a private folder', () => {
    const dir = join(scratch, 'icd');
    const file = writeSwiftShaderIcd('/usr/lib/chromium/libvk_swiftshader.so', dir);
    assert.equal(file, join(dir, 'swiftshader_icd.json'));
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), {
      file_format_version: '1.0.0',
      ICD: { library_path: '/usr/lib/chromium/libvk_swiftshader.so', api_version: '1.0.5' },
    });
    if (process.platform !== 'win32') assert.equal(statSync(dir).mode & 0o777, 0o700);
    // Rewriting is fine.
    assert.equal(writeSwiftShaderIcd('/other/libvk_swiftshader.so', dir), file);
    assert.match(readFileSync(file, 'utf8'), /\/other\/libvk_swiftshader\.so/);
  });

  test('writeSwiftShaderIcd refuses a folder others may write to', { skip: process.platform === 'win32' }, () => {
    const dir = join(scratch, 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    assert.throws(() => writeSwiftShaderIcd('/usr/lib/chromium/libvk_swiftshader.so', dir), /writable by other users/);
  });

  test("findChromium: the system's where it is, unless the switch is set", { skip: !bundledHere }, async () => {
    const fake = join(scratch, 'chromium');
    writeFileSync(fake, '');
    const system = await findChromium({ env: { PATH: '/usr/bin' }, systemPaths: [join(scratch, 'none'), fake] });
    assert.deepEqual(system, { executablePath: fake, env: { PATH: '/usr/bin' }, source: 'system' });
    const skipped = await findChromium({ env: { PATH: '/usr/bin', IDLEFORGE_NO_SYSTEM_GPU: '1', LD_LIBRARY_PATH: '/x' }, systemPaths: [fake] });
    assert.equal(skipped.source, 'bundled');
    assert.ok(existsSync(skipped.executablePath));
    assert.equal(skipped.env.PATH, '/usr/bin');
    assert.match(skipped.env.LD_LIBRARY_PATH!, /idleforge-chromium\/[^:]+\/chromium\/lib:\/x$/);
    assert.ok(existsSync(join(skipped.env.LD_LIBRARY_PATH!.split(':')[0]!, 'libnss3.so')), "Chromium's NSS libraries come along");
    assert.match(readFileSync(skipped.env.FONTCONFIG_FILE!, 'utf8'), /<dir>[^<]*chromium\/fonts<\/dir>/);
    // No system Chromium at all: the bundled one, switch or not.
    assert.equal((await findChromium({ env: {}, systemPaths: [] })).executablePath, skipped.executablePath);
  });
});

describe('unpacking', () => {
  test('extractTar writes files and folders with their modes, and refuses paths outside and links', () => {
    const dest = join(scratch, 'tar');
    extractTar(
      tar([
        { name: 'fonts/', type: '5', mode: 0o755 },
        { name: 'fonts/a.ttf', body: 'font' },
        { name: 'lib.so', body: 'x'.repeat(700), mode: 0o755 },
      ]),
      dest,
    );
    assert.equal(readFileSync(join(dest, 'fonts', 'a.ttf'), 'utf8'), 'font');
    assert.equal(readFileSync(join(dest, 'lib.so'), 'utf8').length, 700);
    assert.equal(statSync(join(dest, 'lib.so')).mode & 0o777, 0o755);
    assert.throws(() => extractTar(tar([{ name: '../evil', body: 'x' }]), dest), /outside/);
    assert.throws(() => extractTar(tar([{ name: 'link', type: '2' }]), dest), /type "2"/);
    assert.equal(existsSync(join(scratch, 'evil')), false);
  });

  test('unpackOnce: two at once make one whole folder, and a failure leaves nothing behind', async () => {
    const target = join(scratch, 'cache', 'v1', 'part');
    let fills = 0;
    const fill = async (dir: string): Promise<void> => {
      fills++;
      writeFileSync(join(dir, 'a'), 'a');
      await new Promise((r) => setTimeout(r, 50));
      writeFileSync(join(dir, 'b'), 'b');
    };
    const [x, y] = await Promise.all([unpackOnce(target, fill), unpackOnce(target, fill)]);
    assert.equal(x, target);
    assert.equal(y, target);
    assert.equal(fills, 2, 'both raced; one folder won');
    assert.deepEqual(readdirSync(target).sort(), ['a', 'b']);
    assert.deepEqual(readdirSync(join(scratch, 'cache', 'v1')), ['part'], 'no temporary folder left');
    // Already there: nothing is unpacked again.
    await unpackOnce(target, () => Promise.reject(new Error('not called')));
    const broken = join(scratch, 'cache', 'v1', 'broken');
    await assert.rejects(unpackOnce(broken, () => Promise.reject(new Error('disk full'))), /disk full/);
    assert.deepEqual(readdirSync(join(scratch, 'cache', 'v1')), ['part']);
  });

  test('the cache folder: IDLEFORGE_GPU_CACHE, else node_modules/.cache', { skip: !bundledHere }, () => {
    const pkg = bundledPackage();
    assert.ok(pkg, 'npm install brought @sparticuz/chromium');
    assert.equal(cacheRoot(pkg, { IDLEFORGE_GPU_CACHE: join(scratch, 'c') }), join(scratch, 'c'));
    assert.equal(cacheRoot(pkg, {}), join(ROOT, 'node_modules', '.cache', 'idleforge-chromium'));
  });
});

describe('the bundled SwiftShader and Chromium', { skip: !bundledHere }, () => {
  test('the bundled ICD names the bundled SwiftShader by its absolute path; the loader is beside it', async () => {
    const bundled = await bundledSwiftShader();
    assert.ok(bundled);
    const manifest = JSON.parse(readFileSync(bundled.icd, 'utf8')) as { ICD: { library_path: string } };
    assert.equal(manifest.ICD.library_path, bundled.library);
    assert.ok(existsSync(bundled.library));
    assert.ok(existsSync(bundled.loader));
    assert.deepEqual(await swiftShaderForDawn({ env: { IDLEFORGE_NO_SYSTEM_GPU: '1' } }), { source: 'bundled', icd: bundled.icd, loader: bundled.loader });
  });

  test('Dawn in a process with the switch loads the bundled Vulkan loader and SwiftShader only', async () => {
    const script = [
      "import { readFileSync } from 'node:fs';",
      "import { openNodeGpu } from './worker/compute/webgpu-node.ts';",
      'const gpu = await openNodeGpu();',
      "const maps = readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => /libvulkan|libvk_swiftshader/.test(l)).map((l) => l.split(/\\s+/).pop());",
      'console.log(JSON.stringify({ info: gpu?.info, swiftshader: gpu?.swiftshader, maps: [...new Set(maps)] }));',
      'process.exit(0);',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, IDLEFORGE_NO_SYSTEM_GPU: '1' },
      timeout: 60_000,
    });
    const seen = JSON.parse(stdout.trim().split('\n').pop()!) as { info?: { architecture: string; software: boolean }; swiftshader?: string; maps: string[] };
    assert.equal(seen.info?.architecture, 'swiftshader');
    assert.equal(seen.swiftshader, 'bundled');
    assert.equal(seen.maps.length, 2, seen.maps.join(', '));
    for (const path of seen.maps) assert.match(path, /idleforge-chromium\/[^/]+\/swiftshader\//);
  });

  test('the bundled Chromium gives a page on 127.0.0.1 a WebGPU adapter on SwiftShader', { timeout: 120_000 }, async () => {
    const launch = await findChromium({ env: { ...process.env, IDLEFORGE_NO_SYSTEM_GPU: '1' } });
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>webgpu</title>'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const browser = await chromium.launch({
      executablePath: launch.executablePath,
      env: launch.env,
      args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--no-sandbox'],
    });
    try {
      const page = await browser.newPage();
      const address = server.address();
      assert.ok(address && typeof address === 'object');
      await page.goto(`http://127.0.0.1:${address.port}/`);
      const adapter = await page.evaluate(async () => {
        const a = await navigator.gpu?.requestAdapter();
        if (!a) return null;
        const device = await a.requestDevice();
        device.destroy();
        return { vendor: a.info.vendor, architecture: a.info.architecture };
      });
      assert.deepEqual(adapter, { vendor: 'google', architecture: 'swiftshader' });
    } finally {
      await browser.close();
      server.close();
    }
  });
});
