import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { FerryError } from '../../errors/index.js';
import { requestHeaders, responseHeaders } from './headers.js';
import { httpRuntime } from './http-runtime.js';
import { startInstance, tempDir } from '../../../test/support/runtime-harness.js';
import { runDirAddresses } from '../../sandbox/socket-channel/index.js';
import { hostRootfsView } from '../../sandbox/rootfs/index.js';

const wsUrl = pathToFileURL(createRequire(import.meta.url).resolve('ws')).href;

/** A function's own server: listens on FERRY_SOCKET when `onSocket`, else on PORT/HOST. */
function serverSource(onSocket: boolean): string {
  return `
import { createServer } from 'node:http';
import ws from '${wsUrl}';
const server = createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/hello') {
    res.writeHead(200, { 'content-type': 'application/json', 'x-fn': 'yes' });
    return res.end(JSON.stringify({ rid: req.headers['x-request-id'], test: req.headers['x-test'], secret: req.headers['x-secret'] ?? null, url: req.url }));
  }
  if (path === '/echo') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return req.pipe(res);
  }
  if (path === '/stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\\n\\n');
    setTimeout(() => res.end('data: second\\n\\n'), 400);
    return;
  }
  if (path === '/crash') process.exit(1);
  if (path === '/hang') return;
  res.writeHead(404);
  res.end('nope');
});
new ws.WebSocketServer({ server }).on('connection', (sock, req) => {
  sock.on('message', (m) => sock.send('echo:' + m + ':' + (req.headers['x-request-id'] ? 'rid' : 'no-rid')));
});
${onSocket ? 'server.listen(process.env.FERRY_SOCKET);' : 'server.listen(Number(process.env.PORT), process.env.HOST);'}
`;
}

function pkg(t: TestContext, files: Record<string, string>): string {
  const dir = tempDir(t, 'ferry-http-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

test('the relay in front of isolated servers: inside a node server (--import), else a supervisor', () => {
  const view = { packageDir: '/pkg', runDir: '/run/ferry', channel: runDirAddresses('/run/ferry'), rootfs: hostRootfsView };
  const plan = (command: string[], networkIsolated: boolean): string[] =>
    httpRuntime.launch({ instanceId: 'i', view, config: { command, env: {} } as never, env: {}, port: 8080, networkIsolated }).argv;
  const [node, flag, preload, ...rest] = plan(['node', 'server.js'], true);
  assert.deepEqual([node, flag, rest], [process.execPath, '--import', ['server.js']]);
  assert.match(preload!, /^file:\/\/.*\/runtime\/http\/relay\.js$/);
  const supervised = plan(['/bin/sh', '-c', 'exec server'], true);
  assert.deepEqual([supervised[0], supervised[2], supervised.slice(3)], [process.execPath, '--', ['/bin/sh', '-c', 'exec server']]);
  assert.match(supervised[1]!, /\/runtime\/http\/relay\.js$/);
  assert.deepEqual(plan(['node', 'server.js'], false), [process.execPath, 'server.js']);
});

test('validate: command required, package paths without ..', () => {
  assert.throws(() => httpRuntime.validate({ runtime: 'http' }), (e: unknown) => e instanceof FerryError && e.code === 'invalid-manifest');
  assert.throws(() => httpRuntime.validate({ runtime: 'http', command: ['../x'] }), FerryError);
  httpRuntime.validate({ runtime: 'http', command: ['node', 'server.mjs'] });
});

test('hop-by-hop headers are dropped both ways; x-request-id is Ferry\'s', () => {
  const out = requestHeaders(['Host', 'a', 'Connection', 'x-secret, keep-alive', 'X-Secret', '1', 'Keep-Alive', '5', 'X-Request-Id', 'fake', 'TE', 'trailers', 'Accept', '*/*'], 'rid', false);
  assert.deepEqual(out, ['Host', 'a', 'Accept', '*/*', 'x-request-id', 'rid']);
  assert.deepEqual(responseHeaders(['Transfer-Encoding', 'chunked', 'Content-Type', 'text/plain', 'Connection', 'close'], ['x-request-id', 'r']), [
    'Content-Type',
    'text/plain',
    'x-request-id',
    'r',
  ]);
});

test('http instance on PORT: proxying, streaming, WebSocket, errors', async (t) => {
  const dir = pkg(t, { 'server.mjs': serverSource(false) });
  const inst = await startInstance(t, httpRuntime, dir, { command: ['node', 'server.mjs'] }, { timeoutMs: 1500 });

  await t.test('a plain request, headers both ways', async () => {
    const r = await fetch(`${inst.url}/hello`, { headers: { 'x-test': 'abc', 'x-request-id': 'client-chosen' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-fn'), 'yes');
    const body = await r.json();
    assert.equal(body.test, 'abc');
    assert.equal(body.rid, r.headers.get('x-request-id'));
    assert.notEqual(body.rid, 'client-chosen');
  });

  await t.test('keep-alive: many calls reuse connections', async () => {
    const all = await Promise.all(Array.from({ length: 50 }, () => fetch(`${inst.url}/hello`).then((r) => r.status)));
    assert.deepEqual(all, Array(50).fill(200));
  });

  await t.test('request body streamed through', async () => {
    const body = Buffer.alloc(2_000_000, 7);
    const r = await fetch(`${inst.url}/echo`, { method: 'POST', body });
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), body);
  });

  await t.test('a streamed response reaches the client before it ends', async () => {
    const r = await fetch(`${inst.url}/stream`);
    assert.equal(r.headers.get('content-type'), 'text/event-stream');
    const reader = r.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now();
    assert.equal(Buffer.from(first.value!).toString(), 'data: first\n\n');
    let rest = '';
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += Buffer.from(c.value).toString();
    assert.equal(rest, 'data: second\n\n');
    // The server waits 400 ms between the events: a buffering proxy would deliver both at once.
    assert.ok(Date.now() - firstAt >= 250, 'the first event arrived well before the stream ended');
  });

  await t.test('WebSocket through connector.upgrade', async () => {
    const ws = new WebSocket(`${inst.url.replace('http', 'ws')}/ws`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const reply = new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m))));
    ws.send('ping');
    assert.equal(await reply, 'echo:ping:rid');
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
  });

  await t.test('no answer in time -> invoke-timeout', async () => {
    const r = await fetch(`${inst.url}/hang`);
    assert.equal(r.status, 504);
    assert.equal(r.headers.get('x-error-code'), 'invoke-timeout');
  });

  await t.test('the server dies mid-call -> instance-crashed', async () => {
    const r = await fetch(`${inst.url}/crash`);
    assert.equal(r.status, 502);
    assert.equal(r.headers.get('x-error-code'), 'instance-crashed');
    assert.equal(await inst.exited, 1);
  });
});

test('http instance on FERRY_SOCKET, started as ./server.mjs', async (t) => {
  const dir = pkg(t, { 'server.mjs': `#!${process.execPath}\n${serverSource(true)}` });
  chmodSync(join(dir, 'server.mjs'), 0o755);
  const inst = await startInstance(t, httpRuntime, dir, { command: ['./server.mjs'] });
  const r = await fetch(`${inst.url}/hello?x=1`, { headers: { 'x-test': 'sock' } });
  const body = await r.json();
  assert.equal(body.test, 'sock');
  assert.equal(body.url, '/hello?x=1');
  const ws = new WebSocket(`${inst.url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const reply = new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m))));
  ws.send('over-unix');
  assert.equal(await reply, 'echo:over-unix:rid');
  ws.terminate();
});
