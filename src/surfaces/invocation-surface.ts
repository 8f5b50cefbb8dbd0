import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { invocationAccess } from '../auth/index.js';
import type { InvokeRoute, SurfaceWays } from '../frontends/http/index.js';
import type { HttpSurface, OpenApiPaths, SurfaceContext, SurfaceRoute } from './surface.js';

/**
 * A surface whose every request invokes a function: it finds the function (`match`), and the
 * HTTP front end does the rest (its own credential extractor and error rendering if it has them).
 */
export function invocationSurface(
  ctx: SurfaceContext,
  o: { name: string; routes: SurfaceRoute[]; match(req: IncomingMessage): InvokeRoute | undefined; operations(): OpenApiPaths; ways?: SurfaceWays },
): HttpSurface<InvokeRoute> {
  const http = ctx.invocations;
  return {
    name: o.name,
    routes: o.routes,
    match: o.match,
    handle: (req: IncomingMessage, res: ServerResponse, route: InvokeRoute) => http.serve(req, res, route, o.ways),
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer, route: InvokeRoute) => void http.upgrade(req, socket, head, route, o.ways),
    operations: o.operations,
  };
}

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * The OpenAPI operations of a surface that hands every method to a function: one per method,
 * the function's own answer as success. The credential is optional unless the server asks for
 * one on every invocation (`--invoke-auth token`); a function with `invoke: "token"` asks too.
 */
export function invocationOperations(o: {
  surface: string;
  path: string;
  summary: string;
  parameters: Array<{ name: string; description: string }>;
  invokeAuth: 'public' | 'token';
  servers?: Array<{ url: string; description?: string; variables?: Record<string, { default: string; description: string }> }>;
}): OpenApiPaths {
  const item: Record<string, Record<string, unknown>> = {};
  for (const m of methods) {
    item[m] = {
      operationId: `${m}${o.surface.replace(/(^|[^A-Za-z0-9]+)(.)/g, (_x, _s: string, c: string) => c.toUpperCase())}Invocation`,
      summary: o.summary,
      tags: ['invocations'],
      parameters: o.parameters.map((p) => ({ name: p.name, in: 'path', required: true, schema: { type: 'string' }, description: p.description })),
      security: o.invokeAuth === 'token' ? [{ bearer: [] }] : [{}, { bearer: [] }],
      'x-ferry-access': invocationAccess,
      ...(o.servers ? { servers: o.servers } : {}),
      ...(m === 'get' || m === 'delete' ? {} : { requestBody: { required: false, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } } }),
      responses: {
        '200': { description: "The function's answer (any status, headers and body it gives)" },
        '202': { description: 'Accepted for an asynchronous run (`Prefer: respond-async`): `{id, status, location}`' },
        default: { description: 'An error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
  }
  return { [o.path]: item };
}
