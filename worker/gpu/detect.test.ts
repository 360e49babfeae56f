import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GpuReportSchema } from '../../protocol/http.js';
import type { AdapterInfo } from '../compute/compute-host.js';
import { adapterReport, detectGpus, normalizeController, normalizeVendor, type SystemGraphics } from './detect.js';

const fake = (controllers: unknown, displays: unknown = []) => async (): Promise<SystemGraphics> => ({ controllers, displays });

// Shapes as systeminformation 5 returns them.
const NVIDIA_LINUX = {
  vendor: 'NVIDIA Corporation',
  model: 'GA102 [GeForce RTX 3080]',
  bus: 'Onboard',
  busAddress: '01:00.0',
  vram: 10240,
  vramDynamic: false,
  driverVersion: '550.54.14',
  name: 'NVIDIA GeForce RTX 3080',
  memoryTotal: 10240,
  temperatureGpu: 41,
};
const AMD_LINUX = {
  vendor: 'Advanced Micro Devices, Inc. [AMD/ATI]',
  model: 'Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]',
  bus: 'PCIe',
  vram: 16384,
  vramDynamic: false,
};
const INTEL_WINDOWS = {
  vendor: 'Intel Corporation',
  model: 'Intel(R) UHD Graphics 630',
  bus: '',
  vram: 1024,
  vramDynamic: true,
  driverVersion: '31.0.101.2111',
  subDeviceId: '8694103C',
};
const APPLE = { vendor: 'Apple', model: 'Apple M2 Pro', bus: 'Built-In', vram: null, vramDynamic: true, cores: 19, metalVersion: 'Metal 3' };
const SWIFTSHADER: AdapterInfo = {
  vendor: 'google',
  architecture: 'swiftshader',
  device: 'swiftshader-device-subzero-',
  description: 'SwiftShader driver 5.0.0',
  software: true,
};
const HW_ADAPTER: AdapterInfo = { vendor: 'nvidia', architecture: 'ampere', device: '', description: 'NVIDIA GeForce RTX 3080', software: false };

function assertValid(reports: unknown[]): void {
  for (const r of reports) GpuReportSchema.parse(r);
}

