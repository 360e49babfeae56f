// Before the tests: is there a WebGPU adapter (a GPU, or SwiftShader: the system's, or the one
// npm package @sparticuz/chromium carries) and a Chromium for the browser tests? If not, say
// exactly what to do instead of letting dozens of tests fail one by one. The first run on a
// machine unpacks the bundled copies here (lib/software-gpu.ts), once, before the tests run two
// at a time.
import { describeMissingWebGpu, openNodeGpu } from '../worker/compute/webgpu-node.js';
import { findChromium, NO_SYSTEM_GPU_ENV, systemGpuSkipped } from '../lib/software-gpu.js';

const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

if (systemGpuSkipped()) process.stdout.write(`${NO_SYSTEM_GPU_ENV} is set: the system's Chromium and Vulkan are not used\n`);
let start = performance.now();
const gpu = await openNodeGpu();
if (!gpu) {
  process.stderr.write(`\n${describeMissingWebGpu()}\n\n`);
  process.exit(1);
}
const whose = gpu.swiftshader ? `, ${gpu.swiftshader === 'bundled' ? 'the bundled' : "the system's"} SwiftShader` : '';
process.stdout.write(`WebGPU adapter: ${gpu.info.description || gpu.info.device || gpu.info.vendor}${gpu.info.software ? ` (software${whose})` : ''}, found in ${seconds(start)}\n`);

start = performance.now();
try {
  const chromium = await findChromium();
  process.stdout.write(`Chromium: ${chromium.executablePath} (${chromium.source === 'bundled' ? 'bundled' : "the system's"}), found in ${seconds(start)}\n`);
} catch (error) {
  process.stderr.write(`\n${(error as Error).message}\n\n`);
  process.exit(1);
}
process.exit(0);
