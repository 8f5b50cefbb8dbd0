/**
 * Ferry as YFASS (`--compat yfass`): YFASS's own example service (the `ws-gzip` case) uploaded
 * through `/api/upload` with the root token the server prints at boot, configured through
 * `/api/override`, aliased, deployed and reached by host name over WebSocket with
 * permessage-deflate; the user API on Ferry's accounts; keys, versions and bad input; and every
 * route of the surface against every role.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { WebSocket } from 'ws';
import { startFerry, disposeFerry, writeFiles, type Ferry, type PackageFiles } from './support/ferry.js';
import { expectProblem } from './support/helpers.js';
import * as tar from 'tar';

const domain = 'yfass.test';

/** YFASS's example service config, verbatim but for the command's name. */
const wsGzipConfig = {
  group: 'permission:admin',
  addr: '127.0.0.1:25565',
  sandbox: {
    command: './test-ws-gzip-fn',
    args: [],
    ro_entries: { '/lib64': '/lib64', '/lib': '/lib' },
    envs: { YFASS_PORT: '25565' },
    inherit_stdout: true,
    syscall_filter_mode: 'Deny',
    syscall_filter: ['fork'],
    mount_procfs: true,
    mount_devtmpfs: true,
    mount_tmpfs: false,
  },
};

/**
 * The ws-gzip service: a WebSocket server on YFASS_PORT with permessage-deflate, echoing each
 * message with the extensions it negotiated. An executable (shebang: the Node.js that runs the
 * tests) that brings its own `ws`, as YFASS services bring their libraries.
 */
async function wsGzipContents(): Promise<PackageFiles> {
  const files: PackageFiles = {
    'test-ws-gzip-fn': {
      mode: 0o755,
      content: `#!${process.execPath}
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: Number(process.env.YFASS_PORT), host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
wss.on('connection', (ws) => ws.on('message', (m) => ws.send(JSON.stringify({ echo: m.toString(), extensions: Object.keys(ws._extensions) }))));
`,
    },
  };
  const wsDir = join(import.meta.dirname, '../../node_modules/ws');
  for (const rel of ['package.json', 'index.js', ...(await readdir(join(wsDir, 'lib'))).map((f) => `lib/${f}`)]) {
    files[`node_modules/ws/${rel}`] = await readFile(join(wsDir, rel), 'utf8');
  }
  return files;
}

/** A tar (gzip-compressed when asked) of `files`. */
async function tarOf(files: PackageFiles, gzip = false): Promise<Uint8Array> {
  const dir = await writeFiles(files);
  try {
    const chunks: Buffer[] = [];
    for await (const c of tar.c({ cwd: dir, portable: true }, Object.keys(files)) as AsyncIterable<Buffer>) chunks.push(c);
    const raw = Buffer.concat(chunks);
    return new Uint8Array(gzip ? gzipSync(raw) : raw);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Yfass {
  ferry: Ferry;
  root: string;
  call(method: string, path: string, body?: unknown, token?: string, contentType?: string): Promise<Response>;
}

async function startYfass(args: string[] = []): Promise<Yfass> {
  const ferry = await startFerry({ args: ['--compat', 'yfass', '--domain', domain, '--bindable', '/lib,/lib64,/usr/lib,/usr/lib64', ...args] });
  const line = ferry.output.find((l) => l.includes('YFASS root token'));
  const root = /Bearer <token>\): (\S+)/.exec(line ?? '')?.[1];
  assert.ok(root, `the root token is printed at boot:\n${ferry.output.join('\n')}`);
  const call = (method: string, path: string, body?: unknown, token = root, contentType?: string): Promise<Response> => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    let payload: BodyInit | undefined;
    if (body instanceof Uint8Array) payload = body as BodyInit;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = contentType ?? (body instanceof Uint8Array ? 'application/x-tar' : 'application/json');
    return fetch(ferry.url + path, { method, headers, body: payload });
  };
  return { ferry, root, call };
}

async function ok(res: Response, what: string): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, 200, `${what}: ${res.status} ${text}`);
  return text;
}

/** Opens a WebSocket to the service by host name, asking for permessage-deflate, and sends one message. */
async function wsRoundTrip(ferry: Ferry, host: string, message: string): Promise<{ echo: string; extensions: string[]; negotiated: string }> {
  const url = new URL(ferry.url);
  const ws = new WebSocket(`ws://127.0.0.1:${url.port}/`, { headers: { host }, perMessageDeflate: true });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
    });
    const reply = new Promise<string>((resolve) => ws.once('message', (m) => resolve(m.toString())));
    ws.send(message);
    const got = JSON.parse(await reply) as { echo: string; extensions: string[] };
    return { ...got, negotiated: ws.extensions };
  } finally {
    ws.close();
  }
}

