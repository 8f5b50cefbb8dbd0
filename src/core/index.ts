export * from './manifest.js';
export * from './records.js';
export * from './names.js';
export * from './config.js';
export type * from './store.js';
export type * from './invocation.js';
export type * from './sandbox.js';
export type * from './runtime.js';
export type * from './pool.js';
