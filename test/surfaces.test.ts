/**
 * HTTP surfaces mount by registry: a surface registered here (a route table, its own credential
 * extractor and error rendering, its rows of the permission table) mounts on Ferry's main
 * listener or on one of its own; two surfaces claiming a route on one listener stop the start,
 * naming both; the OpenAPI document covers every surface that is on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invocationAccess } from '../src/auth/index.js';
import { surfaces } from '../src/surfaces/registry.js';
import type { HttpSurface, SurfaceFactory, SurfaceRoute } from '../src/surfaces/index.js';
import { startInProcess, type InProcessFerry } from './support/in-process.js';
import { expectProblem, nodeFn } from './support/helpers.js';
import { isAnswer, rawRequest } from './support/raw-http.js';

interface Doc {
  paths: Record<string, Record<string, { security: unknown[]; servers?: Array<{ url: string }>; 'x-ferry-surface': string; 'x-ferry-access': { kind: string } }>>;
}

/**
 * A surface of the test's own: `GET /t/{name}` invokes the function at `/`. Its credential is in
 * `X-Test-Key`, its errors are plain text.
 */
function testSurface(name: string, routes: SurfaceRoute[] = [{ method: 'GET', path: '/t/{name}', access: invocationAccess }]): SurfaceFactory {
  return (ctx): HttpSurface<{ name: string; ref: undefined; path: string }> => ({
    name,
    routes,
    match: (req) => {
      const m = /^\/t\/([a-z0-9-]+)$/.exec(req.url ?? '');
      return m ? { name: m[1]!, ref: undefined, path: '/' } : undefined;
    },
    handle: (req, res, route) =>
      ctx.invocations.serve(req, res, route, {
        credential: { header: 'x-test-key', toCredential: (v) => `Bearer ${v}` },
        renderError: (out, err, headers) => {
          out.writeHead(err.status, { ...headers, 'content-type': 'text/plain' });
          out.end(`error: ${err.code}`);
        },
      }),
    operations: () => ({ '/t/{name}': { get: { operationId: `get${name.replace(/-/g, '')}`, summary: 'test', tags: ['test'], parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }], security: [{}, { bearer: [] }], 'x-ferry-access': invocationAccess, responses: { default: { description: 'any' } } } } }),
  });
}

const withSurface = (name: string, factory: SurfaceFactory): Map<string, SurfaceFactory> => new Map([...surfaces, [name, factory]]);

async function deployHello(f: InProcessFerry): Promise<void> {
  await f.deploy('hello', nodeFn("export default (req) => 'hello ' + (req.headers.get('x-test-key') ?? 'no key') + ' ' + (req.headers.get('authorization') ?? 'none');"));
  await f.deploy('guarded', nodeFn("export default () => 'guarded';", { invoke: 'token' }));
}

/** The error a start fails with; a server that starts after all is closed again (and the test fails). */
async function startError(...args: Parameters<typeof startInProcess>): Promise<Error> {
  let started: InProcessFerry;
  try {
    started = await startInProcess(...args);
  } catch (err) {
    return err as Error;
  }
  await started.close();
  assert.fail('the server started');
}

const docOf = async (f: InProcessFerry): Promise<Doc> => (await (await fetch(`${f.url}/v1/openapi.json`)).json()) as Doc;

