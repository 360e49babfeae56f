import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { describeMissingWebGpu, findSwiftShader, openNodeGpu, toAdapterInfo, writeSwiftShaderIcd } from './webgpu-node.js';

const scratch = mkdtempSync(join(tmpdir(), 'idleforge-webgpu-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in GPUAdapter carrying only what toAdapterInfo reads. */
const fakeAdapter = (info: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ info, ...extra }) as unknown as GPUAdapter;

describe('helpers (no GPU)', () => {
  test('describeMissingWebGpu names what to install', () => {
    const text = describeMissingWebGpu();
    assert.match(text, /^No WebGPU adapter found/);
    if (process.platform === 'linux') {
      assert.match(text, /sudo apt-get install -y chromium libvulkan1/);
      assert.match(text, /VK_ICD_FILENAMES/);
    }
  });

  test('toAdapterInfo: SwiftShader, llvmpipe and fallback adapters are software; a GPU is not', () => {
    assert.deepEqual(
      toAdapterInfo(fakeAdapter({ vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero-', description: 'SwiftShader driver 5.0.0', isFallbackAdapter: true })),
      { vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero-', description: 'SwiftShader driver 5.0.0', software: true },
    );
    assert.equal(toAdapterInfo(fakeAdapter({ vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: '' })).software, true);
    assert.equal(toAdapterInfo(fakeAdapter({ vendor: 'x', architecture: '', device: '', description: 'A CPU device' })).software, true);
    assert.equal(toAdapterInfo(fakeAdapter({ vendor: 'x', architecture: '', device: '', description: '' }, { isFallbackAdapter: true })).software, true);
    assert.deepEqual(toAdapterInfo(fakeAdapter({ vendor: 'nvidia', architecture: 'ampere', device: '', description: ' NVIDIA GeForce RTX 3080 ', isFallbackAdapter: false })), {
      vendor: 'nvidia',
      architecture: 'ampere',
      device: '',
      description: 'NVIDIA GeForce RTX 3080',
      software: false,
    });
    assert.deepEqual(toAdapterInfo(fakeAdapter({})), { vendor: '', architecture: '', device: '', description: '', software: false });
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
});

describe('openNodeGpu', () => {
  const envBefore = process.env.VK_ICD_FILENAMES;
  const icdDir = join(scratch, 'found');

  test('allowSoftware: false gives a hardware adapter or null, never a CPU one', async () => {
    const gpu = await openNodeGpu({ allowSoftware: false, icdDir });
    if (gpu) assert.equal(gpu.info.software, false);
  });

  test('finds an adapter (hardware, or SwiftShader through a written ICD file)', async () => {
    const gpu = await openNodeGpu({ icdDir });
    if (!gpu) assert.fail(describeMissingWebGpu());
    console.error(`adapter: ${JSON.stringify(gpu.info)}`);
    if (gpu.info.software && envBefore === undefined && /swiftshader/i.test(gpu.info.architecture + gpu.info.description)) {
      assert.equal(process.env.VK_ICD_FILENAMES, join(icdDir, 'swiftshader_icd.json'));
      const manifest = JSON.parse(readFileSync(join(icdDir, 'swiftshader_icd.json'), 'utf8')) as { ICD: { library_path: string } };
      assert.ok(manifest.ICD.library_path.startsWith('/'), 'absolute library path');
    }
    // The adapter makes a working device.
    const device = await gpu.adapter.requestDevice();
    assert.equal(typeof device.limits.maxStorageBufferBindingSize, 'number');
    device.destroy();
  });

  test('a second call gives a fresh adapter (each adapter makes one device)', async () => {
    const first = await openNodeGpu({ icdDir });
    const second = await openNodeGpu({ icdDir });
    if (!first || !second) assert.fail(describeMissingWebGpu());
    assert.notEqual(first.adapter, second.adapter);
    const [d1, d2] = await Promise.all([first.adapter.requestDevice(), second.adapter.requestDevice()]);
    d1.destroy();
    d2.destroy();
  });
});
