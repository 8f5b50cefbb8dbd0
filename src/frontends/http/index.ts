export { HttpInvocations, type SurfaceWays } from './http-invocations.js';
export { toInvocation, type CredentialExtractor, type InvokeRoute } from './to-invocation.js';
export { renderProblem, writeRawProblem } from './problem.js';