describe('detectGpus', () => {
  test('NVIDIA, AMD, Intel and Apple controllers are normalized', async () => {
    const gpus = await detectGpus({ graphics: fake([NVIDIA_LINUX, AMD_LINUX, INTEL_WINDOWS, APPLE]) });
    assertValid(gpus);
    assert.deepEqual(gpus, [
      { vendor: 'NVIDIA', model: 'GA102 [GeForce RTX 3080]', vramMiB: 10240, driver: '550.54.14', software: false },
      { vendor: 'AMD', model: 'Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]', vramMiB: 16384, driver: null, software: false },
      { vendor: 'Intel', model: 'Intel(R) UHD Graphics 630', vramMiB: 1024, driver: '31.0.101.2111', software: false },
      { vendor: 'Apple', model: 'Apple M2 Pro', vramMiB: null, driver: null, software: false },
    ]);
  });

  test('nvidia-smi style entries (name, memoryTotal) are read when model and vram are missing', async () => {
    const gpus = await detectGpus({ graphics: fake([{ vendor: 'NVIDIA', model: '', name: ' NVIDIA A100-SXM4-80GB ', memoryTotal: 81920, vram: null }]) });
    assert.deepEqual(gpus, [{ vendor: 'NVIDIA', model: 'NVIDIA A100-SXM4-80GB', vramMiB: 81920, driver: null, software: false }]);
  });

  test('two identical cards stay two entries', async () => {
    const gpus = await detectGpus({ graphics: fake([NVIDIA_LINUX, NVIDIA_LINUX]) });
    assert.equal(gpus.length, 2);
  });

  test('strings are trimmed and collapsed, vram rounded; zero or absurd vram is unknown', async () => {
    const gpus = await detectGpus({
      graphics: fake([
        { vendor: '  Intel Corporation\n', model: '\tIris  Xe Graphics ', vram: 127.6, driverVersion: '  ' },
        { vendor: 'AMD', model: 'Radeon 780M', vram: 0 },
        { vendor: 'AMD', model: 'Radeon RX 7900', vram: 1e12 },
        { vendor: 'AMD', model: 'Radeon RX 7600', vram: '8192' },
        { vendor: 'AMD', model: 'Radeon RX 7700', vram: -1 },
      ]),
    });
    assertValid(gpus);
    assert.deepEqual(
      gpus.map((g) => [g.vendor, g.model, g.vramMiB, g.driver]),
      [
        ['Intel', 'Iris Xe Graphics', 128, null],
        ['AMD', 'Radeon 780M', null, null],
        ['AMD', 'Radeon RX 7900', null, null],
        ['AMD', 'Radeon RX 7600', 8192, null],
        ['AMD', 'Radeon RX 7700', null, null],
      ],
    );
  });

  test('empty and virtual display adapters are dropped', async () => {
    const gpus = await detectGpus({
      graphics: fake([
        { vendor: '', model: '', vram: null },
        { vendor: 'Microsoft', model: 'Microsoft Basic Display Adapter', vram: 0 },
        { vendor: 'Microsoft', model: 'Microsoft Remote Display Adapter' },
        { vendor: 'VMware', model: 'SVGA II Adapter', vram: 8 },
        { vendor: 'InnoTek Systemberatung GmbH', model: 'VirtualBox Graphics Adapter' },
        { vendor: 'Red Hat, Inc.', model: 'QXL paravirtual graphic card' },
        { vendor: 'ASPEED Technology, Inc.', model: 'ASPEED Graphics Family', vram: 64 },
        { vendor: 'Parsec Cloud, Inc.', model: 'Parsec Virtual Display Adapter' },
        { vendor: 'Intel Corporation', model: '   ' },
        NVIDIA_LINUX,
      ]),
    });
    assert.deepEqual(gpus.map((g) => g.model), ['GA102 [GeForce RTX 3080]']);
  });

  test('garbage shapes give [] and never throw', async () => {
    for (const data of [
      null,
      undefined,
      42,
      'text',
      {},
      { controllers: null },
      { controllers: 'nope' },
      { controllers: {} },
      { controllers: [null, 1, 'x', [], {}, { model: 5 }, { model: { a: 1 } }, { vendor: 'NVIDIA' }] },
    ]) {
      const gpus = await detectGpus({ graphics: async () => data as SystemGraphics });
      assert.deepEqual(gpus, [], `for ${JSON.stringify(data)}`);
    }
  });

  test('a graphics() that throws, rejects or hangs gives []', async () => {
    assert.deepEqual(await detectGpus({ graphics: () => { throw new Error('boom'); } }), []);
    assert.deepEqual(await detectGpus({ graphics: async () => { throw new Error('boom'); } }), []);
    assert.deepEqual(await detectGpus({ graphics: () => new Promise(() => {}), timeoutMs: 20 }), []);
  });

  test('very long strings are cut to what the schema allows', async () => {
    const gpus = await detectGpus({ graphics: fake([{ vendor: 'X'.repeat(500), model: 'M'.repeat(500), driverVersion: 'D'.repeat(500) }]) });
    assertValid(gpus);
    assert.equal(gpus[0]?.model.length, 200);
  });

  test('a SwiftShader adapter is appended as a software GPU', async () => {
    const gpus = await detectGpus({ webgpu: SWIFTSHADER, graphics: fake([]) });
    assertValid(gpus);
    assert.deepEqual(gpus, [{ vendor: 'Google', model: 'SwiftShader (CPU)', vramMiB: null, driver: 'SwiftShader driver 5.0.0', software: true }]);
    const withCard = await detectGpus({ webgpu: SWIFTSHADER, graphics: fake([INTEL_WINDOWS]) });
    assert.deepEqual(withCard.map((g) => [g.model, g.software]), [
      ['Intel(R) UHD Graphics 630', false],
      ['SwiftShader (CPU)', true],
    ]);
  });

  test('a hardware adapter adds nothing when the OS saw a card, and names the GPU when it saw none', async () => {
    assert.deepEqual(await detectGpus({ webgpu: HW_ADAPTER, graphics: fake([NVIDIA_LINUX]) }), [
      { vendor: 'NVIDIA', model: 'GA102 [GeForce RTX 3080]', vramMiB: 10240, driver: '550.54.14', software: false },
    ]);
    assert.deepEqual(await detectGpus({ webgpu: HW_ADAPTER, graphics: fake([]) }), [
      { vendor: 'NVIDIA', model: 'NVIDIA GeForce RTX 3080', vramMiB: null, driver: null, software: false },
    ]);
    assert.deepEqual(await detectGpus({ webgpu: HW_ADAPTER, graphics: async () => { throw new Error('no lspci'); } }), [
      { vendor: 'NVIDIA', model: 'NVIDIA GeForce RTX 3080', vramMiB: null, driver: null, software: false },
    ]);
    assert.deepEqual(await detectGpus({ webgpu: null, graphics: fake([]) }), []);
    // What Dawn reported on an H200 (Vulkan): the name in `device`, the driver in `description`.
    const dawnH200: AdapterInfo = { vendor: 'nvidia', architecture: '', device: 'nvidia-h200', description: 'NVIDIA: 580.159.04 580.159.4.0', software: false };
    assert.deepEqual(await detectGpus({ webgpu: dawnH200, graphics: fake([]) }), [
      { vendor: 'NVIDIA', model: 'nvidia-h200', vramMiB: null, driver: 'NVIDIA: 580.159.04 580.159.4.0', software: false },
    ]);
  });

  test('the real systeminformation runs and its result fits the schema', async () => {
    const gpus = await detectGpus();
    assert.ok(Array.isArray(gpus));
    assertValid(gpus);
  });
});

describe('helpers', () => {
  test('normalizeVendor', () => {
    assert.equal(normalizeVendor('NVIDIA Corporation'), 'NVIDIA');
    assert.equal(normalizeVendor('Advanced Micro Devices, Inc. [AMD/ATI]'), 'AMD');
    assert.equal(normalizeVendor('ATI Technologies Inc.'), 'AMD');
    assert.equal(normalizeVendor('', 'Radeon RX 580'), 'AMD');
    assert.equal(normalizeVendor('Intel Corporation'), 'Intel');
    assert.equal(normalizeVendor('Moore Threads'), 'Moore Threads');
    assert.equal(normalizeVendor('  '), 'Unknown');
  });

  test('normalizeController marks software renderers', () => {
    assert.equal(normalizeController({ vendor: 'Microsoft', model: 'Microsoft Basic Render Driver' })?.software, true);
    assert.equal(normalizeController({ vendor: 'Mesa', model: 'llvmpipe (LLVM 15.0.6, 256 bits)' })?.software, true);
  });

  test('adapterReport for llvmpipe and an unnamed hardware adapter', () => {
    assert.equal(adapterReport({ vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 15)', description: '', software: true }).model, 'llvmpipe (CPU)');
    assert.equal(adapterReport({ vendor: '', architecture: '', device: '', description: '', software: false }).model, 'WebGPU adapter');
  });
});
