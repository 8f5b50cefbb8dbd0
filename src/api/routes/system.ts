import type { Metrics } from '../../observe/index.js';
import type { RouteDef } from '../route.js';
import { isAdmin, onFunction } from '../../auth/index.js';

/** Health, metrics and the OpenAPI document. */
export function makeSystemRoutes(deps: {
  metrics: Metrics;
  metricsPublic: boolean;
  isReady(): boolean;
  storeAway?(): boolean;
  openapi(): object;
  /** The owning group of a function, or undefined when there is none by that name. */
  ownerOf(name: string): string | undefined;
}): RouteDef[] {
  return [
    {
      method: 'GET', path: '/healthz', tag: 'system',
      summary: 'Liveness and readiness: 200 once the server serves',
      success: { status: 200, description: '`{status: "ok"}`; `{status: "degraded", store: "unavailable"}` while a NATS store is down (the node reconnects by itself, and calls to warm instances are still served)' },
      handler: async () => {
        if (!deps.isReady()) return { status: 503, body: { status: 'unavailable' } };
        return deps.storeAway?.() ? { body: { status: 'degraded', store: 'unavailable' } } : { body: { status: 'ok' } };
      },
    },
    {
      method: 'GET', path: '/v1/openapi.json', tag: 'system',
      summary: 'This API as an OpenAPI 3.1 document',
      success: { status: 200, description: 'OpenAPI 3.1' },
      handler: async () => ({ body: deps.openapi() }),
    },
    {
      method: 'GET', path: '/metrics', tag: 'system',
      summary: "Prometheus metrics (needs a token unless --metrics-public); a function's series only for who may read it",
      success: { status: 200, description: 'Prometheus text format', contentType: 'text/plain' },
      handler: async (c) => {
        // Function names are the tenants' business: a reader sees the series of the functions
        // it may read (admins: all). --metrics-public serves everything to anyone, by the
        // operator's choice.
        const p = c.principal;
        const visible = p === undefined || isAdmin(p) ? undefined : (fn: string): boolean => onFunction(p, 'read', deps.ownerOf(fn) ?? '') === 'yes';
        const text = await deps.metrics.text(visible);
        c.res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
        c.res.end(text);
        return undefined;
      },
    },
  ];
}
