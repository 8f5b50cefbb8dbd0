import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Access } from '../../auth/index.js';
import { isAdmin, type Principal } from '../../auth/index.js';
import { FerryError } from '../../errors/index.js';
import { objectMeta, readBody } from '../../service/index.js';
import { httpRequestId } from '../../pipeline/index.js';
import { clientAddress } from '../../api/client-address.js';
import { IpList } from '../../util/ip-list.js';
import type { HttpSurface, OpenApiPaths, SurfaceContext } from '../surface.js';
import { apiCorsPolicy, applyApiCors } from '../v1/api-cors.js';
import { ExecutionCallers } from './execution-callers.js';
import { executionPage } from './execution-page.js';
import { parseFormData } from './multipart.js';
import { SeedAccounts } from './seed003-accounts.js';
import { SeedExecutions } from './seed003-executions.js';
import { SeedFunctions } from './seed003-functions.js';
import { SeedTokens } from './seed003-tokens.js';
import { SeedUserIds } from './seed003-user-ids.js';
import { uuidShape } from './uuid-shape.js';

type Op =
  | 'register' | 'login'
  | 'listFunctions' | 'createFunction' | 'getFunction' | 'deleteFunction'
  | 'execute' | 'listExecutions' | 'getExecution'
  | 'listObjects' | 'uploadObject' | 'getObject' | 'deleteObject'
  | 'listSecrets' | 'createSecret' | 'getSecret' | 'updateSecret' | 'deleteSecret'
  | 'listUsers' | 'getUser'
  | 'contractEnv' | 'contractObject';

interface Route {
  op: Op;
  method: string;
  path: string;
  access: Access;
  summary: string;
  /** Reached only over an instance's API socket: left out of the document. */
  internal?: boolean;
}

const fn = (perm: 'read' | 'write' | 'execute' | 'remove'): Access => ({ kind: 'function', perm });
const routes: Route[] = [
  { op: 'register', method: 'POST', path: '/auth/register', access: { kind: 'public' }, summary: 'Register {username, password, role}: role admin only when an admin asks' },
  { op: 'login', method: 'POST', path: '/auth/login', access: { kind: 'public' }, summary: 'Log in {username, password}: {token}, signed with JWT_SECRET when it is set, else a Ferry access token' },
  { op: 'listFunctions', method: 'GET', path: '/api/functions', access: { kind: 'global', perm: 'read' }, summary: 'The functions the caller may read' },
  { op: 'createFunction', method: 'POST', path: '/api/functions', access: { kind: 'global', perm: 'write' }, summary: 'Create a function: JSON {name, description, image_url}, or form data with name, description and file (an image or folder archive)' },
  { op: 'getFunction', method: 'GET', path: '/api/functions/{id}', access: fn('read'), summary: 'One function' },
  { op: 'deleteFunction', method: 'DELETE', path: '/api/functions/{id}', access: fn('remove'), summary: 'Delete a function' },
  { op: 'execute', method: 'POST', path: '/api/executions', access: { kind: 'global', perm: 'execute' }, summary: 'Run a function asynchronously: {function_id, input}' },
  { op: 'listExecutions', method: 'GET', path: '/api/executions', access: { kind: 'global', perm: 'read' }, summary: 'Executions of the functions the caller may read, newest first: `?limit=` (default 100, at most 1000) and `?cursor=` (`next` of the previous page)' },
  { op: 'getExecution', method: 'GET', path: '/api/executions/{id}', access: { kind: 'execution', perm: 'read' }, summary: 'One execution: status, input, output' },
  { op: 'listObjects', method: 'GET', path: '/api/function-objects/{function_id}', access: fn('read'), summary: "The function's objects" },
  { op: 'listObjects', method: 'GET', path: '/api/function-objects/{function_id}/objects', access: fn('read'), summary: "The function's objects" },
  { op: 'uploadObject', method: 'POST', path: '/api/function-objects/{function_id}/objects/{name}', access: fn('write'), summary: 'Upload an object (form data, field file)' },
  { op: 'getObject', method: 'GET', path: '/api/function-objects/{function_id}/objects/{name}', access: fn('read'), summary: 'Download an object' },
  { op: 'deleteObject', method: 'DELETE', path: '/api/function-objects/{function_id}/objects/{name}', access: fn('write'), summary: 'Delete an object' },
  { op: 'uploadObject', method: 'POST', path: '/api/function-objects/{function_id}/{name}', access: fn('write'), summary: 'Upload an object (form data, field file)' },
  { op: 'getObject', method: 'GET', path: '/api/function-objects/{function_id}/{name}', access: fn('read'), summary: 'Download an object' },
  { op: 'deleteObject', method: 'DELETE', path: '/api/function-objects/{function_id}/{name}', access: fn('write'), summary: 'Delete an object' },
  { op: 'listSecrets', method: 'GET', path: '/api/secrets', access: { kind: 'global', perm: 'read' }, summary: "The caller's secrets: metadata, never values" },
  { op: 'createSecret', method: 'POST', path: '/api/secrets', access: { kind: 'global', perm: 'write' }, summary: 'Create a secret {name, value}' },
  { op: 'getSecret', method: 'GET', path: '/api/secrets/{id}', access: { kind: 'global', perm: 'read' }, summary: "A secret's metadata" },
  { op: 'updateSecret', method: 'PUT', path: '/api/secrets/{id}', access: { kind: 'global', perm: 'write' }, summary: "Replace a secret's value {value}" },
  { op: 'deleteSecret', method: 'DELETE', path: '/api/secrets/{id}', access: { kind: 'global', perm: 'write' }, summary: 'Delete a secret' },
  { op: 'listUsers', method: 'GET', path: '/api/users', access: { kind: 'global', perm: 'admin' }, summary: 'Every user (admin)' },
  { op: 'getUser', method: 'GET', path: '/api/users/{id}', access: { kind: 'signed-in' }, summary: 'A user by its UUID: yourself, or anyone as an admin' },
  { op: 'contractEnv', method: 'GET', path: '/api/function-contract/{execution}/env', access: fn('execute'), summary: "A running execution's secrets (its instance only)", internal: true },
  { op: 'contractObject', method: 'GET', path: '/api/function-contract/{execution}/objects/{ref}', access: fn('execute'), summary: "An object a running execution named (its instance only)", internal: true },
];

