export * from './types.js';
export * as matmul from './matmul/index.js';
export * as hashsearch from './hashsearch/index.js';
export * as render from './render/index.js';
export * as benchmark from './benchmark/index.js';
export { startGpuSession, type GpuSession, type OpenedDevice } from './session.js';
export { requestComputeDevice, isSoftwareInfo } from './gpu.js';
export { KernelDevice } from './device.js';
export { SLICE_TARGET_MS, measuredRate } from './slices.js';
