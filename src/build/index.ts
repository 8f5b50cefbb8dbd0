/**
 * Dependency builds at deploy: npm and pip installs in a build sandbox, cached by their inputs.
 * The server imports lazy-builder.js directly, not this index, which loads the whole builder.
 */
export { DependencyBuilder, logTail, LOG_TAIL_BYTES, type DependencyBuilderOptions } from './dependency-builder.js';
export { LazyDependencyBuilder } from './lazy-builder.js';
export { buildLimits } from './build-sandbox.js';
export { checkSources, isLoopbackUrl, type BuildSources } from './sources.js';
export type { NodeToolchain } from './npm-plan.js';
export type { PythonToolchain } from './pip-plan.js';
