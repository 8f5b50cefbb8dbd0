import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerOptions } from '../config/index.js';
import type { Access } from '../auth/index.js';
import type { Pipeline } from '../pipeline/index.js';
import type { HttpInvocations } from '../frontends/http/index.js';
import type { ApiDeps } from '../api/index.js';
import type { Logger } from '../observe/index.js';

/**
 * One route a surface serves, with its row of the permission table. The server checks every
 * surface's routes against the others on the same listener, and builds the OpenAPI document's
 * security from the rows.
 */
export interface SurfaceRoute {
  /** `GET`, `POST`, ..., or `*` for every method. */
  method: string;
  /** Path template: `{x}` is one segment; with `rest`, the last `{x}` is the rest of the path. */
  path: string;
  rest?: boolean;
  /**
   * Host-name routing: the route is the surface's only on hosts matching this template (e.g.
   * `{name}.fn.example.com`). Such routes come before every path-routed one on their listener.
   */
  host?: string;
  access: Access;
}

/** What an OpenAPI operation of a surface holds, by path and lower-case method. */
export type OpenApiPaths = Record<string, Record<string, Record<string, unknown>>>;

/**
 * An HTTP surface: a route table with its own credential extractors and its own error rendering,
 * served on Ferry's main listener or on one of its own (`--surface-listen`). A surface is a folder
 * under `surfaces/` plus one line in `surfaces/registry.ts`.
 */
export interface HttpSurface<Match = unknown> {
  readonly name: string;
  /** Every route it serves (for the clash check, the permission table and the document). */
  readonly routes: readonly SurfaceRoute[];
  /**
   * The surface's match for a request it serves, else undefined. Runs for every request on its
   * listener until a surface claims it, so it must be cheap; a claimed request is the surface's
   * to answer (404 and 405 included).
   */
  match(req: IncomingMessage): Match | undefined;
  handle(req: IncomingMessage, res: ServerResponse, match: Match): Promise<void>;
  /**
   * Paths of its own an instance may ask over its API socket (acting with the instance's token,
   * which the surface must check itself); absent: none.
   */
  readonly instancePaths?: RegExp;
  /** WebSocket and other upgrades of a claimed request; absent: refused. */
  upgrade?(req: IncomingMessage, socket: Duplex, head: Buffer, match: Match): void;
  /** Its OpenAPI operations, whole (security and `x-ferry-access` included); the server adds `x-ferry-surface` and `servers`. */
  operations(): OpenApiPaths;
  /** Work of its own beside its routes (a watched folder): begun once the server serves. */
  start?(): void;
  /** Ends what `start` began; awaited while the server drains, before its services stop. */
  close?(): Promise<void> | void;
}

/** What a surface factory gets from the server. */
export interface SurfaceContext {
  options: ServerOptions;
  pipeline: Pipeline;
  /** The HTTP front end over the pipeline: how a surface turns a request into an invocation. */
  invocations: HttpInvocations;
  /** Ferry's services (the management API's dependencies; compat surfaces use them too). */
  services: Omit<ApiDeps, 'openapi'>;
  /** The OpenAPI document of every surface that is on. */
  openapi(): object;
  /** The server's log. */
  logger: Logger;
}

/** Builds a surface, or answers undefined when it is off in this configuration. */
export type SurfaceFactory = (ctx: SurfaceContext) => HttpSurface | undefined | Promise<HttpSurface | undefined>;
