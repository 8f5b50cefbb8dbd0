/**
 * The management API end to end against a real server: authentication, routing errors, versions,
 * manifests, configuration overrides, aliases and weighted splits, instances, deletion, function
 * logs (plain and followed), token-protected invocation, metrics and health.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startFerry, disposeFerry, packFiles, type Ferry, type PackageFiles } from './support/ferry.js';
import { expectProblem, nodeFn, readLinesUntil, until, versionFn } from './support/helpers.js';

let ferry: Ferry;
before(async () => {
  ferry = await startFerry();
});
after(() => disposeFerry(ferry));

/** Uploads `files` as a new (or named) version; answers the raw response. */
async function upload(name: string, files: PackageFiles, opts: { version?: string; contentType?: string } = {}): Promise<Response> {
  const archive = await packFiles(files);
  const path = opts.version ? `/v1/functions/${name}/versions/${opts.version}` : `/v1/functions/${name}/versions`;
  return ferry.api(opts.version ? 'PUT' : 'POST', path, archive, { 'content-type': opts.contentType ?? 'application/gzip' });
}

async function call(path: string, init?: RequestInit): Promise<{ status: number; text: string; res: Response }> {
  const res = await fetch(`${ferry.url}${path}`, init);
  return { status: res.status, text: await res.text(), res };
}

async function json<T = Record<string, unknown>>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text) as T;
}

const fakeToken = (): string => `fry_${randomBytes(32).toString('base64url')}`;

/** Every management route that needs a token, with placeholder parameters. */
const protectedRoutes: Array<[string, string]> = [
  ['GET', '/v1/functions'],
  ['GET', '/v1/functions/authprobe'],
  ['DELETE', '/v1/functions/authprobe'],
  ['POST', '/v1/functions/authprobe/versions'],
  ['GET', '/v1/functions/authprobe/versions'],
  ['PUT', '/v1/functions/authprobe/versions/v1'],
  ['GET', '/v1/functions/authprobe/versions/v1'],
  ['PATCH', '/v1/functions/authprobe/versions/v1'],
  ['DELETE', '/v1/functions/authprobe/versions/v1'],
  ['GET', '/v1/functions/authprobe/versions/v1/build-log'],
  ['POST', '/v1/functions/authprobe/versions/v1/start'],
  ['POST', '/v1/functions/authprobe/versions/v1/stop'],
  ['GET', '/v1/functions/authprobe/aliases'],
  ['PUT', '/v1/functions/authprobe/aliases/prod'],
  ['DELETE', '/v1/functions/authprobe/aliases/prod'],
  ['GET', '/v1/functions/authprobe/instances'],
  ['GET', '/v1/functions/authprobe/logs'],
  ['GET', '/metrics'],
];

function bodyFor(method: string, path: string): { body?: BodyInit; headers: Record<string, string> } {
  if (method === 'POST' && path.endsWith('/versions')) return { body: new Uint8Array([1, 2, 3]), headers: { 'content-type': 'application/gzip' } };
  if (method === 'PUT' && path.includes('/versions/')) return { body: new Uint8Array([1, 2, 3]), headers: { 'content-type': 'application/gzip' } };
  if (method === 'PUT' || method === 'PATCH') return { body: '{}', headers: { 'content-type': 'application/json' } };
  return { headers: {} };
}

// ---------------------------------------------------------------------------------------------
// Authentication and routing errors

test('auth: every protected route answers 401 unauthorized without a token', async () => {
  for (const [method, path] of protectedRoutes) {
    const { body, headers } = bodyFor(method, path);
    const res = await fetch(ferry.url + path, { method, body, headers });
    await expectProblem(res, 401, 'unauthorized', `${method} ${path}`);
  }
});

test('auth: a well-formed but unknown fry_ token answers 401 invalid-token', async () => {
  for (const [method, path] of protectedRoutes) {
    const { body, headers } = bodyFor(method, path);
    const res = await fetch(ferry.url + path, { method, body, headers: { ...headers, authorization: `Bearer ${fakeToken()}` } });
    await expectProblem(res, 401, 'invalid-token', `${method} ${path}`);
  }
});

