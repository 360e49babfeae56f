export { TILE, MATMUL_WGSL } from './shader.js';
export { runMatmul, rowsPerSlice, DEFAULT_SLICE_MACS } from './host.js';
export { matmulReference, matmulWorkUnits, checkSizes, type MatmulDims } from './reference.js';
export { verifyMatmul, FREIVALDS_ROUNDS, TOLERANCE_FACTOR, COLUMN_BLOCK, NOISE_SIGMAS } from './verify.js';