test('a surface registered in a test mounts on the main listener, with its own credential and error rendering', { timeout: 60_000 }, async (t) => {
  const f = await startInProcess({}, { surfaces: withSurface('test-echo', testSurface('test-echo')) });
  t.after(() => f.close());
  await deployHello(f);
  assert.deepEqual(f.server.listeners.map((l) => l.surfaces), [['fn', 'v1', 'ui', 'test-echo']]);

  const ok = await fetch(`${f.url}/t/hello`);
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), 'hello no key none');
  const missing = await fetch(`${f.url}/t/nope`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('content-type'), 'text/plain');
  assert.ok(missing.headers.get('x-request-id'));
  assert.equal(await missing.text(), 'error: function-not-found');

  // Its own credential extractor: the token is in X-Test-Key, not in Authorization.
  const refused = await fetch(`${f.url}/t/guarded`, { headers: { authorization: `Bearer ${f.token}` } });
  assert.equal(refused.status, 401);
  assert.equal(await refused.text(), 'error: unauthorized');
  const allowed = await fetch(`${f.url}/t/guarded`, { headers: { 'x-test-key': f.token } });
  assert.equal(await allowed.text(), 'guarded');
  // The surface's credential header is Ferry's: the function never sees it; another scheme in
  // Authorization is the function's own.
  const seen = await fetch(`${f.url}/t/hello`, { headers: { 'x-test-key': f.token, authorization: 'Basic dTpw' } });
  assert.equal(await seen.text(), 'hello no key Basic dTpw');

  // The other surfaces are where they were.
  assert.equal(await (await fetch(`${f.url}/fn/hello`)).text(), 'hello no key none');
  assert.equal((await f.api('GET', '/v1/functions/hello')).status, 200);

  const doc = await docOf(f);
  const op = doc.paths['/t/{name}']?.get;
  assert.equal(op?.['x-ferry-surface'], 'test-echo');
  assert.equal(op?.servers, undefined, 'on the main listener: no servers of its own');
});

test('a surface with a listener of its own (--surface-listen) is served there only, and documented with its address', { timeout: 60_000 }, async (t) => {
  const f = await startInProcess({ surfaceListen: 'test-echo=127.0.0.1:0' }, { surfaces: withSurface('test-echo', testSurface('test-echo')) });
  t.after(() => f.close());
  await deployHello(f);
  assert.equal(f.server.listeners.length, 2);
  const [main, own] = f.server.listeners as [{ url: string; surfaces: string[] }, { url: string; surfaces: string[] }];
  assert.deepEqual(main.surfaces, ['fn', 'v1', 'ui']);
  assert.deepEqual(own.surfaces, ['test-echo']);
  assert.notEqual(own.url, main.url);

  assert.equal(await (await fetch(`${own.url}/t/hello`)).text(), 'hello no key none');
  await expectProblem(await fetch(`${main.url}/t/hello`), 404, 'route-not-found', 'the surface is not on the main listener');
  await expectProblem(await fetch(`${own.url}/fn/hello`), 404, 'route-not-found', 'the main listener\'s surfaces are not on its own');
  await expectProblem(await fetch(`${own.url}/v1/functions`), 404, 'route-not-found');

  const doc = await docOf(f);
  assert.deepEqual(doc.paths['/t/{name}']?.get?.servers, [{ url: own.url }]);
  assert.equal(doc.paths['/fn/{name}/{path}']?.get?.servers, undefined);
});

test('two surfaces claiming the same route on one listener fail the start, naming both; apart they start', { timeout: 60_000 }, async (t) => {
  // The seed systems collide like this: tinyFaaS and ShortedFaaS both have /list.
  const list: SurfaceRoute[] = [{ method: 'GET', path: '/list', access: invocationAccess }];
  const two = new Map([...surfaces, ['seed-a', testSurface('seed-a', list)], ['seed-b', testSurface('seed-b', list)]]);
  const clash = await startError({}, { surfaces: two });
  assert.match(clash.message, /'seed-a'/);
  assert.match(clash.message, /'seed-b'/);
  assert.match(clash.message, /GET \/list/);

  // One claiming a path under /fn: a clash with the fn surface's rest of path.
  const under = withSurface('seed-c', testSurface('seed-c', [{ method: 'POST', path: '/fn/status', access: invocationAccess }]));
  assert.match((await startError({}, { surfaces: under })).message, /surfaces 'fn' and 'seed-c' both claim/);
  // One claiming a route of the API.
  const api = withSurface('seed-d', testSurface('seed-d', [{ method: '*', path: '/v1/functions/{name}', access: invocationAccess }]));
  assert.match((await startError({}, { surfaces: api })).message, /surfaces 'v1' and 'seed-d' both claim/);

  // Given a listener of its own, the second is no clash.
  const apart = await startInProcess({ surfaceListen: 'seed-b=127.0.0.1:0' }, { surfaces: two });
  t.after(() => apart.close());
  assert.deepEqual(apart.server.listeners.map((l) => l.surfaces), [['fn', 'v1', 'ui', 'seed-a'], ['seed-b']]);
});