/** Each route's path as a pattern: `{x}` one segment, a trailing `{ref}` the rest. */
const patterns = routes.map((r) => new RegExp(`^${r.path.replace(/\{ref\}/, '(.+)').replace(/\{[a-z_]+\}/g, '([^/]+)')}$`));

interface Match {
  route: Route;
  params: string[];
}

/**
 * The seed-003 platform's API (docs/compat/seed-003.md) over Ferry's services: its auth, functions
 * (image or folder, run under the seed-003 contract), durable executions, per-function objects,
 * secrets and users, answering errors as `{"error", "message"}` (and Ferry's `code`). On with
 * `--compat seed003`. Every request goes through the listener's rate limits and the management
 * API's CORS policy, and its functions' runs through the invocation pipeline, as everything else does.
 */
export function seed003Surface(ctx: SurfaceContext): HttpSurface<Match> | undefined {
  if (!ctx.options.compat.includes('seed003')) return undefined;
  const s = ctx.services;
  const trusted = new IpList(ctx.options.trustProxy);
  const functions = new SeedFunctions(s.service);
  const ids = new SeedUserIds(join(ctx.options.dataDir, 'seed003', 'user-ids.json'));
  const secret = ctx.options.seed003JwtSecret;
  const tokens = secret ? new SeedTokens(secret, ctx.options.accessTokenTtlMs, ids, () => s.accounts.listUsers()) : undefined;
  const accounts = new SeedAccounts(s.accounts, s.secrets, ids, tokens);
  const callers = new ExecutionCallers(join(ctx.options.dataDir, 'seed003', 'callers'));
  const executions = new SeedExecutions({ service: s.service, functions, executions: s.executions, objects: s.objects, secrets: s.secrets, accounts: s.accounts, callers });
  let pruning: NodeJS.Timeout | undefined;
  const json = async (req: IncomingMessage): Promise<unknown> => {
    const text = (await readBody(req, 1024 * 1024)).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      throw new FerryError('malformed-json', 'the body is not valid JSON');
    }
  };
  const form = async (req: IncomingMessage, max: number) => parseFormData(req.headers['content-type'] ?? '', await readBody(req, max));
  const who = async (req: IncomingMessage): Promise<Principal> => {
    const header = req.headers.authorization;
    return tokens && (await tokens.owns(header)) ? tokens.verify(header!) : s.auth.authenticate(header, req);
  };
  // The management API's CORS policy (`--cors-origin`), as the seed's gateway gave its API one.
  const cors = apiCorsPolicy(ctx.options);

  const serve = async (req: IncomingMessage, res: ServerResponse, m: Match): Promise<void> => {
    const [a = '', b = ''] = m.params;
    const address = (): string => clientAddress(req, trusted);
    switch (m.route.op) {
      case 'register':
        // A public route: a credential that does not authenticate only means "not an admin".
        return send(res, 201, await accounts.register(req.headers.authorization ? await who(req).catch(() => undefined) : undefined, await json(req), address()));
      case 'login':
        return send(res, 200, await accounts.login(await json(req), address()));
      case 'contractEnv':
        return send(res, 200, await executions.env(await who(req), a));
      case 'contractObject': {
        const o = await executions.object(await who(req), a, decode(b));
        res.writeHead(200, { 'content-type': o.contentType, 'content-length': o.size, 'x-content-type-options': 'nosniff' });
        return void (await pipeline(o.body, res).catch(() => o.body.destroy()));
      }
    }
    const p = await who(req);
    switch (m.route.op) {
      case 'listFunctions':
        return send(res, 200, { functions: await functions.list(p) });
      case 'createFunction': {
        const type = req.headers['content-type'] ?? '';
        const created = /^multipart\/form-data/i.test(type) ? await functions.createFromUpload(p, await form(req, s.maxUploadBytes)) : await functions.createFromImage(p, await json(req));
        return send(res, 201, created);
      }
      case 'getFunction':
        return send(res, 200, await functions.get(p, a));
      case 'deleteFunction':
        await functions.remove(p, a);
        return send(res, 200, { message: 'function deleted' });
      case 'execute':
        return send(res, 201, await executions.submit(p, await json(req)));
      case 'listExecutions':
        return send(res, 200, await executions.list(p, executionPage(new URL(req.url ?? '/', 'http://x').searchParams)));
      case 'getExecution':
        return send(res, 200, await executions.get(p, a));
      case 'listObjects': {
        const name = functions.may(p, a, 'read');
        const page = await s.objects.list(name, { limit: '1000' });
        return send(res, 200, { objects: page.objects.map((o) => objectView(a, o.key, o.size, o.contentType, o.createdAt)) });
      }
      case 'uploadObject': {
        const name = functions.may(p, a, 'write');
        const file = (await form(req, s.maxUploadBytes)).get('file');
        if (!file) throw new FerryError('invalid-body', 'the form needs a file field');
        const { meta } = await s.objects.put(name, decode(b), { 'content-type': file.contentType }, Readable.from([file.body]), { exempt: isAdmin(p) });
        return send(res, 201, objectView(a, meta.key, meta.size, meta.contentType, meta.createdAt));
      }
      case 'getObject': {
        const { record, body } = await s.objects.open(functions.may(p, a, 'read'), decode(b));
        res.writeHead(200, { 'content-type': record.contentType, 'content-length': record.size, 'x-content-type-options': 'nosniff', 'content-security-policy': "sandbox; default-src 'none'", 'content-disposition': `attachment; filename="${objectMeta(record).key.replace(/[^A-Za-z0-9._-]/g, '_')}"` });
        return void (await pipeline(body, res).catch(() => body.destroy()));
      }
      case 'deleteObject':
        await s.objects.remove(functions.may(p, a, 'write'), decode(b));
        return send(res, 204);
      case 'listSecrets':
        return send(res, 200, { secrets: await accounts.listSecrets(p) });
      case 'createSecret':
        return send(res, 201, await accounts.createSecret(p, await json(req)));
      case 'getSecret':
        return send(res, 200, await accounts.getSecret(p, a));
      case 'updateSecret':
        return send(res, 200, await accounts.updateSecret(p, a, await json(req)));
      case 'deleteSecret':
        await accounts.removeSecret(p, a);
        return send(res, 204);
      case 'listUsers':
        return send(res, 200, { users: await accounts.listUsers(p) });
      case 'getUser':
        return send(res, 200, await accounts.getUser(p, decode(a)));
    }
  };

  return {
    name: 'seed003',
    routes: routes.map((r) => ({ method: r.method, path: r.path, ...(r.path.endsWith('{ref}') ? { rest: true } : {}), access: r.access })),
    // Paths an instance reaches over its own API socket (the contract's secrets and objects).
    instancePaths: /^\/api\/function-contract\//,
    match: (req) => {
      const url = req.url ?? '/';
      if (!url.startsWith('/auth/') && !url.startsWith('/api/')) return undefined;
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      let known = false;
      for (let i = 0; i < routes.length; i++) {
        const hit = patterns[i]!.exec(path);
        if (!hit) continue;
        known = true;
        if (routes[i]!.method === req.method) return { route: routes[i]!, params: hit.slice(1) };
      }
      // A path of this API with another method: its 405; a path under its prefixes it does not
      // have: its 404. Either in its own shape, rather than another surface's answer.
      return { route: { op: 'register', method: known ? '' : '-', path, access: { kind: 'public' }, summary: '' }, params: [] };
    },
    handle: async (req, res, m) => {
      // As every management answer of Ferry's: the caller's sane request id, or a new one.
      res.setHeader('x-request-id', httpRequestId(req.headers['x-request-id']));
      try {
        if (cors && applyApiCors(cors, req, res)) return;
        if (m.route.method === '') throw new FerryError('method-not-allowed', `${req.method} is not served on ${m.route.path}`);
        if (m.route.method === '-') throw new FerryError('route-not-found', `no route ${m.route.path.slice(0, 200)}`);
        await serve(req, res, m);
      } catch (err) {
        req.resume();
        answerError(res, FerryError.from(err));
      }
    },
    operations: () => operations(),
    // Bindings of executions Ferry no longer keeps go, hourly.
    start: () => {
      const prune = (): void => void callers.prune(ctx.options.executionRetentionMs + 86_400_000).catch((err: unknown) => ctx.logger.warn({ err }, 'pruning seed-003 execution callers failed'));
      prune();
      pruning = setInterval(prune, 3_600_000);
      pruning.unref();
    },
    close: () => clearInterval(pruning),
  };
}

