/**
 * tinyFaaS's nodejs contract on Ferry's node runtime: the package is the npm package `fn`, whose
 * export is an Express-style `(req, res) => ...`. `req.body` is the body as a string (`""` when
 * empty), `req.headers` has lower-case names, `res.send`/`status`/`json`/`end`/`set` answer.
 * Copied into the package (as `_tinyfaas_handler.mjs`) by Ferry's tinyFaaS API; it runs inside
 * the instance and imports nothing of Ferry.
 */
import { createRequire } from 'node:module';

type Handler = (req: TinyRequest, res: TinyResponse) => unknown;

interface TinyRequest {
  body: string;
  headers: Record<string, string>;
  method: string;
  url: string;
  path: string;
  query: Record<string, string>;
  get(name: string): string | undefined;
}

interface TinyResponse {
  statusCode: number;
  status(code: number): TinyResponse;
  set(name: string | Record<string, string>, value?: string): TinyResponse;
  header(name: string, value: string): TinyResponse;
  send(body?: unknown): TinyResponse;
  json(body: unknown): TinyResponse;
  end(body?: unknown): TinyResponse;
}

// `require('./')` loads the package as tinyFaaS's `require("fn")` does: package.json's `main`, else index.js.
const loaded: unknown = createRequire(import.meta.url)('./');
const user = (typeof loaded === 'function' ? loaded : (loaded as { default?: unknown }).default) as Handler;
if (typeof user !== 'function') throw new TypeError('the package fn must export a function (req, res) => ...');

export default async (request: Request, context: { body: ReadableStream | null }): Promise<Response> => {
  const body = context.body ? await new Response(context.body).text() : '';
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => (headers[k] = v));
  const url = new URL(request.url);
  const req: TinyRequest = {
    body,
    headers,
    method: request.method,
    url: url.pathname + url.search,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    get: (name) => headers[name.toLowerCase()],
  };
  return new Promise<Response>((resolve, reject) => {
    const out: Record<string, string> = {};
    let done = false;
    const finish = (payload: string | Uint8Array, type: string | undefined): void => {
      if (done) return;
      done = true;
      if (type && !Object.keys(out).some((k) => k.toLowerCase() === 'content-type')) out['content-type'] = type;
      resolve(new Response(payload as BodyInit, { status: res.statusCode, headers: out }));
    };
    const res: TinyResponse = {
      statusCode: 200,
      status(code) {
        res.statusCode = code;
        return res;
      },
      set(name, value) {
        if (typeof name === 'string') out[name] = String(value);
        else Object.assign(out, name);
        return res;
      },
      header: (name, value) => res.set(name, value),
      send(b) {
        if (b === undefined || b === null) finish('', undefined);
        else if (typeof b === 'string') finish(b, 'text/html; charset=utf-8');
        else if (b instanceof Uint8Array) finish(b, 'application/octet-stream');
        else if (typeof b === 'object') finish(JSON.stringify(b), 'application/json; charset=utf-8');
        else finish(String(b), 'text/html; charset=utf-8');
        return res;
      },
      json(b) {
        finish(JSON.stringify(b) ?? '', 'application/json; charset=utf-8');
        return res;
      },
      end(b) {
        finish(b === undefined || b === null ? '' : b instanceof Uint8Array ? b : String(b), undefined);
        return res;
      },
    };
    try {
      Promise.resolve(user(req, res)).catch(reject);
    } catch (err) {
      reject(err);
    }
  });
};
