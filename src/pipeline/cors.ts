import { FerryError } from '../errors/index.js';
import { preflightAnswer, requestedHeaders, responseCorsHeaders, type CorsPolicy, type Invocation, type ResponseWriter } from '../core/index.js';
import { DelegatingWriter } from './delegating-writer.js';

/** The CORS request headers of an invocation, found in one pass over its header list. */
interface CorsRequest {
  origin: string | undefined;
  requestMethod: string | undefined;
  requestHeaders: string | undefined;
}

function corsRequest(headers: readonly string[]): CorsRequest {
  const found: CorsRequest = { origin: undefined, requestMethod: undefined, requestHeaders: undefined };
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === 6 && name.toLowerCase() === 'origin') found.origin = headers[i + 1];
    else if (name.length === 29 && name.toLowerCase() === 'access-control-request-method') found.requestMethod = headers[i + 1];
    else if (name.length === 30 && name.toLowerCase() === 'access-control-request-headers') found.requestHeaders = headers[i + 1];
  }
  return found;
}

/**
 * The CORS stage of a function with a `cors` policy. A preflight (`OPTIONS` with `Origin` and
 * `Access-Control-Request-Method`) is answered here, 204 with the allow headers or 403
 * `cors-refused` without them, and never reaches the function: `preflight` is true. Any other call
 * gets the headers its answer must carry (`headers`), which `CorsWriter` puts in place of the
 * function's own.
 */
export function corsStage(policy: CorsPolicy, inv: Invocation, writer: ResponseWriter, requestId: string): { preflight: true } | { preflight: false; headers: string[] } {
  const req = corsRequest(inv.headers);
  if (inv.method !== 'OPTIONS' || req.origin === undefined || req.requestMethod === undefined) {
    return { preflight: false, headers: responseCorsHeaders(policy, req.origin) };
  }
  const answer = preflightAnswer(policy, { origin: req.origin, method: req.requestMethod, headers: requestedHeaders(req.requestHeaders) });
  if ('refused' in answer) throw new FerryError('cors-refused', `CORS preflight refused: ${answer.refused}`, { headers: { vary: 'Origin' } });
  writer.writeHead(204, [...answer.headers, 'x-request-id', requestId]);
  writer.end();
  return { preflight: true };
}

/** An error answer as an admitted origin's page may read it: the CORS headers added. */
export function withCorsHeaders(err: FerryError, cors: readonly string[]): FerryError {
  const headers: Record<string, string> = { ...err.headers };
  for (let i = 0; i < cors.length; i += 2) headers[cors[i]!] = cors[i + 1]!;
  return new FerryError(err.code, err.message, { cause: err.cause, ...(err.extras ? { extras: err.extras } : {}), headers });
}

/**
 * A writer whose answer carries the policy's CORS headers instead of any the function set: where a
 * function has a policy, Ferry's policy is the one browsers see.
 */
export class CorsWriter extends DelegatingWriter {
  constructor(
    inner: ResponseWriter,
    private readonly cors: readonly string[],
  ) {
    super(inner);
  }

  override writeHead(status: number, headers?: Record<string, string | string[] | number> | string[]): unknown {
    const out: string[] = [];
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) if (!isCorsHeader(headers[i]!)) out.push(headers[i]!, headers[i + 1]!);
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) {
        if (isCorsHeader(name)) continue;
        for (const v of Array.isArray(value) ? value : [value]) out.push(name, String(v));
      }
    }
    out.push(...this.cors);
    return this.inner.writeHead(status, out);
  }
  cork(): void {
    this.inner.cork?.();
  }
  uncork(): void {
    this.inner.uncork?.();
  }
}

/** `Access-Control-*` answer headers: the policy's to set. */
function isCorsHeader(name: string): boolean {
  return name.length > 15 && name.slice(0, 15).toLowerCase() === 'access-control-';
}
