import type { IncomingMessage, ServerResponse } from 'node:http';
import { FerryError, sendProblem } from '../errors/index.js';
import { allows, onFunction, type Access, type Authenticator, type Principal } from '../auth/index.js';
import type { RouteDef } from './route.js';
import { readJson } from './body.js';
import { httpRequestId } from '../pipeline/request-id.js';
import type { BrowserSessions } from './browser-sessions.js';

interface Compiled {
  def: RouteDef;
  access: Access;
  pattern: RegExp;
  names: string[];
}

/**
 * The management API's router: matches the route table, checks the credential against the
 * route's permission, and renders answers and errors (problem+json) the same way everywhere.
 */
export class ApiRouter {
  private readonly routes: Compiled[];

  constructor(
    defs: RouteDef[],
    private readonly auth: Authenticator,
    table: Record<string, Access>,
    /** The owning group of a function, or undefined when there is none by that name. */
    private readonly ownerOf: (name: string) => string | undefined,
    /** The function of an execution and whether a public invocation created it. */
    private readonly executionOf: (id: string) => Promise<{ function: string; public: boolean } | undefined> = async () => undefined,
    /** The base of `/fn` links when invocations are served on a listener of their own. */
    private readonly invocationBase?: (requestHost: string) => string | undefined,
    /** The dashboard's sessions: a request with their cookie and no `Authorization` is its session's. */
    private readonly sessions?: BrowserSessions,
  ) {
    const unused = new Set(Object.keys(table));
    this.routes = defs.map((def) => {
      const key = `${def.method} ${def.path}`;
      const access = table[key];
      if (!access) throw new Error(`route ${key} has no entry in the permission table (auth/route-access.ts)`);
      if (access.kind === 'invocation') throw new Error(`route ${key}: an invocation row belongs to a surface that invokes functions, not to the API`);
      unused.delete(key);
      const names: string[] = [];
      const tpl = def.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      const src = tpl.replace(/\{(\w+)\}/g, (m, n: string, at: number) => {
        names.push(n);
        return def.rest && at + m.length === tpl.length ? '(.+)' : '([^/]+)';
      });
      return { def, access, pattern: new RegExp(`^${src}$`), names };
    });
    if (unused.size) throw new Error(`the permission table names routes that do not exist: ${[...unused].join(', ')}`);
  }

  get table(): RouteDef[] {
    return this.routes.map((r) => r.def);
  }

  /** Each route with what it needs, for the OpenAPI document. */
  get accessTable(): Array<{ def: RouteDef; access: Access }> {
    return this.routes.map((r) => ({ def: r.def, access: r.access }));
  }

  /** Whether some route has this path (whatever its method): the request is this router's to answer. */
  serves(url: string): boolean {
    let pathname: string;
    try {
      pathname = new URL(url, 'http://x').pathname;
    } catch {
      return false;
    }
    const path = routePath(pathname);
    return this.routes.some((r) => r.pattern.test(path));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    // As on invocations: the client's id when it is a sane one, so a support ticket can name it.
    res.setHeader('x-request-id', httpRequestId(req.headers['x-request-id']));
    try {
      const path = routePath(url.pathname);
      const allowed: string[] = [];
      for (const r of this.routes) {
        const m = r.pattern.exec(path);
        if (!m) continue;
        allowed.push(r.def.method);
        if (r.def.method !== req.method && !(req.method === 'HEAD' && r.def.method === 'GET')) continue;
        const params: Record<string, string> = {};
        r.names.forEach((n, i) => (params[n] = decodeParam(n, m[i + 1]!)));
        const principal = await this.authorize(r.access, req, params);
        const host = req.headers.host ?? 'localhost';
        const result = await r.def.handler({ req, res, params, query: url.searchParams, principal, json: () => readJson(req), baseUrl: this.invocationBase?.(host) ?? `http://${host}` });
        if (result && !res.headersSent) send(res, result.status ?? 200, result.body, result.headers);
        return;
      }
      if (allowed.length) {
        const allow = [...new Set(allowed.includes('GET') ? [...allowed, 'HEAD'] : allowed)].join(', ');
        throw new FerryError('method-not-allowed', `${req.method} is not allowed on ${path}; allowed: ${allow}`, { headers: { allow } });
      }
      throw new FerryError('route-not-found', `no route for ${req.method} ${path}`);
    } catch (err) {
      const fe = FerryError.from(err);
      // Drain what the client is still sending so it reads our answer instead of a reset.
      if (!req.readableEnded) req.resume();
      sendProblem(res, fe, url.pathname);
    }
  }