test('auth: a malformed Authorization header (Basic x, bare token, garbage token) answers 401 token-malformed', async () => {
  for (const authorization of ['Basic x', ferry.token, 'Bearer not-a-ferry-token', 'Bearer', 'Bearer fry_short', 'Bearer a.b']) {
    for (const [method, path] of protectedRoutes) {
      const { body, headers } = bodyFor(method, path);
      const res = await fetch(ferry.url + path, { method, body, headers: { ...headers, authorization } });
      await expectProblem(res, 401, 'token-malformed', `${method} ${path} with Authorization: ${authorization.slice(0, 12)}`);
    }
  }
});

test('auth: a well-formed token this server never issued answers 401 invalid-token', async () => {
  const forgedJwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZG1pbiIsImlzcyI6ImZlcnJ5IiwiYXVkIjoiZmVycnktYXBpIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2lnbmF0dXJlLW5vdC1tYWRlLWJ5LWZlcnJ5LWF0LWFsbC14eHh4eHh4';
  for (const token of ['fry_' + 'A'.repeat(43), forgedJwt]) {
    for (const [method, path] of protectedRoutes) {
      const { body, headers } = bodyFor(method, path);
      const res = await fetch(ferry.url + path, { method, body, headers: { ...headers, authorization: `Bearer ${token}` } });
      await expectProblem(res, 401, 'invalid-token', `${method} ${path} with ${token.slice(0, 8)}`);
    }
  }
});

test('routing: an unknown route answers 404 route-not-found (with and without a token)', async () => {
  for (const path of ['/v1/nope', '/v1/functions/a/b/c/d/e/f', '/nothing-here', '/v2/functions']) {
    await expectProblem(await ferry.api('GET', path), 404, 'route-not-found', path);
    await expectProblem(await fetch(ferry.url + path), 404, 'route-not-found', `${path} without token`);
  }
});

test('routing: a known route with a wrong method answers 405 method-not-allowed', async () => {
  for (const [method, path] of [
    ['PATCH', '/v1/functions'],
    ['POST', '/v1/functions/x'],
    ['DELETE', '/v1/functions/x/versions'],
    ['POST', '/v1/functions/x/aliases'],
    ['PUT', '/v1/functions/x/logs'],
    ['POST', '/healthz'],
    ['DELETE', '/v1/openapi.json'],
  ] as const) {
    await expectProblem(await ferry.api(method, path, {}), 405, 'method-not-allowed', `${method} ${path}`);
  }
});

test('public routes: /healthz answers 200 without a token', async () => {
  const res = await fetch(`${ferry.url}/healthz`);
  assert.deepEqual(await json(res), { status: 'ok' });
});

test('metrics: /metrics needs a token; with one it serves ferry_requests_total', async () => {
  // At least one invocation so the counter has a sample.
  await ferry.deploy('metricsfn', nodeFn('export default () => "m";'));
  assert.equal((await call('/fn/metricsfn')).status, 200);
  await expectProblem(await fetch(`${ferry.url}/metrics`), 401, 'unauthorized');
  const res = await ferry.api('GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  assert.match(text, /^# TYPE ferry_requests_total counter$/m);
  assert.match(text, /^ferry_requests_total\{[^}]*function="metricsfn"[^}]*\} \d+/m);
});

// ---------------------------------------------------------------------------------------------
// Versions

