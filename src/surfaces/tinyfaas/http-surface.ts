import type { IncomingMessage } from 'node:http';
import { invocationAccess } from '../../auth/index.js';
import type { InvokeRoute } from '../../frontends/http/index.js';
import type { HttpSurface, SurfaceContext } from '../surface.js';
import { invocationOperations, invocationSurface } from '../invocation-surface.js';
import { httpPort } from './endpoints.js';

/**
 * tinyFaaS's HTTP invocation: `/{name}` with any method; the path (leading `/`s stripped, the
 * query cut) is the function, lower-cased. `X-tinyFaaS-Async` with a value runs it in the
 * background (202). It claims every path, so it is on only on a listener of its own
 * (`--surface-listen tinyfaas-http=address:port`) with `--compat tinyfaas`.
 */
export function tinyfaasHttpSurface(ctx: SurfaceContext): HttpSurface<InvokeRoute> | undefined {
  if (!ctx.options.compat.includes('tinyfaas') || httpPort(ctx.options) === undefined) return undefined;
  return invocationSurface(ctx, {
    name: 'tinyfaas-http',
    routes: [{ method: '*', path: '/{name}', rest: true, access: invocationAccess }],
    match: (req: IncomingMessage) => routeOf(req.url ?? '/'),
    operations: () =>
      invocationOperations({
        surface: 'tinyfaas-http',
        path: '/{name}',
        summary: 'Invoke the function as tinyFaaS does: the body is its input; X-tinyFaaS-Async: any value answers 202 and runs it in the background',
        parameters: [{ name: 'name', description: 'the function (case does not matter)' }],
        invokeAuth: ctx.options.invokeAuth,
      }),
  });
}

function routeOf(url: string): InvokeRoute {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return { name: path.replace(/^\/+/, '').toLowerCase(), ref: undefined, path: q < 0 ? '/' : `/${url.slice(q)}` };
}
