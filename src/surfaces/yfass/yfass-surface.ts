import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Principal } from '../../core/index.js';
import type { Access } from '../../auth/index.js';
import { effectiveGroups } from '../../auth/index.js';
import { FerryError, toProblem } from '../../errors/index.js';
import { readBody } from '../../service/index.js';
import type { HttpSurface, OpenApiPaths, SurfaceContext } from '../surface.js';
import { BootToken } from './boot-token.js';
import { parseKey } from './yfass-key.js';
import { YfassFunctions } from './yfass-functions.js';
import { YfassUsers } from './yfass-users.js';

type Op = 'userAdd' | 'userGet' | 'userRemove' | 'userToken' | 'userModify' | 'upload' | 'get' | 'override' | 'alias' | 'remove' | 'deploy' | 'kill' | 'status';

interface Route {
  method: string;
  /** The path before `{param}`, or the whole path when there is none. */
  prefix: string;
  param?: 'user' | 'key';
  access: Access;
  summary: string;
}

const global = (perm: 'read' | 'write' | 'execute' | 'remove' | 'admin'): Access => ({ kind: 'global', perm });

/** YFASS's API, with its permission rules (the key's group is checked by the use case). */
const table: Record<Op, Route> = {
  userAdd: { method: 'POST', prefix: '/api/user/add', access: global('admin'), summary: 'Add a user: {name, groups}' },
  userGet: { method: 'GET', prefix: '/api/user/get/', param: 'user', access: { kind: 'signed-in' }, summary: 'A user: yourself, or anyone for ADMIN' },
  userRemove: { method: 'DELETE', prefix: '/api/user/remove/', param: 'user', access: global('admin'), summary: 'Remove a user (ROOT: the root group)' },
  userToken: { method: 'POST', prefix: '/api/user/request-token', access: global('admin'), summary: 'A token for a user: {duration (days), user}; answers the token as text' },
  userModify: { method: 'PUT', prefix: '/api/user/modify', access: global('admin'), summary: "Replace a user's groups: {name, groups}" },
  upload: { method: 'POST', prefix: '/api/upload/', param: 'key', access: global('write'), summary: 'Upload the contents of name@version (tar, or gzip-compressed tar); no config yet' },
  get: { method: 'GET', prefix: '/api/get/', param: 'key', access: global('read'), summary: 'A version: {meta: {name, version, version_alias}, config}' },
  override: { method: 'PUT', prefix: '/api/override/', param: 'key', access: global('write'), summary: "Set the version's service config (and the config's group)" },
  alias: { method: 'PUT', prefix: '/api/alias/', param: 'key', access: global('write'), summary: 'Set {"alias": "x"} or remove {"alias": null} the alias of name@version' },
  remove: { method: 'DELETE', prefix: '/api/remove/', param: 'key', access: global('remove'), summary: 'Remove a version' },
  deploy: { method: 'POST', prefix: '/api/deploy/', param: 'key', access: global('execute'), summary: 'Start the service; it runs until killed' },
  kill: { method: 'POST', prefix: '/api/kill/', param: 'key', access: global('execute'), summary: 'Stop the service' },
  status: { method: 'GET', prefix: '/api/status/', param: 'key', access: global('execute'), summary: 'Whether the service runs: {running}' },
};
const ops = Object.keys(table) as Op[];

interface Match {
  op: Op;
  param: string;
}

/**
 * YFASS's management API (`/api/user/...`, `/api/upload|get|override|alias|remove|deploy|kill|
 * status/{key}`) over Ferry's accounts and functions, on with `--compat yfass`. Its services are
 * reached as YFASS's are, by host name `{version}.{name}.{domain}` (Ferry's `host` surface).
 * Errors are problem+json with Ferry's statuses and codes.
 */
