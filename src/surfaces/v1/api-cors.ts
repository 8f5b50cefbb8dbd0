import type { IncomingMessage, ServerResponse } from 'node:http';
import { FerryError, sendProblem } from '../../errors/index.js';
import { preflightAnswer, requestedHeaders, responseCorsHeaders, type CorsPolicy } from '../../core/index.js';
import type { ServerOptions } from '../../config/index.js';

/**
 * The management API's CORS policy (`--cors-origin`, `--cors-credentials`): what a web console on
 * another origin needs, the API's methods, the headers it reads and the ones worth reading back.
 * Undefined (off) without an origin.
 */
export function apiCorsPolicy(o: Pick<ServerOptions, 'corsOrigin' | 'corsCredentials'>): CorsPolicy | undefined {
  if (!o.corsOrigin.length) return undefined;
  return {
    allowOrigins: o.corsOrigin,
    allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-none-match', 'prefer', 'x-request-id'],
    exposeHeaders: ['etag', 'location', 'retry-after', 'x-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
    allowCredentials: o.corsCredentials,
    maxAge: 600,
  };
}

/**
 * CORS on one API request: a preflight is answered here (true: nothing more to do), before any
 * authentication, as a browser sends none with it; any other request gets its answer's headers.
 */
export function applyApiCors(policy: CorsPolicy, req: IncomingMessage, res: ServerResponse): boolean {
  const origin = req.headers.origin;
  const method = req.headers['access-control-request-method'];
  if (req.method !== 'OPTIONS' || origin === undefined || method === undefined) {
    const h = responseCorsHeaders(policy, origin);
    for (let i = 0; i < h.length; i += 2) res.setHeader(h[i]!, h[i + 1]!);
    return false;
  }
  const answer = preflightAnswer(policy, { origin, method, headers: requestedHeaders(req.headers['access-control-request-headers']) });
  if ('refused' in answer) {
    sendProblem(res, new FerryError('cors-refused', `CORS preflight refused: ${answer.refused}`, { headers: { vary: 'Origin' } }), req.url);
  } else {
    res.writeHead(204, answer.headers);
    res.end();
  }
  return true;
}
