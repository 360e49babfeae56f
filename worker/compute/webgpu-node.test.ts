import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { bundledSwiftShader, systemGpuSkipped } from '../../lib/software-gpu.js';
import { describeMissingWebGpu, openNodeGpu, toAdapterInfo } from './webgpu-node.js';

const scratch = mkdtempSync(join(tmpdir(), 'idleforge-webgpu-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A stand-in GPUAdapter carrying only what toAdapterInfo reads. */
const fakeAdapter = (info: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ info, ...extra }) as unknown as GPUAdapter;

describe('helpers (no GPU)', () => {
  test('describeMissingWebGpu names what to install', () => {
    const text = describeMissingWebGpu();
    assert.match(text, /^No WebGPU adapter found/);
    if (process.platform === 'linux') {
      assert.match(text, /libvulkan1/);
      assert.match(text, /@sparticuz\/chromium/);
      assert.match(text, /IDLEFORGE_NO_SYSTEM_GPU=1/);
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
    if (systemGpuSkipped()) {
      // The switch: the bundled SwiftShader and loader, never the system's Vulkan.
      assert.equal(gpu.swiftshader, 'bundled');
      assert.equal(process.env.VK_ICD_FILENAMES, (await bundledSwiftShader())?.icd);
      const maps = readFileSync('/proc/self/maps', 'utf8');
      const loaded = [...new Set(maps.split('\n').filter((l) => /libvulkan\.so|libvk_swiftshader/.test(l)).map((l) => l.split(/\s+/).pop()))];
      assert.ok(loaded.length > 0 && loaded.every((path) => path!.includes('idleforge-chromium')), `only the bundled Vulkan is loaded: ${loaded.join(', ')}`);
    } else if (gpu.swiftshader === 'system' && envBefore === undefined) {
      assert.equal(process.env.VK_ICD_FILENAMES, join(icdDir, 'swiftshader_icd.json'));
    }
    if (gpu.swiftshader) {
      const manifest = JSON.parse(readFileSync(process.env.VK_ICD_FILENAMES!, 'utf8')) as { ICD: { library_path: string } };
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
