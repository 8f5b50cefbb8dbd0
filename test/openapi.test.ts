/**
 * The OpenAPI document served at /v1/openapi.json against what the real server does: every
 * documented path and method is routed, every undocumented method on a documented path is 405,
 * the document matches the router's own route table both ways, and the security declared per
 * operation is the security enforced.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { expectProblem } from './support/helpers.js';
import { createApi } from '../src/api/index.js';

interface Operation {
  operationId: string;
  'x-ferry-surface'?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses: Record<string, unknown>;
  requestBody?: { content: Record<string, unknown> };
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const PUBLIC = new Set(['GET /healthz', 'GET /v1/openapi.json', 'GET /v1/errors', 'POST /v1/auth/register', 'POST /v1/auth/login', 'POST /v1/auth/refresh', 'POST /v1/auth/logout', 'POST /v1/auth/session']);

let ferry: Ferry;
let doc: Doc;
before(async () => {
  ferry = await startFerry();
  const res = await fetch(`${ferry.url}/v1/openapi.json`);
  assert.equal(res.status, 200, 'the document is served without a token');
  doc = (await res.json()) as Doc;
});
after(() => disposeFerry(ferry));

const concrete = (template: string): string => template.replace(/\{[^}]+\}/g, 'x');

/**
 * Every documented operation of the management API (`x-ferry-surface: v1`) as `METHOD
 * /path/template`; the invocation surfaces' operations are checked in test/pipeline.test.ts.
 */
function documented(): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) for (const m of Object.keys(item)) if (item[m]!['x-ferry-surface'] === 'v1') out.push(`${m.toUpperCase()} ${path}`);
  return out.sort();
}

/** A request that reaches the handler (a small body of the kind the route takes). */
function probe(method: string, path: string, op: Operation | undefined, token = true): Promise<Response> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${ferry.token}` } : {};
  let body: BodyInit | undefined;
  const types = Object.keys(op?.requestBody?.content ?? {});
  if (types.includes('application/json')) {
    headers['content-type'] = 'application/json';
    body = '{}';
  } else if (types.length > 0) {
    headers['content-type'] = types[0]!;
    body = new Uint8Array([1, 2, 3]);
  } else if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
    headers['content-type'] = 'application/json';
    body = '{}';
  }
  return fetch(ferry.url + concrete(path), { method, headers, body });
}

test('the document is OpenAPI 3.1.0 with a bearer security scheme', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(typeof doc.info.title, 'string');
  assert.equal(typeof doc.info.version, 'string');
  assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
  assert.ok(Object.keys(doc.paths).length >= 10, `only ${Object.keys(doc.paths).length} paths`);
  const ids = documented().map((k) => {
    const [m, p] = k.split(' ') as [string, string];
    return doc.paths[p]![m.toLowerCase()]!.operationId;
  });
  assert.equal(new Set(ids).size, ids.length, 'operationIds are not unique');
  for (const [path, item] of Object.entries(doc.paths)) {
    const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    for (const [m, op] of Object.entries(item)) {
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      assert.deepEqual(declared, names, `${m.toUpperCase()} ${path}: path parameters`);
      assert.ok(op.responses.default, `${m.toUpperCase()} ${path}: no default (problem) response`);
    }
  }
});

test("the document and the router's route table list the same operations", () => {
  // The table is static data; createApi only stores its dependencies for the handlers, which are
  // never called here.
  const router = createApi({
    service: {},
    pool: {},
    logs: {},
    metrics: {},
    auth: {},
    metricsPublic: false,
    maxUploadBytes: 1,
    isReady: () => true,
    version: 'test',
  } as never);
  const table = router.table.map((r) => `${r.method} ${r.path}`).sort();
  assert.deepEqual(documented(), table);
});

test('every documented path and method is routed (never route-not-found or method-not-allowed)', async () => {
  for (const key of documented()) {
    const [method, path] = key.split(' ') as [string, string];
    const res = await probe(method, path, doc.paths[path]![method.toLowerCase()]);
    const text = await res.text();
    if (res.status === 404 || res.status === 405) {
      const code = (JSON.parse(text) as { code?: string }).code;
      assert.ok(code !== 'route-not-found' && code !== 'method-not-allowed', `${key} answered ${res.status} ${code}`);
    }
  }
});

test('every undocumented method on a documented path answers 405 method-not-allowed', async () => {
  let probed = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      if (item[m]) continue;
      probed++;
      await expectProblem(await probe(m.toUpperCase(), path, undefined), 405, 'method-not-allowed', `${m.toUpperCase()} ${path}`);
    }
  }
  assert.ok(probed > 0);
});

test('405 answers carry an Allow header with the documented methods (RFC 9110 §15.5.6)', async () => {
  for (const [path, item] of Object.entries(doc.paths)) {
    const missing = METHODS.find((m) => !item[m]);
    if (!missing) continue;
    const res = await probe(missing.toUpperCase(), path, undefined);
    await res.text();
    assert.equal(res.status, 405);
    const allow = (res.headers.get('allow') ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    for (const m of Object.keys(item)) assert.ok(allow.includes(m), `${missing.toUpperCase()} ${path}: Allow '${res.headers.get('allow') ?? ''}' lacks ${m.toUpperCase()}`);
  }
});

test('non-public operations declare bearer security; health, the document and the login routes declare none', () => {
  for (const key of documented()) {
    const [method, path] = key.split(' ') as [string, string];
    const op = doc.paths[path]![method.toLowerCase()]!;
    if (PUBLIC.has(key)) {
      assert.ok(op.security === undefined || op.security.length === 0, `${key} is public but declares ${JSON.stringify(op.security)}`);
    } else {
      assert.deepEqual(op.security, [{ bearer: [] }], `${key} security`);
    }
  }
  for (const key of PUBLIC) assert.ok(documented().includes(key), `${key} is not documented`);
});

test('the declared security is the enforced security', async () => {
  for (const key of documented()) {
    const [method, path] = key.split(' ') as [string, string];
    const op = doc.paths[path]![method.toLowerCase()]!;
    const res = await probe(method, path, op, false);
    if (op.security && op.security.length > 0) {
      await expectProblem(res, 401, 'unauthorized', `${key} without a token`);
    } else {
      const text = await res.text();
      assert.notEqual(res.status, 401, `${key} is documented as public but answered 401: ${text}`);
    }
  }
});
