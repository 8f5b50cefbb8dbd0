import { invocationAccess } from '../../auth/index.js';
import type { InvokeRoute } from '../../frontends/http/index.js';
import type { HttpSurface, SurfaceContext } from '../surface.js';
import { invocationOperations, invocationSurface } from '../invocation-surface.js';
import { parseHost } from './host-name.js';

/**
 * Host-name routing (`--domain D`): `{name}.D` and `{ref}.{name}.D`, every method and path.
 * Off without a domain.
 */
export function hostSurface(ctx: SurfaceContext): HttpSurface<InvokeRoute> | undefined {
  const domain = ctx.options.domain?.toLowerCase();
  if (!domain) return undefined;
  return invocationSurface(ctx, {
    name: 'host',
    routes: [
      { method: '*', host: `{name}.${domain}`, path: '/{path}', rest: true, access: invocationAccess },
      { method: '*', host: `{ref}.{name}.${domain}`, path: '/{path}', rest: true, access: invocationAccess },
    ],
    match: (req) => parseHost(req.headers.host, domain, req.url ?? '/'),
    // Each function is an origin of its own here: its pages keep their cookies and storage.
    ways: { ownOrigin: true },
    operations: () =>
      invocationOperations({
        surface: 'host',
        path: '/{path}',
        summary: `Invoke the function named by the host: {name}.${domain}, or {ref}.{name}.${domain} for a version or alias`,
        parameters: [{ name: 'path', description: 'the path the function sees (may be empty, may hold `/`)' }],
        invokeAuth: ctx.options.invokeAuth,
        servers: [{ url: `http://{function}.${domain}`, description: 'the function (or `{ref}.{name}`) as the host name', variables: { function: { default: 'hello', description: 'the function, or `{ref}.{name}`' } } }],
      }),
  });
}