test('with fn on a listener of its own, the /fn links the API answers point there', { timeout: 60_000 }, async (t) => {
  const f = await startInProcess({ surfaceListen: 'fn=127.0.0.1:0' });
  t.after(() => f.close());
  await deployHello(f);
  const own = f.server.listeners.find((l) => l.surfaces.includes('fn'))!;
  assert.notEqual(own.url, f.server.listeners[0]!.url, 'fn listens apart');
  const version = (await (await f.api('GET', '/v1/functions/hello/versions/v1')).json()) as { url: string };
  assert.equal(version.url, `${own.url}/fn/hello@v1`);
  const fn = (await (await f.api('GET', '/v1/functions/hello')).json()) as { url: string };
  assert.equal(fn.url, `${own.url}/fn/hello`);
  // And the link works.
  assert.equal(await (await fetch(version.url)).text(), 'hello no key none');
});

test('--surface-listen: a bad entry or an unknown surface stops the start', async () => {
  assert.match((await startError({ surfaceListen: 'fn' })).message, /--surface-listen: 'fn' is not name=address:port/);
  assert.match((await startError({ surfaceListen: 'nope=127.0.0.1:0' })).message, /no surface named 'nope'/);
});

test('the document covers every surface that is on: /fn always, host routing with --domain; the declared security is enforced', { timeout: 60_000 }, async (t) => {
  const plain = await startInProcess();
  t.after(() => plain.close());
  await plain.deploy('hello', nodeFn("export default () => 'hi';"));
  let doc = await docOf(plain);
  const fnOps = doc.paths['/fn/{name}/{path}']!;
  assert.deepEqual(Object.keys(fnOps).sort(), ['delete', 'get', 'patch', 'post', 'put']);
  for (const op of Object.values(fnOps)) {
    assert.equal(op['x-ferry-surface'], 'fn');
    assert.equal(op['x-ferry-access'].kind, 'invocation');
    assert.deepEqual(op.security, [{}, { bearer: [] }], 'a token is optional: only a function with invoke: token asks');
  }
  assert.equal(doc.paths['/{path}'], undefined, 'no host surface without --domain');
  assert.equal((await fetch(`${plain.url}/fn/hello/x`)).status, 200, 'a public function needs no token');

  const strict = await startInProcess({ invokeAuth: 'token', domain: 'fn.test' });
  t.after(() => strict.close());
  await strict.deploy('hello', nodeFn("export default () => 'hi';"));
  doc = await docOf(strict);
  for (const op of Object.values(doc.paths['/fn/{name}/{path}']!)) assert.deepEqual(op.security, [{ bearer: [] }]);
  await expectProblem(await fetch(`${strict.url}/fn/hello/x`), 401, 'unauthorized', '--invoke-auth token');
  const host = doc.paths['/{path}']!;
  assert.equal(host.get?.['x-ferry-surface'], 'host');
  const hosted = await rawRequest(strict.url, { path: '/x', headers: { host: 'hello.fn.test', authorization: `Bearer ${strict.token}` } });
  assert.ok(isAnswer(hosted));
  assert.equal(hosted.body.toString(), 'hi');
});

test('a surface with work of its own: started once the server serves, closed (and awaited) when it stops', async () => {
  const events: string[] = [];
  const base = testSurface('lifecycle');
  const factory: SurfaceFactory = (ctx) => ({
    ...base(ctx)!,
    start: () => events.push(`start (ready: ${ctx.services.isReady()})`),
    close: async () => {
      // Awaited: the server's stop waits for it.
      await new Promise((r) => setTimeout(r, 50));
      events.push('closed');
    },
  });
  const f = await startInProcess({}, { surfaces: withSurface('lifecycle', factory) });
  assert.deepEqual(events, ['start (ready: true)'], 'started once, once the server serves');
  await f.close();
  assert.equal(events.filter((e) => e === 'closed').length, 1, events.join(', '));
});