test('versions: POST picks v1, v2, ...; PUT creates a named version, 409 when it exists', async () => {
  const r1 = await upload('ver', versionFn('a'));
  const v1 = await json<{ version: string; url: string; seq: number }>(r1, 201);
  assert.equal(v1.version, 'v1');
  assert.equal(v1.seq, 1);
  assert.equal(r1.headers.get('location'), '/v1/functions/ver/versions/v1');
  assert.equal(v1.url, `${ferry.url}/fn/ver@v1`);
  const v2 = await json<{ version: string }>(await upload('ver', versionFn('b')), 201);
  assert.equal(v2.version, 'v2');

  const named = await upload('ver', versionFn('c'), { version: 'stable' });
  assert.equal(named.headers.get('location'), '/v1/functions/ver/versions/stable');
  assert.equal((await json<{ version: string }>(named, 201)).version, 'stable');
  const again = await expectProblem(await upload('ver', versionFn('d'), { version: 'stable' }), 409, 'version-exists');
  assert.match(again.detail, /stable/);
  // The named version is not replaced: it still serves its own code.
  assert.equal((await call('/fn/ver@stable')).text, 'stable');

  const list = await json<{ versions: Array<{ version: string }> }>(await ferry.api('GET', '/v1/functions/ver/versions'));
  assert.deepEqual(list.versions.map((v) => v.version).sort(), ['stable', 'v1', 'v2']);

  const one = await json<{ version: string; function: string; manifest: { runtime: string }; config: { scaling: { concurrency: number } }; packageSha: string }>(
    await ferry.api('GET', '/v1/functions/ver/versions/v2'),
  );
  assert.equal(one.function, 'ver');
  assert.equal(one.version, 'v2');
  assert.equal(one.manifest.runtime, 'node');
  assert.equal(typeof one.config.scaling.concurrency, 'number');
  assert.match(one.packageSha, /^[0-9a-f]{64}$/);

  const fn = await json<{ name: string; latest: string; versions: number }>(await ferry.api('GET', '/v1/functions/ver'));
  assert.equal(fn.name, 'ver');
  assert.equal(fn.latest, 'stable');
  assert.equal(fn.versions, 3);

  const log = await ferry.api('GET', '/v1/functions/ver/versions/v1/build-log');
  assert.equal(log.status, 200);
  assert.match(log.headers.get('content-type') ?? '', /^text\/plain/);
  await log.text();
  await expectProblem(await ferry.api('GET', '/v1/functions/ver/versions/v9/build-log'), 404, 'version-not-found');
  await expectProblem(await ferry.api('GET', '/v1/functions/ver/versions/v9'), 404, 'version-not-found');

  const del = await ferry.api('DELETE', '/v1/functions/ver/versions/v1');
  assert.equal(del.status, 204);
  await expectProblem(await ferry.api('GET', '/v1/functions/ver/versions/v1'), 404, 'version-not-found');
  await expectProblem(await ferry.api('DELETE', '/v1/functions/ver/versions/v1'), 404, 'version-not-found');
  const gone = await call('/fn/ver@v1');
  assert.equal(gone.status, 404, gone.text);
  // Sequence numbers are not reused after a delete.
  assert.equal((await json<{ version: string }>(await upload('ver', versionFn('e')), 201)).version, 'v4');
});

test('versions: a named v<digits> version does not block the next POST', async () => {
  assert.equal((await json<{ version: string }>(await upload('seqs', versionFn('1')), 201)).version, 'v1');
  const put = await upload('seqs', versionFn('3'), { version: 'v3' });
  if (put.status === 422) {
    // Also fine: the server reserves v<digits> names for itself.
    await expectProblem(put, 422, 'invalid-name');
    return;
  }
  assert.equal((await json<{ version: string }>(put, 201)).version, 'v3');
  const seen = new Set(['v1', 'v3']);
  for (let i = 0; i < 2; i++) {
    const res = await upload('seqs', versionFn(`next${i}`));
    const text = await res.text();
    assert.equal(res.status, 201, `POST #${i + 1} after PUT v3: ${res.status} ${text}`);
    const v = (JSON.parse(text) as { version: string }).version;
    assert.ok(!seen.has(v), `POST picked ${v} twice`);
    seen.add(v);
  }
});

test('versions: bad function and version names answer 422 invalid-name', async () => {
  const files = versionFn('names');
  for (const bad of ['Bad_Name', 'a'.repeat(64), '-x', 'UPPER', 'dot.ted']) {
    await expectProblem(await upload(encodeURIComponent(bad), files), 422, 'invalid-name', `function ${bad}`);
    await expectProblem(await upload('goodname', files, { version: encodeURIComponent(bad) }), 422, 'invalid-name', `version ${bad}`);
  }
  // 63 characters is still fine.
  const ok = await upload('b'.repeat(63), files);
  assert.equal(ok.status, 201, await ok.text());
  await expectProblem(await ferry.api('GET', '/v1/functions/goodname'), 404, 'function-not-found');
});

// ---------------------------------------------------------------------------------------------
// Manifests and uploads