  /**
   * Applies the route's row of the permission table. On functions: no such function, or one the
   * caller may not read, is 404 (a `creates` route: a new name needs the permission, a hidden one
   * is 409 `name-taken`); one it may read but not change is 403.
   */
  private async authorize(access: Access, req: IncomingMessage, params: Record<string, string>): Promise<Principal | undefined> {
    if (access.kind === 'public') return undefined;
    const header = req.headers.authorization ?? (await this.sessions?.authorization(req));
    // A public execution needs no token; one that is sent must still be valid.
    if (access.kind === 'execution' && header === undefined) {
      if ((await this.executionOf(params.id!))?.public) return undefined;
    }
    const p = await this.auth.authenticate(header, req);
    if (p.scope !== undefined) confine(p.scope, access, params.name);
    if (access.kind === 'signed-in') return p;
    if (access.kind === 'execution') return this.onExecution(p, access.perm, params.id!);
    if (access.kind === 'global') {
      if (!allows(p, access.perm)) throw new FerryError('forbidden', `this action needs permission:${access.perm}`);
      return p;
    }
    if (access.kind !== 'function') throw new FerryError('internal', 'not a route of the API');
    const name = params.name!;
    const owner = this.ownerOf(name);
    if (owner === undefined) {
      if (!access.creates) throw new FerryError('function-not-found', `no function named '${name}'`);
      if (!allows(p, access.perm)) throw new FerryError('forbidden', `creating a function needs permission:${access.perm}`);
      return p;
    }
    const verdict = onFunction(p, access.perm, owner);
    if (verdict === 'hidden') {
      if (access.creates) throw new FerryError('name-taken', `the name '${name}' belongs to another group; function names are one namespace, pick another`);
      throw new FerryError('function-not-found', `no function named '${name}'`);
    }
    if (verdict === 'forbidden') throw new FerryError('forbidden', `this action needs permission:${access.perm} on '${name}'`);
    return p;
  }

  /** `execution` access for a caller with a valid token (see auth/route-access.ts). */
  private async onExecution(p: Principal, perm: (Access & { kind: 'execution' })['perm'], id: string): Promise<Principal> {
    const ex = await this.executionOf(id);
    if (!ex) throw new FerryError('execution-not-found', `no execution '${id}'`);
    if (ex.public) return p;
    const verdict = onFunction(p, perm, this.ownerOf(ex.function) ?? '');
    if (verdict === 'hidden') throw new FerryError('execution-not-found', `no execution '${id}'`);
    if (verdict === 'forbidden') throw new FerryError('forbidden', `this action needs permission:${perm} on '${ex.function}'`);
    return p;
  }
}

/** A trailing `/` is ignored. */
function routePath(pathname: string): string {
  return pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
}

function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new FerryError(name === 'key' ? 'invalid-key' : 'invalid-name', `${name} '${raw.slice(0, 80)}' has a malformed percent-encoding`);
  }
}

/** An instance token (`scope`) may use its own function's `instance` routes and nothing else. */
function confine(fn: string, access: Access, name: string | undefined): void {
  if (access.kind !== 'function' || !access.instance) throw new FerryError('forbidden', "an instance token may only use its own function's objects");
  if (name !== fn) throw new FerryError('function-not-found', `no function named '${name}'`);
}

function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  if (typeof body === 'string') {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
