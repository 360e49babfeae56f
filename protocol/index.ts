export * from './common.js';
export * from './binary.js';
export * from './siwe.js';
export * from './http.js';
export * from './events.js';
export * from './kinds/matmul.js';
export * from './kinds/hashsearch.js';