test('manifest: an unknown key answers 422 invalid-manifest naming the key', async () => {
  const p = await expectProblem(
    await upload('mf-unknown', { 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'i.js', colour: 1 }), 'i.js': 'export default () => 1;' }),
    422,
    'invalid-manifest',
  );
  assert.match(p.detail, /colour/);
  await expectProblem(await ferry.api('GET', '/v1/functions/mf-unknown'), 404, 'function-not-found');
});

test('manifest: a wrong type answers 422 invalid-manifest naming scaling.concurrency', async () => {
  const p = await expectProblem(
    await upload('mf-type', { 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'i.js', scaling: { concurrency: 'x' } }), 'i.js': 'export default () => 1;' }),
    422,
    'invalid-manifest',
  );
  assert.match(p.detail, /scaling\.concurrency/);
});

test('manifest: an archive without ferry.json answers 422 invalid-manifest', async () => {
  const p = await expectProblem(await upload('mf-missing', { 'index.js': 'export default () => 1;' }), 422, 'invalid-manifest');
  assert.match(p.detail, /ferry\.json/);
  const bad = await expectProblem(await upload('mf-missing', { 'ferry.json': '{"runtime": ', 'index.js': '' }), 422, 'invalid-manifest');
  assert.match(bad.detail, /JSON/);
  await expectProblem(await ferry.api('GET', '/v1/functions/mf-missing'), 404, 'function-not-found');
});

test('manifest: reserved env names PORT, FERRY_*, HTTP_* answer 422 invalid-env', async () => {
  for (const name of ['PORT', 'FERRY_X', 'HTTP_Y']) {
    const p = await expectProblem(await upload('mf-env', nodeFn('export default () => 1;', { env: { OK: '1', [name]: 'v' } })), 422, 'invalid-env', name);
    assert.match(p.detail, new RegExp(name));
  }
  await expectProblem(await ferry.api('GET', '/v1/functions/mf-env'), 404, 'function-not-found');
});

test('upload: a wrong Content-Type answers 415 unsupported-media-type (JSON is a registry image\'s ferry.json)', async () => {
  await expectProblem(await upload('mf-ctype', versionFn('ct'), { contentType: 'text/plain' }), 415, 'unsupported-media-type');
  // JSON is a registry image's ferry.json (image.ref): an archive sent as JSON is not JSON.
  await expectProblem(await upload('mf-ctype', versionFn('ct'), { contentType: 'application/json' }), 400, 'malformed-json');
  await expectProblem(await ferry.api('GET', '/v1/functions/mf-ctype'), 404, 'function-not-found');
});

// ---------------------------------------------------------------------------------------------
// PATCH: configuration overrides

test('patch: env overrides reach the function; malformed JSON, wrong type and reserved names are refused', async () => {
  await ferry.deploy('envfn', nodeFn('export default () => process.env.X ?? "unset";', { env: { X: 'one' } }));
  assert.equal((await call('/fn/envfn')).text, 'one');

  await expectProblem(await ferry.api('PATCH', '/v1/functions/envfn/versions/v1', '{"env": {', { 'content-type': 'application/json' }), 400, 'malformed-json');
  await expectProblem(await ferry.api('PATCH', '/v1/functions/envfn/versions/v1', '{"env": {"X": "two"}}', { 'content-type': 'text/plain' }), 415, 'unsupported-media-type');
  for (const name of ['PORT', 'FERRY_X', 'HTTP_Y']) {
    await expectProblem(await ferry.api('PATCH', '/v1/functions/envfn/versions/v1', { env: { [name]: 'v' } }), 422, 'invalid-env', name);
  }
  const unknown = await expectProblem(await ferry.api('PATCH', '/v1/functions/envfn/versions/v1', { runtime: 'python' }), 422, 'invalid-body');
  assert.match(unknown.detail, /runtime/);
  await expectProblem(await ferry.api('PATCH', '/v1/functions/envfn/versions/v7', { env: { X: 'z' } }), 404, 'version-not-found');
  // None of the refused patches changed anything.
  assert.equal((await call('/fn/envfn')).text, 'one');

  const patched = await json<{ override: { env: Record<string, string> }; config: { env: Record<string, string> } }>(
    await ferry.api('PATCH', '/v1/functions/envfn/versions/v1', { env: { X: 'two' } }),
  );
  assert.deepEqual(patched.override.env, { X: 'two' });
  assert.equal(patched.config.env.X, 'two');
  assert.equal((await call('/fn/envfn')).text, 'two');
  const got = await json<{ config: { env: Record<string, string> } }>(await ferry.api('GET', '/v1/functions/envfn/versions/v1'));
  assert.equal(got.config.env.X, 'two');
});