test('yfass: the ws-gzip example end to end, with the root token printed at boot', async (t) => {
  const y = await startYfass();
  t.after(() => disposeFerry(y.ferry));

  // The root token goes to the console, never into the server's log (JSON lines) or its files.
  for (const l of y.ferry.output) if (l.startsWith('{')) assert.ok(!l.includes(y.root), `the root token is in a log line: ${l.slice(0, 120)}`);
  const walk = async (dir: string): Promise<string[]> => (await readdir(dir, { withFileTypes: true, recursive: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  for (const f of await walk(y.ferry.dataDir)) assert.ok(!(await readFile(f)).includes(y.root), `the root token is in ${f}`);

  const contents = await wsGzipContents();
  await ok(await y.call('POST', '/api/upload/wsgzip@a0', await tarOf(contents)), 'upload');

  // An upload carries no config: the version is stored, and deploying it is a clear error.
  const before = (await (await y.call('GET', '/api/get/wsgzip@a0')).json()) as unknown;
  assert.deepEqual(before, { meta: { name: 'wsgzip', version: 'a0', version_alias: null }, config: null });
  await expectProblem(await y.call('POST', '/api/deploy/wsgzip@a0'), 409, 'not-configured', 'deploy before override');

  await ok(await y.call('PUT', '/api/override/wsgzip@a0', wsGzipConfig), 'override');
  await ok(await y.call('PUT', '/api/alias/wsgzip@a0', { alias: 'stable' }), 'alias');
  const info = (await (await y.call('GET', '/api/get/stable')).json()) as unknown;
  assert.deepEqual(info, { meta: { name: 'wsgzip', version: 'a0', version_alias: 'stable' }, config: wsGzipConfig });

  await ok(await y.call('POST', '/api/deploy/stable'), 'deploy');
  assert.deepEqual(await (await y.call('GET', '/api/status/wsgzip@a0')).json(), { running: true });

  // Reached by host name, {version}.{name}.{domain} and {alias}.{name}.{domain}, compressed end to end.
  for (const host of [`a0.wsgzip.${domain}`, `stable.wsgzip.${domain}`]) {
    const r = await wsRoundTrip(y.ferry, host, `hello ${host}`);
    assert.equal(r.echo, `hello ${host}`);
    assert.ok(r.extensions.includes('permessage-deflate'), `the service negotiated permessage-deflate: ${JSON.stringify(r)}`);
    assert.match(r.negotiated, /permessage-deflate/, 'the client negotiated permessage-deflate');
  }

  // The service config took effect in the sandbox: fork(2) is refused, /lib bound, no tmpfs on /tmp.
  const versions = (await (await y.ferry.api('GET', '/v1/functions/wsgzip/versions/a0')).json()) as { manifest: Record<string, unknown> };
  assert.deepEqual(versions.manifest.seccomp, { mode: 'deny', syscalls: ['fork'] });
  assert.deepEqual(versions.manifest.roBinds, { '/lib64': '/lib64', '/lib': '/lib' });
  assert.equal(versions.manifest.mountTmp, false);

  await ok(await y.call('POST', '/api/kill/stable'), 'kill');
  assert.deepEqual(await (await y.call('GET', '/api/status/stable')).json(), { running: false });

  // gzip works here too, and a YFASS version string maps onto a Ferry version (1.0 -> 1-0).
  await ok(await y.call('POST', '/api/upload/wsgzip@1.0', await tarOf(contents, true), undefined, 'application/gzip'), 'gzip upload');
  await ok(await y.call('PUT', '/api/override/wsgzip@1.0', { ...wsGzipConfig, sandbox: { ...wsGzipConfig.sandbox, envs: { YFASS_PORT: '8080' } }, addr: '127.0.0.1:8080' }), 'override 1.0');
  await ok(await y.call('POST', '/api/deploy/wsgzip@1.0'), 'deploy 1.0');
  assert.equal((await wsRoundTrip(y.ferry, `1-0.wsgzip.${domain}`, 'one')).echo, 'one');
  assert.deepEqual(((await (await y.call('GET', '/api/get/wsgzip@1.0')).json()) as { meta: unknown }).meta, { name: 'wsgzip', version: '1.0', version_alias: null });

  await ok(await y.call('DELETE', '/api/remove/stable'), 'remove a0');
  await expectProblem(await y.call('GET', '/api/get/wsgzip@a0'), 404, 'version-not-found');
  await ok(await y.call('DELETE', '/api/remove/wsgzip@1.0'), 'remove 1.0');
  assert.equal((await y.ferry.api('GET', '/v1/functions/wsgzip')).status, 404, 'the function goes with its last version');
});

test('yfass: the user API on Ferry accounts; ROOT is the root group', async (t) => {
  const y = await startYfass(['--driver', 'process', '--unsandboxed']);
  t.after(() => disposeFerry(y.ferry));

  assert.deepEqual(await (await y.call('POST', '/api/user/add', { name: 'yjn024', groups: ['permission:admin', 'permission:write'] })).json(), { name: 'yjn024', groups: ['permission:admin', 'permission:write'] });
  const tokRes = await y.call('POST', '/api/user/request-token', { duration: 10, user: 'yjn024' });
  assert.match(tokRes.headers.get('content-type') ?? '', /^text\/plain/);
  const token = await ok(tokRes, 'request-token');
  assert.deepEqual(await (await y.call('GET', '/api/user/get/yjn024', undefined, token)).json(), { name: 'yjn024', groups: ['permission:admin', 'permission:write'] });

  // A YFASS token is a Ferry token: the same user on /v1.
  const who = (await (await fetch(`${y.ferry.url}/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user?: string; subject?: string };
  assert.equal(who.user ?? who.subject, 'yjn024');

  await ok(await y.call('POST', '/api/user/add', { name: 'reader-1', groups: ['permission:read'] }, token), 'an admin adds a user');
  assert.deepEqual(await (await y.call('PUT', '/api/user/modify', { name: 'reader-1', groups: ['permission:read', 'custom:team'] }, token)).json(), { name: 'reader-1', groups: ['permission:read', 'custom:team'] });
  const readerToken = await ok(await y.call('POST', '/api/user/request-token', { user: 'reader-1' }, token), 'token for reader-1');
  await expectProblem(await y.call('GET', '/api/user/get/yjn024', undefined, readerToken), 403, 'forbidden', 'reading another user');
  await expectProblem(await y.call('POST', '/api/user/add', { name: 'x' }, readerToken), 403, 'forbidden');

  // Removing a user needs ROOT, which an admin does not hold.
  await expectProblem(await y.call('DELETE', '/api/user/remove/reader-1', undefined, token), 403, 'forbidden', 'admin removes');
  await ok(await y.call('DELETE', '/api/user/remove/reader-1'), 'root removes');
  await expectProblem(await y.call('GET', '/api/user/get/reader-1'), 404, 'user-not-found');

  await expectProblem(await y.call('POST', '/api/user/add', { name: 'bad name!' }), 422, 'invalid-name');
  await expectProblem(await y.call('POST', '/api/user/add', undefined), 400, 'malformed-json');
  await expectProblem(await y.call('GET', '/api/user/get/yjn024', undefined, ''), 401, 'unauthorized');
  await expectProblem(await y.call('GET', '/api/user/get/yjn024', undefined, 'not-a-token'), 401, 'token-malformed');
});

test('yfass: bad keys, bad archives and bad configs are refused and change nothing', async (t) => {
  const y = await startYfass(['--driver', 'process', '--unsandboxed']);
  t.after(() => disposeFerry(y.ferry));
  const store = join(y.ferry.dataDir, 'yfass', 'versions');
  const good = await tarOf({ 'srv.js': 'x' });

  for (const key of ['justname', 'Bad@1', 'a@', 'a@..', 'a@x/y', '@1']) {
    await expectProblem(await y.call('POST', `/api/upload/${encodeURIComponent(key)}`, good), 422, 'invalid-name', key);
  }
  // A tar entry climbing out with `..`: the archive's own error, nothing kept.
  const evil = Buffer.from(await tarOf({ 'a.txt': 'x' }));
  evil.write('../evil.txt\0', 0, 'latin1');
  const sum = [...evil.subarray(0, 512)].reduce((s, b, i) => s + (i >= 148 && i < 156 ? 32 : b), 0);
  evil.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  await expectProblem(await y.call('POST', '/api/upload/evil@a0', new Uint8Array(evil)), 422, 'archive-unsafe-path', 'a tar entry with ..');
  await expectProblem(await y.call('GET', '/api/get/evil@a0'), 404, 'version-not-found');
  assert.equal((await y.ferry.api('GET', '/v1/functions/evil')).status, 404);

  await ok(await y.call('POST', '/api/upload/svc@a0', good), 'upload');
  await expectProblem(await y.call('POST', '/api/upload/svc@a0', good), 409, 'version-exists', 'upload twice');
  await expectProblem(await y.call('POST', '/api/upload/svc@A0', good), 409, 'version-exists', 'a spelling mapping to the same Ferry version');
  await expectProblem(await y.call('POST', '/api/upload/svc@b0', good, undefined, 'text/plain'), 415, 'unsupported-media-type');
  for (const [what, cfg] of [
    ['no addr', { sandbox: { command: './srv.js' } }],
    ['addr not host:port', { addr: 'localhost', sandbox: { command: './srv.js' } }],
    ['command without ./', { addr: '127.0.0.1:80', sandbox: { command: 'srv.js' } }],
    ['unknown key', { addr: '127.0.0.1:80', sandbox: { command: './srv.js', cpus: 4 } }],
    ['bad filter mode', { addr: '127.0.0.1:80', sandbox: { command: './srv.js', syscall_filter_mode: 'deny', syscall_filter: [] } }],
  ] as const) {
    await expectProblem(await y.call('PUT', '/api/override/svc@a0', cfg), 422, 'invalid-body', what);
  }
  assert.deepEqual(((await (await y.call('GET', '/api/get/svc@a0')).json()) as { config: unknown }).config, null, 'a refused config changes nothing');
  await expectProblem(await y.call('PUT', '/api/alias/svc', { alias: 'x' }), 422, 'invalid-name', 'alias needs name@version');
  await expectProblem(await y.call('PUT', '/api/alias/svc@a0', { alias: 'v2' }), 422, 'invalid-alias', 'an alias that looks like a version');
  await expectProblem(await y.call('GET', '/api/upload/svc@a0'), 405, 'method-not-allowed');
  assert.deepEqual((await readdir(store)).sort(), ['svc']);
  assert.ok((await stat(join(store, 'svc', 'a0', 'contents'))).isFile());
});

/** What a role may do on this surface, by YFASS's rules (ADMIN, WRITE, READ, REMOVE, EXECUTE, ROOT). */
type Role = 'root' | 'admin' | 'writer' | 'reader' | 'anonymous';
const groupsOf = { admin: ['permission:admin'], writer: ['permission:write', 'permission:execute'], reader: ['permission:read'] };
const routeNeeds: Array<[string, string, 'admin' | 'root' | 'signed-in' | 'read' | 'write' | 'execute' | 'remove']> = [
  ['POST', '/api/user/add', 'admin'],
  ['GET', '/api/user/get/target', 'admin'],
  ['DELETE', '/api/user/remove/target', 'root'],
  ['POST', '/api/user/request-token', 'admin'],
  ['PUT', '/api/user/modify', 'admin'],
  ['POST', '/api/upload/mx@a0', 'write'],
  ['GET', '/api/get/mx@a0', 'read'],
  ['PUT', '/api/override/mx@a0', 'write'],
  ['PUT', '/api/alias/mx@a0', 'write'],
  ['DELETE', '/api/remove/mx@a0', 'remove'],
  ['POST', '/api/deploy/mx@a0', 'execute'],
  ['POST', '/api/kill/mx@a0', 'execute'],
  ['GET', '/api/status/mx@a0', 'execute'],
];

test('yfass: permission matrix, every route x root, admin, writer, reader, no token', async (t) => {
  const y = await startYfass(['--driver', 'process', '--unsandboxed']);
  t.after(() => disposeFerry(y.ferry));
  const doc = (await (await fetch(`${y.ferry.url}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).filter(([p]) => p.startsWith('/api/')).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
  assert.equal(documented.length, routeNeeds.length, `every route of the surface is in the matrix: ${documented.join(', ')}`);

  const tokens: Partial<Record<Role, string>> = { root: y.root };
  for (const r of ['admin', 'writer', 'reader'] as const) {
    await ok(await y.call('POST', '/api/user/add', { name: `${r}-1`, groups: groupsOf[r] }), `add ${r}`);
    tokens[r] = await ok(await y.call('POST', '/api/user/request-token', { user: `${r}-1` }), `token ${r}`);
  }
  const failures: string[] = [];
  for (const [method, path, need] of routeNeeds) {
    for (const role of ['root', 'admin', 'writer', 'reader', 'anonymous'] as Role[]) {
      // Fixtures a successful call removed come back: the user `target`, the version mx@a0.
      if ((await y.call('GET', '/api/user/get/target')).status === 404) await y.call('POST', '/api/user/add', { name: 'target', groups: [] });
      if ((await y.call('GET', '/api/get/mx@a0')).status === 404) await ok(await y.call('POST', '/api/upload/mx@a0', await tarOf({ 'srv.js': 'x' })), 'fixture');
      const body = path.startsWith('/api/upload/') ? await tarOf({ 'srv.js': 'y' }) : method === 'GET' || method === 'DELETE' ? undefined : {};
      const res = await y.call(method, path, body, role === 'anonymous' ? '' : tokens[role]);
      const text = await res.text();
      const want = role === 'anonymous' ? 401 : role === 'root' || (role === 'admin' && need !== 'root') ? 'ok' : need === 'signed-in' || (role !== 'admin' && (groupsOf[role] as string[]).includes(`permission:${need}`)) ? 'ok' : 403;
      const got = res.status === 401 || res.status === 403 ? res.status : 'ok';
      if (got !== want) failures.push(`${role} ${method} ${path}: expected ${want}, got ${res.status} ${text.slice(0, 100)}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('yfass: a key is name@version or an alias, which names one version of one function', async (t) => {
  const y = await startYfass(['--driver', 'process', '--unsandboxed']);
  t.after(() => disposeFerry(y.ferry));
  const pkg = await tarOf({ 'srv.js': 'x' });
  await ok(await y.call('POST', '/api/upload/one@a0', pkg), 'upload one');
  await ok(await y.call('POST', '/api/upload/two@a0', pkg), 'upload two');
  await ok(await y.call('PUT', '/api/alias/one@a0', { alias: 'prod' }), 'alias');
  await expectProblem(await y.call('PUT', '/api/alias/two@a0', { alias: 'prod' }), 422, 'invalid-alias', 'an alias of another function');
  assert.equal(((await (await y.call('GET', '/api/get/prod')).json()) as { meta: { name: string } }).meta.name, 'one');
  await ok(await y.call('PUT', '/api/alias/one@a0', { alias: null }), 'alias removed');
  await expectProblem(await y.call('GET', '/api/get/prod'), 404, 'version-not-found');
});

test("yfass: the config's group limits who manages the service, on top of the permissions", async (t) => {
  const y = await startYfass(['--driver', 'process', '--unsandboxed']);
  t.after(() => disposeFerry(y.ferry));
  await ok(await y.call('POST', '/api/user/add', { name: 'dev', groups: ['permission:read', 'permission:write', 'permission:execute', 'permission:remove'] }), 'add dev');
  const dev = await ok(await y.call('POST', '/api/user/request-token', { user: 'dev' }), 'token');
  const cfg = (group?: string): object => ({ ...(group ? { group } : {}), addr: '127.0.0.1:8080', sandbox: { command: './srv' } });
  await ok(await y.call('POST', '/api/upload/svc@a0', await tarOf({ srv: { content: '#!/bin/sh\n', mode: 0o755 } }), dev), 'dev uploads');
  await ok(await y.call('PUT', '/api/override/svc@a0', cfg(), dev), 'dev configures without a group');
  await expectProblem(await y.call('PUT', '/api/override/svc@a0', cfg('custom:ops'), dev), 403, 'forbidden', 'a group dev is not in');
  await ok(await y.call('PUT', '/api/override/svc@a0', cfg('custom:ops')), 'root hands it to custom:ops');
  for (const [method, path] of [['POST', '/api/deploy/svc@a0'], ['POST', '/api/kill/svc@a0'], ['GET', '/api/status/svc@a0'], ['DELETE', '/api/remove/svc@a0'], ['PUT', '/api/alias/svc@a0']] as const) {
    await expectProblem(await y.call(method, path, method === 'PUT' ? { alias: 'x' } : undefined, dev), 403, 'forbidden', `${method} ${path} outside the group`);
  }
  await ok(await y.call('PUT', '/api/user/modify', { name: 'dev', groups: ['permission:read', 'permission:write', 'permission:execute', 'permission:remove', 'custom:ops'] }), 'dev joins custom:ops');
  assert.deepEqual(await (await y.call('GET', '/api/status/svc@a0', undefined, dev)).json(), { running: false });
  await ok(await y.call('DELETE', '/api/remove/svc@a0', undefined, dev), 'a member removes it');
});
