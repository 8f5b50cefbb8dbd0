export { Pipeline, type PipelineOptions } from './pipeline.js';
export { httpRequestId, requestIdFor } from './request-id.js';
export type { FunctionRateLimits } from './rate-limit.js';
export { DelegatingWriter } from './delegating-writer.js';