// ---------------------------------------------------------------------------------------------
// Aliases

test('aliases: point, move, latest, reserved names, missing targets, version-in-use, delete', async () => {
  await ferry.deploy('al', versionFn('1'));
  await ferry.deploy('al', versionFn('2'));

  const put = await json<{ alias: string; target: unknown; url: string }>(await ferry.api('PUT', '/v1/functions/al/aliases/prod', { version: 'v1' }));
  assert.equal(put.alias, 'prod');
  assert.deepEqual(put.target, { version: 'v1' });
  assert.equal(put.url, `${ferry.url}/fn/al@prod`);
  assert.equal((await call('/fn/al@prod')).text, 'v1');
  assert.equal((await call('/fn/al@prod/some/path?q=1')).text, 'v1');

  await json(await ferry.api('PUT', '/v1/functions/al/aliases/prod', { version: 'v2' }));
  assert.equal((await call('/fn/al@prod')).text, 'v2');

  // latest (explicit or implied) is always the newest version.
  assert.equal((await call('/fn/al')).text, 'v2');
  assert.equal((await call('/fn/al@latest')).text, 'v2');
  await ferry.deploy('al', versionFn('3'));
  assert.equal((await call('/fn/al')).text, 'v3');
  assert.equal((await call('/fn/al@latest')).text, 'v3');
  assert.equal((await call('/fn/al@v1')).text, 'v1');

  for (const reserved of ['latest', 'v3', 'v10']) {
    await expectProblem(await ferry.api('PUT', `/v1/functions/al/aliases/${reserved}`, { version: 'v1' }), 422, 'invalid-alias', reserved);
  }
  await expectProblem(await ferry.api('PUT', '/v1/functions/al/aliases/Bad_Alias', { version: 'v1' }), 422, 'invalid-name');
  const missing = await expectProblem(await ferry.api('PUT', '/v1/functions/al/aliases/ghost', { version: 'v42' }), 422, 'invalid-alias');
  assert.match(missing.detail, /v42/);
  await expectProblem(await ferry.api('PUT', '/v1/functions/al/aliases/ghost', { weights: { v1: 50, v42: 50 } }), 422, 'invalid-alias');
  await expectProblem(await ferry.api('PUT', '/v1/functions/al/aliases/ghost', { target: 'v1' }), 422, 'invalid-body');
  await expectProblem(await ferry.api('PUT', '/v1/functions/al/aliases/ghost', '{"version":', { 'content-type': 'application/json' }), 400, 'malformed-json');
  await expectProblem(await ferry.api('PUT', '/v1/functions/nofn/aliases/ghost', { version: 'v1' }), 404, 'function-not-found');
  await expectProblem(await ferry.api('PUT', '/v1/functions/al/aliases/prod', { version: 'v1' }, { 'content-type': 'text/plain' }), 415, 'unsupported-media-type');

  // A version an alias uses cannot go.
  const inUse = await expectProblem(await ferry.api('DELETE', '/v1/functions/al/versions/v2'), 409, 'version-in-use');
  assert.match(inUse.detail, /prod/);
  assert.equal((await call('/fn/al@prod')).text, 'v2');

  const list = await json<{ aliases: Array<{ alias: string; target: unknown }> }>(await ferry.api('GET', '/v1/functions/al/aliases'));
  assert.deepEqual(list.aliases.map((a) => [a.alias, a.target]), [['prod', { version: 'v2' }]]);

  assert.equal((await ferry.api('DELETE', '/v1/functions/al/aliases/prod')).status, 204);
  await expectProblem(await fetch(`${ferry.url}/fn/al@prod`), 404, 'alias-not-found');
  await expectProblem(await ferry.api('DELETE', '/v1/functions/al/aliases/prod'), 404, 'alias-not-found');
  // Now the version can go.
  assert.equal((await ferry.api('DELETE', '/v1/functions/al/versions/v2')).status, 204);
});