function objectView(functionId: string, key: string, size: number, contentType: string, createdAt: string) {
  return { id: uuidShape(createHash('sha256').update(`${functionId}\0${key}`).digest('hex')), name: key, size, content_type: contentType, created_at: createdAt };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FerryError('invalid-key', `'${segment.slice(0, 80)}' is not valid percent-encoding`);
  }
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status);
    return void res.end();
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * `{"error", "message"}` as the seed answers, with the seed's statuses (400 for any bad input,
 * where Ferry says 422), and Ferry's `code` beside them for scripts that tell causes apart.
 */
function answerError(res: ServerResponse, e: FerryError): void {
  if (res.headersSent) return void res.destroy();
  const status = e.status === 422 ? 400 : e.status;
  const error = e.code === 'malformed-json' ? 'invalid_input' : e.code.replaceAll('-', '_');
  const text = JSON.stringify({ error, message: e.message, code: e.code });
  res.writeHead(status, { ...e.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function operations(): OpenApiPaths {
  const out: OpenApiPaths = {};
  for (const r of routes) {
    if (r.internal) continue;
    const params = [...r.path.matchAll(/\{([a-z_]+)\}/g)].map((x) => ({ name: x[1]!, in: 'path', required: true, schema: { type: 'string' } }));
    out[r.path] ??= {};
    out[r.path]![r.method.toLowerCase()] = {
      operationId: `seed003${r.op[0]!.toUpperCase()}${r.op.slice(1)}${r.path.includes('/objects/') || r.path.endsWith('/objects') ? 'Long' : ''}`,
      summary: r.summary,
      tags: ['seed003'],
      security: r.access.kind === 'public' ? [{}] : [{ bearer: [] }],
      'x-ferry-access': r.access,
      ...(params.length ? { parameters: params } : {}),
      responses: {
        '200': { description: 'Done' },
        default: { description: '`{"error", "message", "code"}`' },
      },
    };
  }
  return out;
}
