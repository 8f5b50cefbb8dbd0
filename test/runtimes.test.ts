import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';

let ferry: Ferry;
before(async () => {
  ferry = await startFerry();
});
after(() => disposeFerry(ferry));

test('node: a JavaScript handler answers, with context and request id', async () => {
  await ferry.deploy('hello-node', {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }),
    'package.json': '{"type":"module"}',
    'index.js': 'export default (req, ctx) => ({ fn: ctx.function, version: ctx.version, rid: ctx.requestId, url: req.url, method: req.method });',
  });
  const res = await fetch(`${ferry.url}/fn/hello-node/a/b?x=1`, { headers: { 'x-request-id': 'rid-123' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-request-id'), 'rid-123');
  // Sandboxed by default: the answer names its tier (never the unsandboxed `none`).
  assert.equal(res.headers.get('x-ferry-sandbox'), 'bwrap');
  const body = (await res.json()) as Record<string, string>;
  assert.equal(body.fn, 'hello-node');
  assert.equal(body.version, 'v1');
  assert.equal(body.rid, 'rid-123');
  assert.equal(body.method, 'GET');
  assert.match(body.url!, /\/a\/b\?x=1$/);
});

test('node: a TypeScript handler is compiled at upload', async () => {
  await ferry.deploy('hello-ts', {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }),
    'index.ts': 'const greet = (who: string): string => `Hello, ${who}!`;\nexport default { fetch: (req: Request): Response => new Response(greet(new URL(req.url).searchParams.get("who") ?? "world")) };\n',
  });
  const res = await fetch(`${ferry.url}/fn/hello-ts?who=ts`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'Hello, ts!');
  const log = await ferry.api('GET', '/v1/functions/hello-ts/versions/v1/build-log');
  assert.match(await log.text(), /index\.ts/);
});

test('node: a TypeScript syntax error fails the upload with the compiler message and leaves no version', async () => {
  const { packFiles } = await import('./support/ferry.js');
  const archive = await packFiles({ 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }), 'index.ts': 'export default (req: Request => 1;\n' });
  const res = await ferry.api('POST', '/v1/functions/broken-ts/versions', archive, { 'content-type': 'application/gzip' });
  assert.equal(res.status, 422);
  const p = (await res.json()) as { code: string; detail: string };
  assert.equal(p.code, 'build-failed');
  assert.match(p.detail, /index\.ts\(1,\d+\)/);
  assert.equal((await ferry.api('GET', '/v1/functions/broken-ts')).status, 404);
});

test('python: handler(request) with json body, query and a tuple return', async () => {
  await ferry.deploy('hello-py', {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py' }),
    'main.py': [
      'def handler(request):',
      '    if request.method == "POST":',
      '        data = request.json()',
      '        return (201, {"x-made": "yes"}, {"got": data, "q": request.query.get("q")})',
      '    return "hello from python"',
      '',
    ].join('\n'),
  });
  const get = await fetch(`${ferry.url}/fn/hello-py`);
  assert.equal(get.status, 200);
  assert.equal(await get.text(), 'hello from python');
  const post = await fetch(`${ferry.url}/fn/hello-py/x?q=7`, { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' } });
  assert.equal(post.status, 201);
  assert.equal(post.headers.get('x-made'), 'yes');
  assert.deepEqual(await post.json(), { got: { a: 1 }, q: '7' });
});

test('exec: stdin to stdout, metadata in the environment, exit code to status', async () => {
  await ferry.deploy('hello-exec', {
    'ferry.json': JSON.stringify({ runtime: 'exec', command: ['./run.sh'] }),
    'run.sh': { content: '#!/bin/sh\nbody=$(cat)\nif [ "$FERRY_QUERY" = "fail=1" ]; then echo "bad things" >&2; exit 3; fi\necho "$FERRY_METHOD $FERRY_PATH $HTTP_X_TEST $body"\n', mode: 0o755 },
  });
  const ok = await fetch(`${ferry.url}/fn/hello-exec/p`, { method: 'POST', body: 'ping', headers: { 'x-test': 'yes', proxy: 'http://evil' } });
  assert.equal(ok.status, 200);
  assert.equal((await ok.text()).trim(), 'POST /p yes ping');
  const bad = await fetch(`${ferry.url}/fn/hello-exec?fail=1`);
  assert.equal(bad.status, 500);
});

test('http: the function runs its own server on PORT and Ferry proxies to it', async () => {
  await ferry.deploy('hello-http', {
    'ferry.json': JSON.stringify({ runtime: 'http', command: ['node', 'server.js'] }),
    'server.js': "require('http').createServer((q, s) => { s.setHeader('x-path', q.url); s.end('hello from http'); }).listen(process.env.PORT, '127.0.0.1');\n",
  });
  const res = await fetch(`${ferry.url}/fn/hello-http/deep/path?z=1`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-path'), '/deep/path?z=1');
  assert.equal(await res.text(), 'hello from http');
});

test('http: a server on another port than PORT fails its start at once, and the logs say which port', { timeout: 30_000 }, async () => {
  // A node server (the relay inside its process) and any other program (the relay as supervisor).
  const servers: Array<[string, Record<string, string>]> = [
    ['wrong-port-node', { 'ferry.json': JSON.stringify({ runtime: 'http', command: ['node', 'server.js'] }), 'server.js': "require('http').createServer((q, s) => s.end('x')).listen(3000, '127.0.0.1');\n" }],
    ['wrong-port-sh', { 'ferry.json': JSON.stringify({ runtime: 'http', command: ['/bin/sh', '-c', 'exec python3 -m http.server 3001 --bind 127.0.0.1'] }) }],
  ];
  for (const [name, files] of servers) {
    await ferry.deploy(name, files);
    // The call's own timeout is 30 s: an answer at all before 20 s means it did not wait it out.
    const res = await fetch(`${ferry.url}/fn/${name}`, { headers: { authorization: `Bearer ${ferry.token}` }, signal: AbortSignal.timeout(20_000) });
    const problem = (await res.json()) as { code: string; detail: string };
    assert.equal(res.status, 502, JSON.stringify(problem));
    assert.equal(problem.code, 'instance-start-failed');
    const logs = await (await ferry.api('GET', `/v1/functions/${name}/logs`)).text();
    assert.match(logs, new RegExp(`listens on port ${name.endsWith('node') ? 3000 : 3001}, not on PORT=\\d+`), logs);
  }
});
