import { invocationAccess } from '../../auth/index.js';
import type { InvokeRoute } from '../../frontends/http/index.js';
import type { HttpSurface, SurfaceContext } from '../surface.js';
import { invocationOperations, invocationSurface } from '../invocation-surface.js';
import { parseFnPath } from './fn-path.js';

/** `/fn/{name}[@{ref}]/...`: every method and path below it reaches the function. */
export function fnSurface(ctx: SurfaceContext): HttpSurface<InvokeRoute> {
  return invocationSurface(ctx, {
    name: 'fn',
    routes: [{ method: '*', path: '/fn/{name}/{path}', rest: true, access: invocationAccess }],
    match: (req) => parseFnPath(req.url ?? '/'),
    operations: () =>
      invocationOperations({
        surface: 'fn',
        path: '/fn/{name}/{path}',
        summary: 'Invoke the function: the method, the rest of the path, the query, the headers and the body reach it',
        parameters: [
          { name: 'name', description: 'the function, or `name@ref` for a version or alias' },
          { name: 'path', description: 'the path the function sees (may be empty, may hold `/`)' },
        ],
        invokeAuth: ctx.options.invokeAuth,
      }),
  });
}
