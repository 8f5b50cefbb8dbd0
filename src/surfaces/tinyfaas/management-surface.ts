import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../../auth/index.js';
import { FerryError, toProblem } from '../../errors/index.js';
import { readBody } from '../../service/index.js';
import type { HttpSurface, OpenApiPaths, SurfaceContext } from '../surface.js';
import { TinyFunctions } from './tinyfaas-functions.js';
import { checkTinyName, decodeBase64, parseDeploy, parseJsonBody } from './upload-request.js';
import { fetchArchive } from './zip-fetch.js';
import { endpointLines } from './endpoints.js';

type Action = 'upload' | 'uploadURL' | 'delete' | 'list' | 'logs' | 'wipe';
const methods: Record<Action, 'GET' | 'POST'> = { upload: 'POST', uploadURL: 'POST', delete: 'POST', list: 'GET', logs: 'GET', wipe: 'POST' };
const summaries: Record<Action, string> = {
  upload: 'Deploy a function from a base64 zip: {name, env, threads, zip, envs}; answers its endpoints once it serves',
  uploadURL: 'Deploy a function from a zip the server fetches: {name, env, threads, url, subfolder_path, envs}',
  delete: 'Delete a function of the tinyFaaS API: {name}, or the bare name',
  list: 'The functions of the tinyFaaS API, a name a line',
  logs: 'Their log lines as text (?name= for one)',
  wipe: 'Delete every function of the tinyFaaS API',
};
/** No credentials, as in tinyFaaS: whoever reaches the listener deploys as `--compat-user`. */
const access: Access = { kind: 'public' };

/**
 * tinyFaaS's management API (`/upload`, `/uploadURL`, `/delete`, `/list`, `/logs`, `/wipe`) over
 * Ferry's functions, on with `--compat tinyfaas`. Answers as tinyFaaS does: text on success, 400
 * for a wrong method or a body that is not JSON, 500 for any other failure (with a problem+json
 * body naming Ferry's code).
 */
export function tinyfaasSurface(ctx: SurfaceContext): HttpSurface<Action> | undefined {
  if (!ctx.options.compat.includes('tinyfaas')) return undefined;
  const s = ctx.services;
  const fns = new TinyFunctions({ service: s.service, pool: s.pool, logs: s.logs, accounts: s.accounts, owner: ctx.options.compatUser });
  // The base64 of an upload of --max-upload bytes, and its JSON around it.
  const maxBody = Math.ceil((s.maxUploadBytes * 4) / 3) + 64 * 1024;

  const serve = async (action: Action, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== methods[action]) {
      req.resume();
      throw new FerryError('method-not-allowed', `${action} takes ${methods[action]}`);
    }
    const body = methods[action] === 'POST' ? await readBody(req, maxBody) : undefined;
    switch (action) {
      case 'upload': {
        const b = parseJsonBody(body!);
        const d = parseDeploy(b);
        await fns.deploy(d, decodeBase64(b.zip));
        return text(res, endpointLines(ctx.options, d.name));
      }
      case 'uploadURL': {
        const b = parseJsonBody(body!);
        const d = parseDeploy(b);
        if (typeof b.url !== 'string') throw new FerryError('invalid-body', 'url must be a string');
        const subfolder = b.subfolder_path ?? '';
        if (typeof subfolder !== 'string') throw new FerryError('invalid-body', 'subfolder_path must be a string');
        await fns.deploy(d, await fetchArchive(b.url, s.executions.policy, s.maxUploadBytes), subfolder);
        return text(res, endpointLines(ctx.options, d.name));
      }
      case 'delete': {
        // delete.sh sends the bare name (`curl --data "$1"`); a JSON {name} works too.
        const raw = body!.toString('utf8').trim();
        await fns.delete(/^[a-zA-Z0-9]+$/.test(raw) ? raw : checkTinyName(parseJsonBody(body!).name));
        return text(res, '');
      }
      case 'list':
        return text(res, (await fns.list()).map((n) => `${n}\n`).join(''));
      case 'logs': {
        const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name');
        return text(res, await fns.logs(name ? name : undefined));
      }
      case 'wipe':
        await fns.wipe();
        return text(res, '');
    }
  };

  return {
    name: 'tinyfaas',
    routes: (Object.keys(methods) as Action[]).map((a) => ({ method: '*', path: `/${a}`, access })),
    match: (req: IncomingMessage) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = (q < 0 ? url : url.slice(0, q)).slice(1);
      return Object.hasOwn(methods, path) ? (path as Action) : undefined;
    },
    handle: async (req, res, action) => {
      try {
        await serve(action, req, res);
      } catch (err) {
        answerError(res, FerryError.from(err));
      }
    },
    operations: () => operations(),
  };
}

function text(res: ServerResponse, body: string): void {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** tinyFaaS's statuses (400: wrong method or not JSON; 500: the rest), Ferry's code in the body. */
function answerError(res: ServerResponse, err: FerryError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = err.code === 'malformed-json' || err.code === 'method-not-allowed' ? 400 : err.code === 'body-too-large' ? 413 : 500;
  const body = JSON.stringify({ ...toProblem(err), status });
  res.writeHead(status, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), ...(status === 413 ? { connection: 'close' } : {}) });
  res.end(body);
}

function operations(): OpenApiPaths {
  const out: OpenApiPaths = {};
  for (const a of Object.keys(methods) as Action[]) {
    out[`/${a}`] = {
      [methods[a].toLowerCase()]: {
        operationId: `tinyfaas${a[0]!.toUpperCase()}${a.slice(1)}`,
        summary: summaries[a],
        tags: ['tinyfaas'],
        security: [{}],
        'x-ferry-access': access,
        ...(methods[a] === 'POST' ? { requestBody: { required: a !== 'wipe', content: { '*/*': { schema: { type: 'string' } } } } } : {}),
        responses: {
          '200': { description: 'Done; text', content: { 'text/plain': { schema: { type: 'string' } } } },
          '400': { description: 'Wrong method, or the body is not JSON' },
          '500': { description: 'Anything else failed (unknown function, bad base64 or zip, ...)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
        },
      },
    };
  }
  return out;
}
