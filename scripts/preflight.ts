// Before the tests: is there a WebGPU adapter (a GPU, or SwiftShader from Chromium)? If not,
// say exactly how to get one instead of letting dozens of tests fail one by one.
import { describeMissingWebGpu, openNodeGpu } from '../worker/compute/webgpu-node.js';

const gpu = await openNodeGpu();
if (!gpu) {
  process.stderr.write(`\n${describeMissingWebGpu()}\n\n`);
  process.exit(1);
}
process.stdout.write(`WebGPU adapter: ${gpu.info.description || gpu.info.device || gpu.info.vendor}${gpu.info.software ? ' (software)' : ''}\n`);
process.exit(0);
