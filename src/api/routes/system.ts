import type { Metrics } from '../../observe/index.js';
import type { RouteDef } from '../route.js';

/** Health, metrics and the OpenAPI document. */
export function makeSystemRoutes(deps: { metrics: Metrics; metricsPublic: boolean; isReady(): boolean; openapi(): object }): RouteDef[] {
  return [
    {
      method: 'GET', path: '/healthz', tag: 'system',
      summary: 'Liveness and readiness: 200 once the server serves',
      success: { status: 200, description: '`{status: "ok"}`' },
      handler: async () => (deps.isReady() ? { body: { status: 'ok' } } : { status: 503, body: { status: 'unavailable' } }),
    },
    {
      method: 'GET', path: '/v1/openapi.json', tag: 'system',
      summary: 'This API as an OpenAPI 3.1 document',
      success: { status: 200, description: 'OpenAPI 3.1' },
      handler: async () => ({ body: deps.openapi() }),
    },
    {
      method: 'GET', path: '/metrics', tag: 'system',
      summary: 'Prometheus metrics (needs a token unless --metrics-public)',
      success: { status: 200, description: 'Prometheus text format', contentType: 'text/plain' },
      handler: async (c) => {
        const text = await deps.metrics.registry.metrics();
        c.res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
        c.res.end(text);
        return undefined;
      },
    },
  ];
}
