/**
 * ShortedFaaS's `lambda(input, environment)` contract on Ferry's node runtime. The user's file
 * (`SHORTEDFAAS_FILE`) exports the function as `module.exports`, `exports.lambda`, a default
 * export or an export named `lambda`. `input` is the body as text; `environment` holds the
 * request's headers (lower-case names), method, content type and accept, and `code`, the status
 * the answer gets (200, or 202 when called through `/a/`), which the function may set. Its return
 * value is the body: a string or bytes as they are, nothing as empty, anything else as JSON.
 * Copied into the package (as `_shortedfaas_handler.mjs`); it imports nothing of Ferry.
 */
type Lambda = (input: string, environment: Environment) => unknown;

interface Environment {
  headers: Record<string, string>;
  method: string;
  contentType: string;
  accept: string;
  code: number;
}

const file = process.env.SHORTEDFAAS_FILE ?? './lambda.js';
const mod = (await import(new URL(file, import.meta.url).href)) as Record<string, unknown>;
const lambda = pick(mod);
if (!lambda) throw new TypeError(`${file} must export a function lambda(input, environment)`);

function pick(m: Record<string, unknown>): Lambda | undefined {
  if (typeof m.lambda === 'function') return m.lambda as Lambda;
  const d = m.default as Record<string, unknown> | Lambda | undefined;
  if (typeof d === 'function') return d;
  if (d && typeof d.lambda === 'function') return d.lambda as Lambda;
  return undefined;
}

export default async (request: Request, context: { body: ReadableStream | null }): Promise<Response> => {
  const input = context.body ? await new Response(context.body).text() : '';
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => (headers[k] = v));
  const environment: Environment = {
    headers,
    method: request.method,
    contentType: headers['content-type'] ?? '',
    accept: headers.accept ?? '',
    code: headers['x-shortedfaas-async'] ? 202 : 200,
  };
  const out = await lambda(input, environment);
  const status = Number.isInteger(environment.code) && environment.code >= 200 && environment.code <= 599 ? environment.code : 500;
  if (out === undefined || out === null) return new Response('', { status });
  if (typeof out === 'string') return new Response(out, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  if (out instanceof Uint8Array) return new Response(out as BodyInit, { status, headers: { 'content-type': 'application/octet-stream' } });
  return new Response(JSON.stringify(out), { status, headers: { 'content-type': 'application/json' } });
};
