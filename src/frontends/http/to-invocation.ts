import type { IncomingMessage } from 'node:http';
import type { Invocation } from '../../core/index.js';
import { prefersAsync } from '../../service/index.js';
import { isHeaderName } from '../../util/header-name.js';

/** Where an HTTP surface sends a request: function, optional version/alias, and the path it sees. */
export interface InvokeRoute {
  name: string;
  ref: string | undefined;
  /** Path and query as the function sees them. */
  path: string;
}

/**
 * Where a surface's callers put their Ferry credential when it is not `Authorization` (a seed
 * system's own header): the header, and how its value becomes what the authenticator takes
 * (`Bearer <token>`). The header is Ferry's: it never reaches the function.
 */
export interface CredentialExtractor {
  /** Lower case. */
  header: string;
  toCredential?(value: string): string;
}

/**
 * An HTTP request as an invocation, from one pass over the raw header list (Node builds
 * `req.headers` lazily; not touching it saves building an object per call). The request itself
 * is the body stream, for any method, when the head says one follows; the header list is the
 * request's own (the pipeline strips Ferry's credential from it).
 */
export function toInvocation(req: IncomingMessage, route: InvokeRoute, credential?: CredentialExtractor): Invocation {
  const raw = req.rawHeaders;
  let requestId: string | undefined;
  let contentLength: string | undefined;
  let chunked = false;
  let authorization: string | undefined;
  let async = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 6:
        if (isHeaderName(name, 'prefer') && prefersAsync(raw[i + 1]!)) async = true;
        break;
      case 16:
        // tinyFaaS: any non-empty value asks for an asynchronous call.
        if (isHeaderName(name, 'x-tinyfaas-async') && raw[i + 1] !== '') async = true;
        break;
      case 12:
        if (isHeaderName(name, 'x-request-id')) requestId = raw[i + 1];
        break;
      case 13:
        if (isHeaderName(name, 'authorization')) authorization = raw[i + 1];
        break;
      case 14:
        if (isHeaderName(name, 'content-length')) contentLength = raw[i + 1];
        break;
      case 17:
        if (isHeaderName(name, 'transfer-encoding')) chunked = true;
        break;
    }
  }
  const hasBody = chunked || (contentLength !== undefined && contentLength !== '0');
  const own = credential ? ownCredential(raw, credential) : undefined;
  return {
    function: route.name,
    ref: route.ref,
    method: req.method ?? 'GET',
    path: route.path,
    headers: own ? own.headers : raw,
    body: hasBody ? req : undefined,
    // Node's parser holds a body to its Content-Length; a chunked one is counted as it streams.
    bodyLength: chunked || contentLength === undefined ? undefined : Number(contentLength),
    requestId,
    credential: own ? own.credential : authorization,
    principal: undefined,
    origin: req,
    deadline: undefined,
    mode: async ? 'async' : 'sync',
  };
}

/** A surface's own credential header: its (last) value, and the header list without it. */
function ownCredential(raw: string[], from: CredentialExtractor): { credential: string | undefined; headers: string[] } {
  const headers: string[] = [];
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (isHeaderName(raw[i]!, from.header)) value = raw[i + 1];
    else headers.push(raw[i]!, raw[i + 1]!);
  }
  return { credential: value === undefined ? undefined : from.toCredential ? from.toCredential(value) : value, headers };
}
