/**
 * Per-function objects against the real server (default bwrap driver): multi-MB bodies streamed
 * both ways, content type and sha256 ETag kept, prefix listing in pages, key checks, size cap and
 * quota, who may touch whose objects, the CLI, and node and python functions using them (and
 * calling another function) through their instance socket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, writeFile, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startFerry, disposeFerry, packFiles, type Ferry, type PackageFiles } from './support/ferry.js';
import { expectProblem, nodeFn, runCli, show, versionFn } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;
const MiB = 1024 * 1024;
const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

let ferry: Ferry;
const tokens: Record<string, string> = {};

function call(who: string, method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : {}), ...init.headers };
  const stream = init.body instanceof ReadableStream;
  return fetch(ferry.url + path, { method, headers, body: init.body, ...(stream ? { duplex: 'half' } : {}) } as RequestInit);
}

/** `size` bytes sent as a chunked stream (no Content-Length). */
function streamOf(data: Buffer): ReadableStream<Uint8Array> {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += 256 * 1024) parts.push(data.subarray(off, off + 256 * 1024));
  return Readable.toWeb(Readable.from(parts)) as unknown as ReadableStream<Uint8Array>;
}

async function deployAs(who: string, name: string, files: PackageFiles, query = ''): Promise<void> {
  const res = await call(who, 'POST', `/v1/functions/${name}/versions${query}`, { body: Buffer.from(await packFiles(files)), headers: { 'content-type': 'application/gzip' } });
  assert.equal(res.status, 201, await res.text());
}

before(async () => {
  if (skip) return;
  ferry = await startFerry({ args: ['--object-max-bytes', '12MiB', '--quota-object-bytes', '30MiB'] });
  tokens.admin = ferry.token;
  for (const [name, groups] of [
    ['alice', ['permission:read', 'permission:write', 'permission:execute', 'permission:remove', 'custom:team']],
    ['bob', ['permission:read', 'permission:write', 'permission:execute', 'permission:remove']],
    ['reader', ['permission:read', 'custom:team']],
  ] as const) {
    assert.equal((await ferry.api('POST', '/v1/users', { name, groups })).status, 201);
    tokens[name] = ((await (await ferry.api('POST', '/v1/tokens', { user: name })).json()) as { token: string }).token;
  }
  await deployAs('alice', 'files', versionFn('files'), '?group=custom:team');
});
after(async () => {
  if (!skip) await disposeFerry(ferry);
});

test('a 10 MiB object streams in and out with its content type and sha256 ETag; If-None-Match answers 304', { skip }, async () => {
  const data = randomBytes(10 * MiB);
  const put = await call('alice', 'PUT', '/v1/functions/files/objects/big/data.bin', { body: streamOf(data), headers: { 'content-type': 'application/x-big' } });
  const meta = (await put.json()) as Record<string, unknown>;
  assert.equal(put.status, 201, JSON.stringify(meta));
  const etag = `"${sha(data)}"`;
  assert.deepEqual({ key: meta.key, size: meta.size, contentType: meta.contentType, etag: meta.etag, sha256: meta.sha256 }, { key: 'big/data.bin', size: data.length, contentType: 'application/x-big', etag, sha256: sha(data) });
  assert.equal(put.headers.get('etag'), etag);

  const get = await call('reader', 'GET', '/v1/functions/files/objects/big/data.bin');
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('content-type'), 'application/x-big');
  assert.equal(get.headers.get('content-length'), String(data.length));
  assert.equal(get.headers.get('etag'), etag);
  assert.equal(get.headers.get('x-content-type-options'), 'nosniff');
  const hash = createHash('sha256');
  let chunks = 0;
  for await (const c of get.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(c);
    chunks++;
  }
  assert.equal(hash.digest('hex'), sha(data));
  assert.ok(chunks > 1, 'the answer streamed in more than one chunk');

  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const r = await call('alice', 'GET', '/v1/functions/files/objects/big/data.bin', { headers: { 'if-none-match': inm } });
    assert.equal(r.status, 304, inm);
    assert.equal(r.headers.get('etag'), etag);
    assert.equal(await r.text(), '');
  }
  assert.equal((await call('alice', 'GET', '/v1/functions/files/objects/big/data.bin', { headers: { 'if-none-match': '"other"' } })).status, 200);
  const head = await call('alice', 'HEAD', '/v1/functions/files/objects/big/data.bin');
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(data.length));

  // Replacing keeps the key, answers 200; a %2F is a / like any other.
  const again = await call('alice', 'PUT', '/v1/functions/files/objects/big%2Fdata.bin', { body: 'small', headers: { 'content-type': 'text/plain' } });
  assert.equal(again.status, 200);
  assert.equal((await again.json() as { created?: unknown; size: number }).size, 5);
  assert.equal(await (await call('alice', 'GET', '/v1/functions/files/objects/big/data.bin')).text(), 'small');
  // No Content-Type: stored as octet-stream. Keys are UTF-8.
  const plain = await call('alice', 'PUT', `/v1/functions/files/objects/${encodeURIComponent('dir')}/${encodeURIComponent('ü ñ.txt')}`, { body: new Uint8Array([1, 2]) });
  assert.equal(plain.status, 201);
  const got = await call('alice', 'GET', '/v1/functions/files/objects/dir/%C3%BC%20%C3%B1.txt');
  assert.equal(got.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual(new Uint8Array(await got.arrayBuffer()), new Uint8Array([1, 2]));
});

