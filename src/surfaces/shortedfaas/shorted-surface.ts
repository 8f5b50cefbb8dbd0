import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import type { Access } from '../../auth/index.js';
import { invocationAccess, onFunction } from '../../auth/index.js';
import { FerryError, sendProblem } from '../../errors/index.js';
import { renderProblem } from '../../frontends/http/index.js';
import type { HttpSurface, SurfaceContext, SurfaceRoute } from '../surface.js';
import { ShortedFunctions } from './shorted-functions.js';
import { DeployFolder } from './deploy-folder.js';
import { OwnedFolder } from './folder-owner.js';
import { labels } from './package-adapter.js';
import { accepted } from './run-json.js';
import { muteFailedProgram } from './mute-failure.js';
import { packFolder } from './pack-folder.js';
import { shortedOperations } from './operations.js';
import { CallHistory } from './call-history.js';
import { SharedSecretAuth, secretVariable } from './shared-secret.js';

type Match = { route: 'f' | 'a'; name: string } | { route: 'r'; name: string; id: string } | { route: 'list' | 'history' } | { route: 'call'; id: string };

const pub: Access = { kind: 'public' };
export const shortedRoutes: SurfaceRoute[] = [
  { method: 'POST', path: '/f/{name}', access: invocationAccess },
  { method: 'POST', path: '/a/{name}', access: invocationAccess },
  { method: 'GET', path: '/r/{name}/{id}', access: pub },
  { method: 'GET', path: '/list', access: pub },
  { method: 'GET', path: '/history', access: pub },
  { method: 'GET', path: '/history/{id}', access: pub },
];

/** Headers that would change how Ferry runs a call: on this surface the route decides. */
const routeHeaders = new Set(['prefer', 'x-tinyfaas-async', 'x-shortedfaas-async']);

/**
 * ShortedFaaS's API (`/f/{name}`, `/a/{name}`, `/r/{name}/{id}`, `/list`) over the functions
 * of the watched deploy folder (`--deploy-dir`), on with `--compat shortedfaas`. Its routes
 * collide with tinyFaaS's (`/list`): give one of them a listener of its own.
 */