test('aliases: a weighted split 50/50 sends exactly 100 of 200 calls to each version', async () => {
  await ferry.deploy('split', versionFn('1'));
  await ferry.deploy('split', versionFn('2'));
  const put = await json<{ target: unknown }>(await ferry.api('PUT', '/v1/functions/split/aliases/canary', { weights: { v1: 50, v2: 50 } }));
  assert.deepEqual(put.target, { weights: { v1: 50, v2: 50 } });
  const counts: Record<string, number> = {};
  for (let batch = 0; batch < 10; batch++) {
    const answers = await Promise.all(Array.from({ length: 20 }, () => call('/fn/split@canary')));
    for (const a of answers) {
      assert.equal(a.status, 200, a.text);
      counts[a.text] = (counts[a.text] ?? 0) + 1;
    }
  }
  assert.deepEqual(counts, { v1: 100, v2: 100 });
  // Both versions are in use by the split.
  await expectProblem(await ferry.api('DELETE', '/v1/functions/split/versions/v1'), 409, 'version-in-use');
  await expectProblem(await ferry.api('DELETE', '/v1/functions/split/versions/v2'), 409, 'version-in-use');
  await expectProblem(await ferry.api('PUT', '/v1/functions/split/aliases/zero', { weights: { v1: 0, v2: 0 } }), 422, 'invalid-body');
  await expectProblem(await ferry.api('PUT', '/v1/functions/split/aliases/neg', { weights: { v1: -1, v2: 5 } }), 422, 'invalid-body');
});

test('invocation: unknown function 404 function-not-found, unknown ref 404 alias-not-found, both with x-request-id', async () => {
  await ferry.deploy('known', versionFn('k'));
  const nope = await fetch(`${ferry.url}/fn/nope`);
  assert.ok(nope.headers.get('x-request-id'));
  await expectProblem(nope, 404, 'function-not-found');
  await expectProblem(await fetch(`${ferry.url}/fn/nope/deep/path?x=1`), 404, 'function-not-found');
  const ref = await fetch(`${ferry.url}/fn/known@nosuchref`);
  assert.ok(ref.headers.get('x-request-id'));
  await expectProblem(ref, 404, 'alias-not-found');
});

// ---------------------------------------------------------------------------------------------
// Instances

test('instances: after a call one instance shows with its version, inFlight 0, served >= 1', async () => {
  await ferry.deploy('inst', versionFn('i'));
  assert.equal((await call('/fn/inst')).status, 200);
  type Inst = { id: string; version: string; state: string; inFlight: number; served: number; startedAt: string };
  const list = await until(async () => {
    const r = await json<{ instances: Inst[] }>(await ferry.api('GET', '/v1/functions/inst/instances'));
    return r.instances.length === 1 && r.instances[0]!.inFlight === 0 && r.instances[0]!.served >= 1 ? r : undefined;
  });
  assert.ok(list, 'the instance did not settle at inFlight 0, served >= 1');
  const [i] = list.instances;
  assert.equal(i!.version, 'v1');
  assert.equal(i!.state, 'ready');
  assert.ok(!Number.isNaN(Date.parse(i!.startedAt)));
  await expectProblem(await ferry.api('GET', '/v1/functions/noinst/instances'), 404, 'function-not-found');
});

test('instances: start makes an instance appear, stop removes every instance', async () => {
  await ferry.deploy('startstop', versionFn('s'));
  const list = async (): Promise<Array<{ version: string; state: string }>> =>
    (await json<{ instances: Array<{ version: string; state: string }> }>(await ferry.api('GET', '/v1/functions/startstop/instances'))).instances;
  assert.equal((await list()).length, 0, 'nothing runs before the first call');

  const started = await ferry.api('POST', '/v1/functions/startstop/versions/v1/start');
  assert.deepEqual(await json(started, 202), { function: 'startstop', version: 'v1', state: 'started' });
  const after = await list();
  assert.ok(after.length >= 1, 'start made no instance');
  assert.ok(after.every((i) => i.version === 'v1'));

  const stopped = await ferry.api('POST', '/v1/functions/startstop/versions/v1/stop');
  assert.deepEqual(await json(stopped, 202), { function: 'startstop', version: 'v1', state: 'stopped' });
  assert.deepEqual(await list(), []);
  // A call after stop starts a fresh instance on demand.
  assert.equal((await call('/fn/startstop')).text, 'v1');

  await expectProblem(await ferry.api('POST', '/v1/functions/startstop/versions/v9/start'), 404, 'version-not-found');
  await expectProblem(await ferry.api('POST', '/v1/functions/nostart/versions/v1/stop'), 404, 'function-not-found');
});