test('listing: by prefix, in key order, in pages with a cursor', { skip }, async () => {
  const keys = Array.from({ length: 25 }, (_, i) => `logs/2026/${String(i).padStart(2, '0')}.txt`);
  for (const k of [...keys, 'logs/other', 'logsx', 'zz']) assert.equal((await call('alice', 'PUT', `/v1/functions/files/objects/${k}`, { body: k })).status, 201);
  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await call('reader', 'GET', `/v1/functions/files/objects?prefix=logs/2026/&limit=10${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200);
    const page = (await res.json()) as { objects: Array<{ key: string; size: number; etag: string }>; cursor: string | null };
    assert.ok(page.objects.length <= 10);
    seen.push(...page.objects.map((o) => o.key));
    for (const o of page.objects) assert.equal(o.etag, `"${sha(o.key)}"`);
    cursor = page.cursor;
    pages++;
  } while (cursor);
  assert.deepEqual(seen, keys);
  assert.equal(pages, 3);
  const zeros = (await (await call('alice', 'GET', '/v1/functions/files/objects?prefix=logs/2026/0')).json()) as { objects: Array<{ key: string }>; cursor: null };
  assert.deepEqual(zeros.objects.map((o) => o.key), keys.slice(0, 10));
  assert.equal(zeros.cursor, null);
  const logs = (await (await call('alice', 'GET', '/v1/functions/files/objects?prefix=logs')).json()) as { objects: Array<{ key: string }> };
  assert.deepEqual(logs.objects.map((o) => o.key).slice(-2), ['logs/other', 'logsx']);
  await expectProblem(await call('alice', 'GET', '/v1/functions/files/objects?cursor=%%%'), 400, 'invalid-query');
  await expectProblem(await call('alice', 'GET', '/v1/functions/files/objects?limit=0'), 400, 'invalid-query');
  await expectProblem(await call('alice', 'GET', '/v1/functions/files/objects?limit=5000'), 400, 'invalid-query');
});

test('bad keys answer 422 invalid-key', { skip }, async () => {
  const bad = ['a//b', 'a%2F..%2Fb', 'a%2F.%2Fb', '..%2Fx', 'a%01b', 'tab%09', 'del%7F', 'x%E0%A4%A', `${'k'.repeat(1025)}`, `${'é'.repeat(513)}`];
  for (const k of bad) {
    for (const method of ['PUT', 'GET', 'DELETE']) {
      await expectProblem(await call('alice', method, `/v1/functions/files/objects/${k}`, method === 'PUT' ? { body: 'x' } : {}), 422, 'invalid-key', `${method} ${k}`);
    }
  }
  assert.equal((await call('alice', 'PUT', `/v1/functions/files/objects/${'k'.repeat(1024)}`, { body: 'x' })).status, 201, '1024 bytes is fine');
  await expectProblem(await call('alice', 'PUT', '/v1/functions/files/objects/ok', { body: 'x', headers: { 'content-type': 'no media type' } }), 415, 'unsupported-media-type');
});

test('over --object-max-bytes is 413, declared or streamed, and leaves the old object; the per-function quota is 403', { skip }, async () => {
  assert.equal((await call('alice', 'PUT', '/v1/functions/files/objects/capped', { body: 'before' })).status, 201);
  const over = randomBytes(12 * MiB + 1);
  await expectProblem(await call('alice', 'PUT', '/v1/functions/files/objects/capped', { body: over }), 413, 'object-too-large', 'with Content-Length');
  await expectProblem(await call('alice', 'PUT', '/v1/functions/files/objects/capped', { body: streamOf(over) }), 413, 'object-too-large', 'chunked');
  assert.equal(await (await call('alice', 'GET', '/v1/functions/files/objects/capped')).text(), 'before');
  assert.equal((await call('alice', 'PUT', '/v1/functions/files/objects/exact', { body: streamOf(over.subarray(0, 12 * MiB)) })).status, 201, 'exactly the cap is fine');

  await deployAs('alice', 'quota', versionFn('quota'));
  const part = randomBytes(11 * MiB);
  assert.equal((await call('alice', 'PUT', '/v1/functions/quota/objects/a', { body: part })).status, 201);
  assert.equal((await call('alice', 'PUT', '/v1/functions/quota/objects/b', { body: streamOf(part) })).status, 201);
  await expectProblem(await call('alice', 'PUT', '/v1/functions/quota/objects/c', { body: part }), 403, 'quota-exceeded');
  await expectProblem(await call('alice', 'PUT', '/v1/functions/quota/objects/c', { body: streamOf(part) }), 403, 'quota-exceeded');
  // Replacing counts the new size only.
  assert.equal((await call('alice', 'PUT', '/v1/functions/quota/objects/b', { body: streamOf(randomBytes(11 * MiB)) })).status, 200);
  assert.equal((await call('alice', 'DELETE', '/v1/functions/quota/objects/a')).status, 204);
  assert.equal((await call('alice', 'PUT', '/v1/functions/quota/objects/c', { body: part })).status, 201);
});

test("permissions: another group's function's objects are not found; read is not write", { skip }, async () => {
  assert.equal((await call('alice', 'PUT', '/v1/functions/files/objects/private.txt', { body: 'mine' })).status, 201);
  await expectProblem(await call('bob', 'GET', '/v1/functions/files/objects'), 404, 'function-not-found');
  await expectProblem(await call('bob', 'GET', '/v1/functions/files/objects/private.txt'), 404, 'function-not-found');
  await expectProblem(await call('bob', 'PUT', '/v1/functions/files/objects/private.txt', { body: 'theirs' }), 404, 'function-not-found');
  await expectProblem(await call('bob', 'DELETE', '/v1/functions/files/objects/private.txt'), 404, 'function-not-found');
  await expectProblem(await call('reader', 'PUT', '/v1/functions/files/objects/private.txt', { body: 'x' }), 403, 'forbidden');
  await expectProblem(await call('reader', 'DELETE', '/v1/functions/files/objects/private.txt'), 403, 'forbidden');
  await expectProblem(await call('nobody', 'GET', '/v1/functions/files/objects/private.txt'), 401, 'unauthorized');
  assert.equal(await (await call('reader', 'GET', '/v1/functions/files/objects/private.txt')).text(), 'mine');
  assert.equal((await call('alice', 'DELETE', '/v1/functions/files/objects/private.txt')).status, 204);
  await expectProblem(await call('alice', 'DELETE', '/v1/functions/files/objects/private.txt'), 404, 'object-not-found');
  await expectProblem(await call('alice', 'GET', '/v1/functions/files/objects/private.txt'), 404, 'object-not-found');
});

test('deleting the function deletes its objects and their content in the data dir', { skip }, async () => {
  await deployAs('alice', 'doomed', versionFn('doomed'));
  const content = `only in doomed ${Date.now()}`;
  assert.equal((await call('alice', 'PUT', '/v1/functions/doomed/objects/k', { body: content })).status, 201);
  const blobs = async (): Promise<string[]> => (await readdir(join(ferry.dataDir, 'objects', sha(content).slice(0, 2))).catch(() => [])).filter((n) => n === sha(content));
  assert.equal((await blobs()).length, 1);
  assert.equal((await call('alice', 'DELETE', '/v1/functions/doomed')).status, 204);
  assert.deepEqual(await blobs(), []);
  await deployAs('alice', 'doomed', versionFn('doomed'));
  assert.deepEqual(((await (await call('alice', 'GET', '/v1/functions/doomed/objects')).json()) as { objects: unknown[] }).objects, []);
});

test('ferry objects put|ls|get|rm', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-objects-cli-'));
  try {
    const env = { FERRY_URL: ferry.url, FERRY_TOKEN: tokens.alice };
    await writeFile(join(dir, 'in.csv'), 'a,b\n1,2\n');
    let r = await runCli(['objects', 'put', 'files', 'cli/in.csv', join(dir, 'in.csv'), '--content-type', 'text/csv'], { env });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /cli\/in\.csv \(8 B, text\/csv\)/);
    r = await runCli(['objects', 'put', 'files', 'cli/stdin.txt', '-'], { env, input: 'from stdin' });
    assert.equal(r.code, 0, show(r));
    r = await runCli(['objects', 'ls', 'files', 'cli/'], { env });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^KEY\s+SIZE\s+TYPE\s+UPDATED\ncli\/in\.csv\s+8 B\s+text\/csv\s+\S+\ncli\/stdin\.txt\s+10 B\s+application\/octet-stream/);
    r = await runCli(['objects', 'get', 'files', 'cli/in.csv'], { env });
    assert.equal(r.stdout, 'a,b\n1,2\n', show(r));
    r = await runCli(['objects', 'get', 'files', 'cli/stdin.txt', '-o', join(dir, 'out.txt')], { env });
    assert.equal(r.code, 0, show(r));
    assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'from stdin');
    r = await runCli(['objects', 'rm', 'files', 'cli/in.csv'], { env });
    assert.equal(r.code, 0, show(r));
    r = await runCli(['objects', 'get', 'files', 'cli/in.csv'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /object-not-found/);
    r = await runCli(['objects', 'get', 'files', 'a//b'], { env });
    assert.equal(r.code, 2, show(r));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A callee for `ctx.call`: answers what it got; `invoke: token`, so the caller's instance token is checked. */
const callee = nodeFn(
  `export default async (req) => ({ method: req.method, path: new URL(req.url).pathname + new URL(req.url).search, body: await req.text(), auth: req.headers.get('authorization') });\n`,
  { invoke: 'token' },
);

const nodeUser = nodeFn(`import { createHash } from 'node:crypto';
export default async (req, ctx) => {
  const out = {};
  // 3 MiB produced as it is sent.
  const chunk = new Uint8Array(64 * 1024).fill(7);
  let n = 0;
  const stream = new ReadableStream({ pull(c) { if (n++ < 48) c.enqueue(chunk); else c.close(); } });
  out.put = await ctx.objects.put('big/blob.bin', stream, { contentType: 'application/x-blob' });
  const got = await ctx.objects.get('big/blob.bin');
  const h = createHash('sha256');
  let size = 0;
  for await (const c of got.body) { size += c.length; h.update(c); }
  out.got = { size, sha: h.digest('hex'), contentType: got.contentType, etag: got.etag };
  await ctx.objects.put('notes/a.txt', 'alpha');
  await ctx.objects.put('notes/b.json', JSON.stringify({ b: 1 }), { contentType: 'application/json' });
  out.list = (await ctx.objects.list('notes/')).map((o) => o.key + ' ' + o.contentType);
  out.json = await (await ctx.objects.get('notes/b.json')).json();
  out.missing = (await ctx.objects.get('notes/none')) ?? null;
  out.deleted = [await ctx.objects.delete('notes/a.txt'), await ctx.objects.delete('notes/a.txt')];
  const r = await ctx.call('callee', { method: 'POST', body: 'ping', path: '/echo?x=1' });
  out.call = { status: r.status, body: await r.json() };
  try { await ctx.objects.put('bad//key', 'x'); } catch (e) { out.badKey = { name: e.name, status: e.status, code: e.code }; }
  return out;
};
`);

const pyUser: PackageFiles = {
  'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py' }),
  'main.py': `import hashlib, json

def handler(request, context):
    out = {}
    out['put'] = context.objects.put('py/data.bin', bytes(range(256)) * 4096, content_type='application/x-py')
    got = context.objects.get('py/data.bin')
    out['got'] = {'size': got.size, 'sha': hashlib.sha256(got.body).hexdigest(), 'content_type': got.content_type, 'etag': got.etag}
    context.objects.put('py/note.txt', 'hi from python')
    out['list'] = [o['key'] for o in context.objects.list('py/')]
    out['text'] = context.objects.get('py/note.txt').text()
    out['missing'] = context.objects.get('py/none') is None
    out['deleted'] = [context.objects.delete('py/note.txt'), context.objects.delete('py/note.txt')]
    r = context.call('callee', path='/from-py', method='PUT', body=b'pong')
    out['call'] = {'status': r.status, 'body': r.json()}
    out['request_id'] = context.request_id == request.request_id
    try:
        context.objects.put('a/../b', b'x')
    except Exception as e:
        out['bad_key'] = {'name': type(e).__name__, 'status': e.status, 'code': e.code}
    return out
`,
};

test('node and python functions use their objects through ctx/context and call another function through the socket', { skip }, async () => {
  await ferry.deploy('callee', callee);
  await ferry.deploy('obj-node', nodeUser);
  await ferry.deploy('obj-py', pyUser);

  const n = await fetch(`${ferry.url}/fn/obj-node`);
  const node = (await n.json()) as Record<string, any>;
  assert.equal(n.status, 200, JSON.stringify(node));
  const big = Buffer.alloc(3 * MiB, 7);
  assert.deepEqual(node.got, { size: big.length, sha: sha(big), contentType: 'application/x-blob', etag: `"${sha(big)}"` });
  assert.equal(node.put.size, big.length);
  assert.deepEqual(node.list, ['notes/a.txt text/plain; charset=utf-8', 'notes/b.json application/json']);
  assert.deepEqual(node.json, { b: 1 });
  assert.equal(node.missing, null);
  assert.deepEqual(node.deleted, [true, false]);
  assert.deepEqual(node.call, { status: 200, body: { method: 'POST', path: '/echo?x=1', body: 'ping', auth: null } });
  assert.deepEqual(node.badKey, { name: 'FerryApiError', status: 422, code: 'invalid-key' });

  const p = await fetch(`${ferry.url}/fn/obj-py`);
  const py = (await p.json()) as Record<string, any>;
  assert.equal(p.status, 200, JSON.stringify(py));
  const pyData = Buffer.from(Array.from({ length: 256 * 4096 }, (_, i) => i % 256));
  assert.deepEqual(py.got, { size: pyData.length, sha: sha(pyData), content_type: 'application/x-py', etag: `"${sha(pyData)}"` });
  assert.deepEqual(py.list, ['py/data.bin', 'py/note.txt']);
  assert.equal(py.text, 'hi from python');
  assert.equal(py.missing, true);
  assert.deepEqual(py.deleted, [true, false]);
  assert.deepEqual(py.call, { status: 200, body: { method: 'PUT', path: '/from-py', body: 'pong', auth: null } });
  assert.equal(py.request_id, true);
  assert.deepEqual(py.bad_key, { name: 'FerryApiError', status: 422, code: 'invalid-key' });

  // What the functions stored is the function's, seen the same from the API.
  const fromApi = await ferry.api('GET', '/v1/functions/obj-node/objects/big/blob.bin');
  assert.equal(sha(new Uint8Array(await fromApi.arrayBuffer())), sha(big));
  const listed = (await (await ferry.api('GET', '/v1/functions/obj-py/objects')).json()) as { objects: Array<{ key: string }> };
  assert.deepEqual(listed.objects.map((o) => o.key), ['py/data.bin']);
});