export function shortedfaasSurface(ctx: SurfaceContext): HttpSurface<Match> | undefined {
  if (!ctx.options.compat.includes('shortedfaas')) return undefined;
  const s = ctx.services;
  const hostLibraries = !ctx.options.shortedfaasOwnLibrariesOnly;
  const fns = new ShortedFunctions({ service: s.service, accounts: s.accounts, owner: ctx.options.compatUser, hostLibraries });
  const log = ctx.logger;
  const calls = new CallHistory(fns, s.history, s.logs);
  let auth: SharedSecretAuth | undefined;
  if (ctx.options.shortedfaasAuth) {
    const secret = process.env[secretVariable] ?? '';
    // Fail closed: auth asked for without a secret would let nobody in, or everybody.
    if (secret === '') throw new Error(`--shortedfaas-auth needs the environment variable ${secretVariable}`);
    auth = new SharedSecretAuth(secret, s.auth);
  }
  // A worker never watches the deploy folder: gateways own it (docs/cluster.md, "Deploy folder").
  const watchesFolder = ctx.options.deployDir !== undefined && ctx.options.role !== 'worker';
  if (ctx.options.deployDir !== undefined && !watchesFolder) log.info({ deployDir: ctx.options.deployDir }, 'shortedfaas: this node is a worker (--role worker); the gateway that sets --deploy-dir watches the folder');
  const folder = watchesFolder && ctx.options.deployDir ? new DeployFolder(ctx.options.deployDir, fns, log, packFolder, hostLibraries ? '' : 'own-libraries-only') : undefined;
  // In a cluster one gateway watches it: the live one with the lowest id among those given it.
  const owned = folder && ctx.options.deployDir && s.cluster.self !== undefined
    ? new OwnedFolder(folder, { nodes: () => s.cluster.nodes(), self: s.cluster.self, dir: resolve(ctx.options.deployDir), log })
    : undefined;

  const invoke = async (req: IncomingMessage, res: ServerResponse, name: string, async: boolean): Promise<void> => {
    const v = await fns.latest(name);
    if (!v) throw new FerryError('function-not-found', `no ShortedFaaS function named '${name}'`);
    const accepts = (v.manifest.labels?.[labels.accepts] ?? '').split(',').filter(Boolean);
    if (!accepted(accepts, req.headers['content-type'])) throw new FerryError('unsupported-media-type', `'${name}' accepts ${accepts.join(', ')}`);
    const raw = req.rawHeaders;
    const kept: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (!routeHeaders.has(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
    if (async) kept.push('Prefer', 'respond-async', 'X-ShortedFaaS-Async', '1');
    raw.splice(0, raw.length, ...kept);
    const out = v.manifest.labels?.[labels.kind] === 'program' && !async ? muteFailedProgram(res) : res;
    await ctx.invocations.serve(req, out, { name, ref: undefined, path: '/' }, {
      // A lambda that threw: 500 with no body, as the seed's launcher answers.
      renderError: (r, err, headers) => (err.code === 'function-error' ? emptyAnswer(r, 500, headers) : renderProblem(r, err, req.url, headers)),
    });
  };

  const result = async (req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> => {
    const rec = /^[0-9a-f]{32}$/.test(id) ? await s.executions.get(id) : undefined;
    const notFound = new FerryError('execution-not-found', `no execution '${id}' of '${name}'`);
    if (!rec || rec.function !== name || !(await fns.latest(name))) throw notFound;
    // A token-invoked function's results are its readers': a Ferry bearer token of one.
    if (!rec.public && !(await readsFunction(req, name))) throw notFound;
    if (rec.status === 'queued' || rec.status === 'running') return emptyAnswer(res, 202, { 'retry-after': '1' });
    if (rec.status !== 'succeeded' || !rec.result || rec.result.status >= 400) return emptyAnswer(res, 500, {});
    const body = rec.result.body ?? (await s.executions.resultBody(id)) ?? Buffer.alloc(0);
    const type = headerOf(rec.result.headers, 'content-type');
    res.writeHead(200, { ...(type ? { 'content-type': type } : {}), 'content-length': body.length });
    res.end(body);
  };

  /** Whether the request carries the bearer token of a reader of `name` (none: 401). */
  const readsFunction = async (req: IncomingMessage, name: string): Promise<boolean> => {
    const header = req.headers.authorization;
    if (!header || !/^Bearer\s/i.test(header)) {
      throw new FerryError('unauthorized', `the results of '${name}' (invoke: token) are read with a Ferry bearer token of its readers`, { headers: { 'www-authenticate': 'Bearer' } });
    }
    const p = await s.auth.authenticate(header);
    return onFunction(p, 'read', s.service.catalog.owner(name) ?? '') === 'yes';
  };

  const list = async (res: ServerResponse): Promise<void> => {
    const items = (await fns.list()).map((v) => ({
      name: v.function,
      route: `/f/${v.function}`,
      kind: v.manifest.labels?.[labels.kind],
      runtime: v.manifest.runtime,
      version: v.version,
      accepts: (v.manifest.labels?.[labels.accepts] ?? '').split(',').filter(Boolean),
    }));
    json(res, items);
  };

  return {
    name: 'shortedfaas',
    routes: shortedRoutes,
    // The folder is watched once the server serves (its deploys need every service), until it stops.
    start: () => (owned ? owned.start() : void folder?.start().catch((err: unknown) => log.error({ err }, 'shortedfaas: the deploy folder cannot be watched'))),
    close: () => (owned ?? folder)?.stop(),
    match: (req) => matchOf(req.url ?? '/'),
    handle: async (req, res, m) => {
      try {
        const method = m.route === 'f' || m.route === 'a' ? 'POST' : 'GET';
        if (req.method !== method) throw new FerryError('method-not-allowed', `${method} only`);
        await auth?.check(req);
        if (m.route === 'f' || m.route === 'a') return await invoke(req, res, m.name, m.route === 'a');
        if (!req.readableEnded) req.resume();
        if (m.route === 'r') return await result(req, res, m.name, m.id);
        if (m.route === 'history') return json(res, await calls.list(limitOf(req.url ?? '/')));
        if (m.route === 'call') return json(res, await calls.get(m.id, auth !== undefined));
        return await list(res);
      } catch (err) {
        if (!req.readableEnded) req.resume();
        if (res.headersSent) res.destroy();
        else sendProblem(res, FerryError.from(err), req.url);
      }
    },
    operations: () => shortedOperations(shortedRoutes),
  };
}

function matchOf(url: string): Match | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path === '/list') return { route: 'list' };
  if (path === '/history') return { route: 'history' };
  const h = /^\/history\/([^/]+)$/.exec(path);
  if (h) return { route: 'call', id: decodeURIComponent(h[1]!) };
  const m = /^\/(f|a)\/([^/]+)$/.exec(path);
  if (m) return { route: m[1] as 'f' | 'a', name: decodeURIComponent(m[2]!) };
  const r = /^\/r\/([^/]+)\/([^/]+)$/.exec(path);
  if (r) return { route: 'r', name: decodeURIComponent(r[1]!), id: decodeURIComponent(r[2]!) };
  return undefined;
}

function json(res: ServerResponse, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `?limit=N` of /history: 1 to 1000, default 100. */
function limitOf(url: string): number {
  const n = Number(new URL(url, 'http://x').searchParams.get('limit') ?? 100);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new FerryError('invalid-query', 'limit must be an integer from 1 to 1000');
  return n;
}

function emptyAnswer(res: ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': 0 });
  res.end();
}

function headerOf(flat: string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === name) return flat[i + 1];
  return undefined;
}
