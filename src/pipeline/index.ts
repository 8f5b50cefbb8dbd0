export { Pipeline, type PipelineOptions } from './pipeline.js';
export { requestIdFor } from './request-id.js';
