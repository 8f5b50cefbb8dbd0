export { Pipeline, type PipelineOptions } from './pipeline.js';
export { isFerryCredential } from './credentials.js';
export { requestIdFor } from './request-id.js';
