export type { HttpSurface, OpenApiPaths, SurfaceContext, SurfaceFactory, SurfaceRoute } from './surface.js';
export { dispatcher, type Dispatch } from './dispatch.js';
export { parseSurfaceListen, planListeners, type ListenAddress, type ListenerPlan } from './listener-plan.js';
export { surfacesDocument } from './openapi.js';
export { rateGate, type Gate } from './rate-gate.js';
