// The commands against a stand-in HTTP server (the real server's end-to-end tests live elsewhere).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Client } from './client.js';
import { deploy } from './commands/deploy.js';
import { invoke } from './commands/invoke.js';
import { streamLogs } from './commands/logs.js';
import { ApiError } from './errors.js';
import type { IO } from './output.js';
import { run } from './program.js';
import { templatesDir } from './paths.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const seen: Seen[] = [];
let server: Server;
let base = '';
const tmp = mkdtempSync(join(tmpdir(), 'ferry-cmd-test-'));

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
const problem = (res: ServerResponse, status: number, code: string, detail: string): void => send(res, status, { type: 'about:blank', title: code, status, code, detail }, 'application/problem+json');

function route(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const url = new URL(req.url ?? '/', base);
  const p = url.pathname;
  if (req.headers.authorization !== 'Bearer sekret' && !p.startsWith('/fn/')) return problem(res, 401, 'invalid-token', 'The bearer token is not valid');
  if (req.method === 'POST' && p === '/v1/functions/hello/versions') return send(res, 201, { version: 'v1', url: `${base}/fn/hello@v1`, size: body.length });
  if (req.method === 'PUT' && p === '/v1/functions/hello/versions/v7') return send(res, 201, { version: 'v7', url: '/fn/hello@v7' });
  if (req.method === 'PUT' && p === '/v1/functions/hello/aliases/prod') return send(res, 200, { alias: 'prod', target: JSON.parse(body.toString()) as unknown });
  if (req.method === 'GET' && p === '/v1/functions') return send(res, 200, { functions: [{ name: 'hello', createdAt: 0, latest: 'v2', versions: 2 }] });
  if (p === '/v1/functions/missing/versions') return problem(res, 404, 'function-not-found', "no function 'missing'");
  if (req.method === 'DELETE' && p === '/v1/functions/hello') {
    res.writeHead(204).end();
    return;
  }
  if (p === '/v1/functions/hello/logs') {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const lines = [
      { id: 1, time: 0, function: 'hello', version: 'v1', instance: 'i-123456789', stream: 'stdout', requestId: 'r1', line: 'one' },
      { id: 2, time: 1000, function: 'hello', version: 'v1', instance: 'i-123456789', stream: 'stderr', requestId: null, line: 'two' },
    ];
    // The second line arrives split across writes, later, as in follow mode.
    const second = JSON.stringify(lines[1]) + '\n';
    res.write(JSON.stringify(lines[0]) + '\n' + second.slice(0, 10));
    setTimeout(() => res.end(second.slice(10)), 50);
    return;
  }
  if (p === '/fn/echo' || p.startsWith('/fn/echo@') || p.startsWith('/fn/echo/')) {
    return send(res, 200, { method: req.method, url: req.url, auth: req.headers.authorization ?? null, x: req.headers['x-test'] ?? null, body: body.toString() });
  }
  if (p === '/fn/fail') return send(res, 500, 'boom\n', 'text/plain');
  if (p === '/fn/gone') return problem(res, 404, 'function-not-found', "no function 'gone'");
  problem(res, 404, 'route-not-found', `no route ${req.method} ${p}`);
}

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/v1/functions/big/versions') {
      // Answer before reading the upload, as a size check would.
      problem(res, 413, 'body-too-large', 'the upload exceeds 1 KiB');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      route(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

function capture(): IO & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  return { stdout, stderr, out: () => o, err: () => e };
}

const client = (): Client => new Client({ url: base, token: 'sekret' });
const cli = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
  const io = capture();
  const code = await run(['node', 'ferry', ...args, ...(args[0] === 'server' ? [] : ['--url', base, '--token', 'sekret'])], io, {});
  return { code, out: io.out(), err: io.err() };
};

describe('deploy', () => {
  it('packs, uploads with POST and sets the alias', async () => {
    const dir = join(tmp, 'hello');
    cpSync(join(templatesDir(), 'node'), dir, { recursive: true });
    const io = capture();
    const r = await deploy(client(), { dir, alias: 'prod' }, io);
    assert.equal(r.version, 'v1');
    assert.equal(r.url, `${base}/fn/hello@v1`);
    const upload = seen.find((s) => s.method === 'POST' && s.url === '/v1/functions/hello/versions')!;
    assert.equal(upload.headers['content-type'], 'application/gzip');
    assert.equal(upload.headers.authorization, 'Bearer sekret');
    assert.equal(Number(upload.headers['content-length']), upload.body.length);
    assert.ok(gunzipSync(upload.body).includes('ferry.json'));
    const alias = seen.find((s) => s.method === 'PUT' && s.url === '/v1/functions/hello/aliases/prod')!;
    assert.deepEqual(JSON.parse(alias.body.toString()), { version: 'v1' });
    assert.match(io.err(), /^uploading hello: .* sent\n$/, 'one final progress line when stderr is not a TTY');
  });

  it('PUTs an explicit version and resolves a relative url', async () => {
    const dir = join(tmp, 'hello');
    const r = await deploy(client(), { dir, version: 'v7' }, capture());
    assert.equal(r.url, `${base}/fn/hello@v7`);
  });

  it('reports the early answer of a refused upload', async () => {
    const dir = join(tmp, 'big');
    cpSync(join(templatesDir(), 'node'), dir, { recursive: true });
    writeFileSync(join(dir, 'blob.bin'), Buffer.alloc(8 * 1024 * 1024, 7).map((_, i) => (i * 7919) & 0xff));
    await assert.rejects(deploy(client(), { dir }, capture()), (e: unknown) => e instanceof ApiError && e.status === 413 && e.code === 'body-too-large');
  });
});

