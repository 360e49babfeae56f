export * from './types.js';
export * as matmul from './matmul/index.js';