export function yfassSurface(ctx: SurfaceContext): HttpSurface<Match> | undefined {
  if (!ctx.options.compat.includes('yfass')) return undefined;
  const s = ctx.services;
  const boot = new BootToken((line) => process.stderr.write(line));
  const fns = new YfassFunctions({
    service: s.service,
    pool: s.pool,
    dir: join(ctx.options.dataDir, 'yfass'),
    archiveLimits: { maxEntries: ctx.options.archiveMaxEntries, maxBytes: ctx.options.archiveMaxBytes },
  });
  const users = new YfassUsers(s.accounts);

  const principal = async (req: IncomingMessage): Promise<Principal> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (m && boot.matches(m[1]!)) {
      const root = (await s.accounts.listUsers()).find((u) => u.groups.includes('root'));
      if (!root) throw new FerryError('internal', 'the boot admin is missing');
      return { subject: root.name, groups: effectiveGroups(root.name, root.groups), tokenId: 'yfass:boot', via: 'api-token' };
    }
    return s.auth.authenticate(req.headers.authorization, req);
  };

  const serve = async (m: Match, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const route = table[m.op];
    if (req.method !== route.method) {
      req.resume();
      throw new FerryError('method-not-allowed', `${route.prefix}${route.param ? `{${route.param}}` : ''} takes ${route.method}`, { headers: { allow: route.method } });
    }
    const actor = await principal(req);
    const body = route.method === 'POST' || route.method === 'PUT' ? await readBody(req, m.op === 'upload' ? s.maxUploadBytes : 1024 * 1024) : undefined;
    const json = (): unknown => parseJson(body!);
    const key = (versioned = false) => parseKey(m.param, versioned);
    switch (m.op) {
      case 'userAdd':
        return send(res, 200, await users.add(actor, json()));
      case 'userGet':
        return send(res, 200, await users.get(actor, decode(m.param)));
      case 'userRemove':
        await users.remove(actor, decode(m.param));
        return send(res, 200);
      case 'userToken':
        return send(res, 200, await users.requestToken(actor, json()));
      case 'userModify':
        return send(res, 200, await users.modify(actor, json()));
      case 'upload':
        await fns.upload(actor, key(true), (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase(), body!);
        return send(res, 200);
      case 'get':
        return send(res, 200, await fns.get(actor, key()));
      case 'override':
        await fns.override(actor, key(), json());
        return send(res, 200);
      case 'alias':
        await fns.alias(actor, key(true), json());
        return send(res, 200);
      case 'remove':
        await fns.remove(actor, key());
        return send(res, 200);
      case 'deploy':
        await fns.deploy(actor, key());
        return send(res, 200);
      case 'kill':
        await fns.kill(actor, key());
        return send(res, 200);
      case 'status':
        return send(res, 200, await fns.status(actor, key()));
    }
  };

  return {
    name: 'yfass',
    routes: ops.map((op) => ({ method: table[op].method, path: routePath(table[op]), access: table[op].access })),
    match: (req) => {
      const url = req.url ?? '/';
      if (!url.startsWith('/api/')) return undefined;
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      for (const op of ops) {
        const r = table[op];
        if (r.param === undefined ? path === r.prefix : path.startsWith(r.prefix) && path.length > r.prefix.length && !path.slice(r.prefix.length).includes('/')) {
          return { op, param: r.param === undefined ? '' : path.slice(r.prefix.length) };
        }
      }
      return undefined;
    },
    handle: async (req, res, m) => {
      try {
        await serve(m, req, res);
      } catch (err) {
        answerError(res, FerryError.from(err));
      }
    },
    operations: () => operations(),
  };
}

function routePath(r: Route): string {
  return r.param === undefined ? r.prefix : `${r.prefix}{${r.param}}`;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FerryError('invalid-name', `'${segment.slice(0, 80)}' is not valid percent-encoding`);
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new FerryError('malformed-json', `the body is not JSON: ${(err as Error).message}`);
  }
}

/** JSON for objects, the text itself for a string (request-token), nothing for undefined. */
function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { 'content-length': 0 });
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function answerError(res: ServerResponse, err: FerryError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(toProblem(err));
  res.writeHead(err.status, { ...err.headers, 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), ...(err.status === 413 ? { connection: 'close' } : {}) });
  res.end(body);
}

function operations(): OpenApiPaths {
  const out: OpenApiPaths = {};
  for (const op of ops) {
    const r = table[op];
    const path = routePath(r);
    out[path] ??= {};
    out[path][r.method.toLowerCase()] = {
      operationId: `yfass${op[0]!.toUpperCase()}${op.slice(1)}`,
      summary: r.summary,
      tags: ['yfass'],
      security: [{ bearer: [] }],
      'x-ferry-access': r.access,
      ...(r.param ? { parameters: [{ name: r.param, in: 'path', required: true, schema: { type: 'string' } }] } : {}),
      ...(r.method === 'POST' || r.method === 'PUT' ? { requestBody: { required: op !== 'deploy' && op !== 'kill', content: { [op === 'upload' ? 'application/x-tar' : 'application/json']: { schema: op === 'upload' ? { type: 'string', format: 'binary' } : { type: 'object' } } } } } : {}),
      responses: {
        '200': { description: op === 'userToken' ? 'The token, as text' : 'Done' },
        default: { description: 'A problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    };
  }
  return out;
}