describe('invoke', () => {
  it('sends method, headers, body and token, and streams the answer', async () => {
    const io = capture();
    const status = await invoke(client(), { target: 'echo@prod', data: 'hi', headers: ['X-Test: 1'], path: '/a?b=c' }, io);
    assert.equal(status, 200);
    assert.deepEqual(JSON.parse(io.out()), { method: 'POST', url: '/fn/echo@prod/a?b=c', auth: 'Bearer sekret', x: '1', body: 'hi' });
  });
  it('prints the body of a non-2xx answer and fails', async () => {
    const io = capture();
    await assert.rejects(invoke(client(), { target: 'fail' }, io), (e: unknown) => e instanceof ApiError && e.status === 500);
    assert.equal(io.out(), 'boom\n');
  });
});

describe('logs', () => {
  it('yields NDJSON entries as they arrive, even split across chunks', async () => {
    const got: unknown[] = [];
    await streamLogs(client(), { name: 'hello', follow: true }, (e) => void got.push(e?.line));
    assert.deepEqual(got, ['one', 'two']);
    assert.ok(seen.some((s) => s.url === '/v1/functions/hello/logs?follow=1'));
  });
});

describe('ferry (program)', () => {
  it('lists functions as a table or JSON', async () => {
    const t = await cli('functions', 'list');
    assert.equal(t.code, 0);
    assert.match(t.out, /^NAME +OWNER +LATEST +VERSIONS +ALIASES +CREATED\nhello +- +v2 +2 +- +1970-01-01T00:00:00.000Z\n$/);
    const j = await cli('functions', 'list', '--json');
    assert.deepEqual(JSON.parse(j.out), { functions: [{ name: 'hello', createdAt: 0, latest: 'v2', versions: 2 }] });
  });

  it('accepts --url/--token before the command too', async () => {
    const io = capture();
    const code = await run(['node', 'ferry', '--url', base, '--token', 'sekret', 'functions', 'list', '--json'], io, {});
    assert.equal(code, 0);
  });

  it('prints an API error as one line and exits 1', async () => {
    const r = await cli('versions', 'list', 'missing');
    assert.equal(r.code, 1);
    assert.equal(r.err, "ferry: no function 'missing' (function-not-found)\n");
    assert.equal(r.out, '');
  });

  it('reports a wrong token', async () => {
    const io = capture();
    const code = await run(['node', 'ferry', 'functions', 'list', '--url', base, '--token', 'nope'], io, {});
    assert.equal(code, 1);
    assert.equal(io.err(), 'ferry: The bearer token is not valid (invalid-token)\n');
  });

  it('deploys with --version meaning the version, not the program version', async () => {
    const r = await cli('deploy', join(tmp, 'hello'), '--version', 'v7');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^Deployed hello v7\n {2}url: http:\/\/127\.0\.0\.1:\d+\/fn\/hello@v7\n$/);
  });

  it('sets aliases with weights', async () => {
    const r = await cli('aliases', 'set', 'hello', 'prod', '--weights', 'v1=90,v2=10');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'hello@prod -> v1=90,v2=10\n');
  });

  it('invoke: non-2xx prints the body, one status line, exit 1', async () => {
    const r = await cli('invoke', 'gone');
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.out).code, 'function-not-found');
    assert.equal(r.err, "ferry: HTTP 404: no function 'gone' (function-not-found)\n");
  });

  it('prints log lines', async () => {
    const r = await cli('logs', 'hello');
    assert.equal(r.out, '1970-01-01T00:00:00.000Z v1/i-123456 [r1] one\n1970-01-01T00:00:01.000Z v1/i-123456 [-] two\n');
  });

  it('deletes', async () => {
    const r = await cli('delete', 'hello');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'Deleted hello\n');
  });

  it('usage errors: one line, exit 2', async () => {
    const unknown = await cli('functoins');
    assert.equal(unknown.code, 2);
    assert.equal(unknown.err.split('\n').length, 2, unknown.err);
    assert.match(unknown.err, /^ferry: unknown command 'functoins'/);
    const bad = await cli('aliases', 'set', 'hello', 'latest', 'v1');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^ferry: alias 'latest' is reserved/);
    const port = await cli('server', '--port', 'abc');
    assert.equal(port.code, 2);
    assert.equal(port.err, "ferry: --port: 'abc' is not a non-negative integer\n");
  });

  it('cannot reach a closed port: one line', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const io = capture();
    const code = await run(['node', 'ferry', 'functions', 'list', '--url', `http://127.0.0.1:${port}`], io, {});
    assert.equal(code, 1);
    assert.match(io.err(), /^ferry: cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\n$/);
  });
});
