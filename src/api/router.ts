import type { IncomingMessage, ServerResponse } from 'node:http';
import { FerryError, sendProblem } from '../errors/index.js';
import { allows, type Authenticator, type Principal } from '../auth/index.js';
import type { RouteDef } from './route.js';
import { readJson } from './body.js';

interface Compiled {
  def: RouteDef;
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
  ) {
    this.routes = defs.map((def) => {
      const names: string[] = [];
      const src = def.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => {
        names.push(n);
        return '([^/]+)';
      });
      return { def, pattern: new RegExp(`^${src}$`), names };
    });
  }

  get table(): RouteDef[] {
    return this.routes.map((r) => r.def);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      const path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
      const allowed: string[] = [];
      for (const r of this.routes) {
        const m = r.pattern.exec(path);
        if (!m) continue;
        allowed.push(r.def.method);
        if (r.def.method !== req.method && !(req.method === 'HEAD' && r.def.method === 'GET')) continue;
        const params: Record<string, string> = {};
        r.names.forEach((n, i) => (params[n] = decodeParam(n, m[i + 1]!)));
        let principal: Principal | undefined;
        if (r.def.permission !== 'public') {
          principal = await this.auth.authenticate(req.headers.authorization);
          if (!allows(principal, r.def.permission)) throw new FerryError('forbidden', `this action needs permission:${r.def.permission}`);
        }
        const host = req.headers.host ?? 'localhost';
        const result = await r.def.handler({ req, res, params, query: url.searchParams, principal, json: () => readJson(req), baseUrl: `http://${host}` });
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
}

function decodeParam(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new FerryError('invalid-name', `${name} '${raw.slice(0, 80)}' has a malformed percent-encoding`);
  }
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
