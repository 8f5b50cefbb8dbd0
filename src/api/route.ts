import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/index.js';

/** What a route handler receives. */
export interface ApiContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The caller; set on every route that is not public (auth/route-access.ts). */
  principal: Principal | undefined;
  /** The JSON body (Content-Type application/json, capped); `malformed-json` on bad JSON. */
  json(): Promise<unknown>;
  /** Base URL the client used, for links in answers (`http://host:port`). */
  baseUrl: string;
}

/** A handler answers a value (JSON, 200 unless `status`), or writes `ctx.res` itself and answers undefined. */
export type ApiResult = { status?: number; body?: unknown; headers?: Record<string, string> } | undefined;

/**
 * One row of the route table: method, path template, and what the OpenAPI document says about
 * it. The router and the document are both built from these rows; what each route needs is in
 * the one permission table (auth/route-access.ts).
 */
export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** `/v1/functions/{name}`: `{x}` matches one path segment. */
  path: string;
  /** The last `{x}` matches the rest of the path, `/` included (object keys). */
  rest?: boolean;
  summary: string;
  tag: string;
  /** Request body kind, for the OpenAPI document. */
  body?: 'json' | 'archive' | 'binary';
  /** JSON Schema of a JSON body. */
  bodySchema?: object;
  /** Success status and what it returns, for the OpenAPI document. */
  success: { status: number; description: string; contentType?: string };
  query?: Array<{ name: string; description: string; type?: 'string' | 'integer' | 'boolean' }>;
  handler(ctx: ApiContext): Promise<ApiResult>;
}