// ---------------------------------------------------------------------------------------------
// Deleting a function

test('delete function: 204, then the function, its versions, instances and invocations answer 404', async () => {
  await ferry.deploy('gone', versionFn('g'));
  assert.equal((await call('/fn/gone')).text, 'v1');
  assert.equal((await ferry.api('DELETE', '/v1/functions/gone')).status, 204);
  await expectProblem(await ferry.api('GET', '/v1/functions/gone'), 404, 'function-not-found');
  await expectProblem(await ferry.api('GET', '/v1/functions/gone/versions'), 404, 'function-not-found');
  await expectProblem(await ferry.api('GET', '/v1/functions/gone/instances'), 404, 'function-not-found');
  await expectProblem(await fetch(`${ferry.url}/fn/gone`), 404, 'function-not-found');
  await expectProblem(await fetch(`${ferry.url}/fn/gone@v1`), 404, 'function-not-found');
  await expectProblem(await ferry.api('DELETE', '/v1/functions/gone'), 404, 'function-not-found');
  const all = await json<{ functions: Array<{ name: string }> }>(await ferry.api('GET', '/v1/functions'));
  assert.ok(!all.functions.some((f) => f.name === 'gone'));
  // The name can be used again, starting at v1.
  assert.equal((await ferry.deploy('gone', versionFn('g2'))).version, 'v1');
});

// ---------------------------------------------------------------------------------------------
// Function logs

interface LogLine {
  id: number | null;
  time: string;
  function: string;
  version: string;
  instance: string;
  stream: string;
  requestId: string | null;
  line: string;
}

test('logs: a console.log line is stored with the request id of its call (NDJSON)', async () => {
  await ferry.deploy('logger', nodeFn('export default (req) => { console.log("marker " + new URL(req.url).searchParams.get("m")); return "logged"; };'));
  const r = await call('/fn/logger?m=first');
  assert.equal(r.text, 'logged');
  const rid = r.res.headers.get('x-request-id');
  assert.ok(rid, 'no x-request-id on the answer');

  let lastBody = '';
  const found = await until(async () => {
    const res = await ferry.api('GET', '/v1/functions/logger/logs');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    lastBody = await res.text();
    const lines = lastBody.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
    return lines.find((l) => l.line === 'marker first');
  }, 5_000);
  assert.ok(found, `no 'marker first' line in the logs:\n${lastBody}`);
  assert.equal(found.requestId, rid);
  assert.equal(found.function, 'logger');
  assert.equal(found.version, 'v1');
  assert.equal(found.stream, 'stdout');
  assert.ok(!Number.isNaN(Date.parse(found.time)));

  await expectProblem(await ferry.api('GET', '/v1/functions/logger/logs?limit=-1'), 400, 'invalid-query');
  await expectProblem(await ferry.api('GET', '/v1/functions/nologs/logs'), 404, 'function-not-found');
});

