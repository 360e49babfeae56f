export * from './types.js';
export * as matmul from './matmul/index.js';
export * as hashsearch from './hashsearch/index.js';
