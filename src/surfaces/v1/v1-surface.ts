import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiOperations, createApi } from '../../api/index.js';
import type { HttpSurface, SurfaceContext } from '../surface.js';
import { apiCorsPolicy, applyApiCors } from './api-cors.js';

/**
 * The management API: `/v1/...`, `/healthz` and `/metrics`, its route table in `api/routes/`,
 * its rows in `auth/route-access.ts`. Bearer tokens in `Authorization`; errors as problem+json.
 * With `--cors-origin`, pages of those origins may call it from a browser.
 */
export function v1Surface(ctx: SurfaceContext): HttpSurface<true> {
  const router = createApi({ ...ctx.services, openapi: ctx.openapi });
  const cors = apiCorsPolicy(ctx.options);
  return {
    name: 'v1',
    routes: router.accessTable.map(({ def, access }) => ({ method: def.method, path: def.path, ...(def.rest ? { rest: true } : {}), access })),
    match: (req: IncomingMessage) => (router.serves(req.url ?? '/') ? true : undefined),
    handle: (req: IncomingMessage, res: ServerResponse) => (cors && applyApiCors(cors, req, res) ? Promise.resolve() : router.handle(req, res)),
    operations: () => apiOperations(router.accessTable),
  };
}