test('logs: ?follow=1 streams a line logged after the follow started', async () => {
  await ferry.deploy('follower', nodeFn('export default (req) => { console.log("follow-marker " + new URL(req.url).searchParams.get("m")); return "ok"; };'));
  // A first call so the backlog is not empty.
  assert.equal((await call('/fn/follower?m=before')).text, 'ok');
  const ac = new AbortController();
  const res = await fetch(`${ferry.url}/v1/functions/follower/logs?follow=1`, { headers: { authorization: `Bearer ${ferry.token}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  const r = await call('/fn/follower?m=live');
  assert.equal(r.text, 'ok');
  const rid = r.res.headers.get('x-request-id');
  const seen = await readLinesUntil(res, ac, (line) => {
    const l = JSON.parse(line) as LogLine;
    return l.line === 'follow-marker live' && l.requestId === rid;
  });
  assert.ok(seen.length >= 1);
});

// ---------------------------------------------------------------------------------------------
// invoke: "token"

test('invoke token: calls need a bearer token and the function never sees the Authorization header', async () => {
  await ferry.deploy('secret', nodeFn('export default (req) => Object.fromEntries(req.headers);', { invoke: 'token' }));
  const noToken = await fetch(`${ferry.url}/fn/secret`);
  assert.ok(noToken.headers.get('x-request-id'));
  await expectProblem(noToken, 401, 'unauthorized');
  await expectProblem(await fetch(`${ferry.url}/fn/secret`, { headers: { authorization: `Bearer ${fakeToken()}` } }), 401, 'invalid-token');
  await expectProblem(await fetch(`${ferry.url}/fn/secret`, { headers: { authorization: 'Basic x' } }), 401, 'token-malformed');

  const ok = await fetch(`${ferry.url}/fn/secret/p?q=1`, { headers: { authorization: `Bearer ${ferry.token}`, 'x-probe': 'seen' } });
  const text = await ok.text();
  assert.equal(ok.status, 200, text);
  const headers = JSON.parse(text) as Record<string, string>;
  assert.equal(headers['x-probe'], 'seen', 'the function should see ordinary headers');
  assert.equal(headers.authorization, undefined, 'the function saw the Authorization header');
  assert.ok(!text.includes(ferry.token), 'the token leaked into the function');

  // A public function does get the Authorization header: it is not Ferry's to strip there.
  await ferry.deploy('openfn', nodeFn('export default (req) => Object.fromEntries(req.headers);'));
  const open = (await (await fetch(`${ferry.url}/fn/openfn`, { headers: { authorization: 'Bearer app-level' } })).json()) as Record<string, string>;
  assert.equal(open.authorization, 'Bearer app-level');
});

// ---------------------------------------------------------------------------------------------
// Edge cases found while testing

test('routing: a malformed percent-encoding in a path parameter answers 4xx, not 500 internal', async () => {
  for (const path of ['/v1/functions/%zz', '/v1/functions/%E0%A4%A/versions', '/v1/functions/x/aliases/%']) {
    const res = await ferry.api('GET', path);
    const text = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `GET ${path} answered ${res.status}: ${text}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  }
});

test('aliases: a version and an alias never share a name (no silent shadowing)', async () => {
  await ferry.deploy('shadow', versionFn('1'));
  await ferry.deploy('shadow', versionFn('2'));
  assert.equal((await ferry.api('PUT', '/v1/functions/shadow/aliases/prod', { version: 'v1' })).status, 200);
  assert.equal((await call('/fn/shadow@prod')).text, 'v1');

  // A new version named like an existing alias must not take over the alias' traffic.
  const put = await upload('shadow', versionFn('prod-named'), { version: 'prod' });
  const putText = await put.text();
  if (put.status === 201) {
    assert.equal((await call('/fn/shadow@prod')).text, 'v1', `after PUT version 'prod' (201), @prod no longer follows the alias prod -> v1`);
  } else {
    assert.ok(put.status === 409 || put.status === 422, `PUT version 'prod': ${put.status} ${putText}`);
  }

  // An alias named like an existing version must not be accepted and then be unreachable.
  assert.equal((await json<{ version: string }>(await upload('shadow', versionFn('stable'), { version: 'stable' }), 201)).version, 'stable');
  const alias = await ferry.api('PUT', '/v1/functions/shadow/aliases/stable', { version: 'v1' });
  const aliasText = await alias.text();
  if (alias.status === 200) {
    assert.equal((await call('/fn/shadow@stable')).text, 'v1', `alias stable -> v1 was accepted (200) but @stable does not reach it`);
  } else {
    assert.ok(alias.status === 409 || alias.status === 422, `PUT alias 'stable': ${alias.status} ${aliasText}`);
  }
});

test('logs: ?follow=1 on a function with no log lines yet answers its headers at once', async () => {
  await ferry.deploy('quiet', versionFn('q'));
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 2_000);
  let status: number | string;
  try {
    const res = await fetch(`${ferry.url}/v1/functions/quiet/logs?follow=1`, { headers: { authorization: `Bearer ${ferry.token}` }, signal: ac.signal });
    status = res.status;
  } catch (err) {
    status = `no response headers within 2 s (${(err as Error).name})`;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  assert.equal(status, 200);
});
