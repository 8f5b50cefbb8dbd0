// Bodies and connections through the gateway: server-sent events arrive as produced, large
// bodies both ways byte-exact, the body cap, WebSocket through an http function, and host-name
// routing. Real server, real functions, real sockets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { waitFor, within } from './support/wait.js';
import { listInstances, manifest, problemOf } from './support/fn.js';
import { rawRequest, isAnswer } from './support/raw-http.js';
import { eventReader, sseStepFiles, takeEvents, wsEchoFiles } from './support/stream-fns.js';

// One server for the file but the body cap's (its cap would refuse the large bodies); --domain is
// the host-routing test's and changes nothing for the rest, which call no *.fn.test host.
let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--domain', 'fn.test'] });
});
after(() => disposeFerry(ferry));

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('SSE: events from a streamed Response reach the client as they are produced', { timeout: 30_000 }, async () => {
  await ferry.deploy('sse', {
    'ferry.json': manifest({ runtime: 'node', handler: 'index.js' }),
    'package.json': '{"type":"module"}',
    'index.js': `
const enc = new TextEncoder();
export default () => {
  let n = 0;
  let timer;
  const body = new ReadableStream({
    start(controller) {
      timer = setInterval(() => {
        n++;
        controller.enqueue(enc.encode('data: ' + n + '\\n\\n'));
        if (n === 5) { clearInterval(timer); controller.close(); }
      }, 200);
    },
    cancel() { clearInterval(timer); },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } });
};
`,
  });
  // Warm first, so the measured call is all streaming and no cold start.
  await (await fetch(`${ferry.url}/fn/sse`)).text();

  const t0 = performance.now();
  const res = await fetch(`${ferry.url}/fn/sse`, { signal: AbortSignal.timeout(20_000) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.ok(res.headers.get('x-request-id'));
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const buf = { text: '' };
  const events: Array<{ data: string; at: number }> = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf.text += dec.decode(value, { stream: true });
    for (const data of takeEvents(buf)) events.push({ data, at: performance.now() - t0 });
  }
  const total = performance.now() - t0;
  assert.deepEqual(events.map((e) => e.data), ['1', '2', '3', '4', '5']);
  // Produced 200 ms apart over about a second: buffered delivery would put all five at the end.
  assert.ok(events[0]!.at < total - 500, `the first event must arrive well before the stream ends: first at ${Math.round(events[0]!.at)} ms, end at ${Math.round(total)} ms`);
  assert.ok(events[4]!.at - events[0]!.at > 400, `events must arrive spread out, got ${events.map((e) => Math.round(e.at)).join(', ')} ms`);
});

test('SSE in lock-step: each event reaches the client before the function produces the next', { timeout: 30_000 }, async () => {
  // The stream only goes on when the client, having read an event, calls /next. A gateway that
  // buffered the stream would deadlock here, so this proves incremental delivery with no timing.
  await ferry.deploy('sse-step', sseStepFiles);
  const res = await fetch(`${ferry.url}/fn/sse-step`, { signal: AbortSignal.timeout(25_000) });
  assert.equal(res.status, 200);
  const nextEvent = eventReader(res);
  const seen: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const ev = await within(`event ${i} while the function waits for the client`, 10_000, nextEvent());
    seen.push(ev!);
    const next = await fetch(`${ferry.url}/fn/sse-step/next`);
    assert.equal(await next.text(), 'ok');
  }
  assert.equal(await within('the end of the stream', 10_000, nextEvent()), undefined);
  assert.deepEqual(seen, ['1', '2', '3']);
});

const echoNode = {
  'package.json': '{"type":"module"}',
  'index.js': "export default async (req) => new Response(await req.arrayBuffer(), { headers: { 'content-type': 'application/octet-stream' } });\n",
};
const echoPython = {
  'main.py': 'def handler(request):\n    return (200, {"content-type": "application/octet-stream"}, request.body)\n',
};
const echoHttp = {
  'server.js': "require('http').createServer((q, s) => { const c = []; q.on('data', (d) => c.push(d)); q.on('end', () => { s.setHeader('content-type', 'application/octet-stream'); s.end(Buffer.concat(c)); }); }).listen(Number(process.env.PORT), '127.0.0.1');\n",
};

/**
 * node, python and http echo functions named `${prefix}-node` etc.; a timeout well below the
 * tests' own turns a lost body into a 504, not a hang, yet leaves room for a cold start and a
 * 5 MiB upload on a busy host.
 */
async function deployEchoes(f: Ferry, prefix: string): Promise<string[]> {
  const limits = { timeoutMs: 15_000 };
  await f.deploy(`${prefix}-node`, { 'ferry.json': manifest({ runtime: 'node', handler: 'index.js', limits }), ...echoNode });
  await f.deploy(`${prefix}-py`, { 'ferry.json': manifest({ runtime: 'python', handler: 'main.py', limits }), ...echoPython });
  await f.deploy(`${prefix}-http`, { 'ferry.json': manifest({ runtime: 'http', command: ['node', 'server.js'], limits }), ...echoHttp });
  return [`${prefix}-node`, `${prefix}-py`, `${prefix}-http`];
}

test('large bodies: a 5 MiB POST is echoed byte-exact through node, python and http functions', { timeout: 40_000 }, async () => {
  const names = await deployEchoes(ferry, 'echo');
  const body = randomBytes(5 * 1024 * 1024);
  for (const name of names) {
    const res = await fetch(`${ferry.url}/fn/${name}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(30_000) });
    assert.equal(res.status, 200, `${name}: ${res.status}`);
    const back = new Uint8Array(await res.arrayBuffer());
    assert.equal(back.length, body.length, `${name}: length`);
    assert.equal(sha(back), sha(body), `${name}: content`);
  }
});

/** Posts `body` with chunked transfer encoding (no Content-Length) and checks the echo. */
async function chunkedEcho(f: Ferry, name: string, body: Buffer): Promise<string | undefined> {
  const r = await rawRequest(f.url, { method: 'POST', path: `/fn/${name}`, headers: { 'content-type': 'application/octet-stream' }, chunked: { data: body, chunkSize: 64 * 1024 } });
  if (!isAnswer(r)) return `${name}: connection failed: ${r.error.message}`;
  if (r.status !== 200) return `${name}: answered ${r.status} ${r.body.subarray(0, 200).toString()}`;
  if (r.body.length !== body.length) return `${name}: echoed ${r.body.length} of ${body.length} bytes`;
  if (sha(r.body) !== sha(body)) return `${name}: echoed different bytes`;
  return undefined;
}

test('large bodies: a chunked 5 MiB upload to a warm function is echoed byte-exact', { timeout: 40_000 }, async () => {
  const names = await deployEchoes(ferry, 'echo-warm');
  for (const name of names) assert.equal((await fetch(`${ferry.url}/fn/${name}`, { method: 'POST', body: 'warm' })).status, 200);
  const body = randomBytes(5 * 1024 * 1024);
  const problems = (await Promise.all(names.map((name) => chunkedEcho(ferry, name, body)))).filter(Boolean);
  assert.deepEqual(problems, [], 'every chunked upload must arrive whole');
});

test('large bodies: a chunked 5 MiB upload to a cold function is echoed byte-exact', { timeout: 40_000 }, async () => {
  // The instance is still starting while the first chunks arrive: not one byte may be lost.
  const names = await deployEchoes(ferry, 'echo-cold');
  const body = randomBytes(5 * 1024 * 1024);
  const problems = (await Promise.all(names.map((name) => chunkedEcho(ferry, name, body)))).filter(Boolean);
  assert.deepEqual(problems, [], 'every chunked upload must arrive whole');
});

test('body cap: with --max-body 1mb a 2 MiB body is refused with 413 body-too-large', { timeout: 40_000 }, async (t) => {
  const small = await startFerry({ args: ['--max-body', '1mb'] });
  t.after(() => disposeFerry(small));
  await small.deploy('echo', { 'ferry.json': manifest({ runtime: 'node', handler: 'index.js', limits: { timeoutMs: 5_000 } }), ...echoNode });
  const twoMiB = randomBytes(2 * 1024 * 1024);

  // Content-Length over the cap: refused from the head alone, before any byte of the body.
  const headOnly = await rawRequest(small.url, { method: 'POST', path: '/fn/echo', headersOnly: true, headers: { 'content-length': twoMiB.length, 'content-type': 'application/octet-stream' } });
  assert.ok(isAnswer(headOnly), `a head with Content-Length over the cap must be answered: ${!isAnswer(headOnly) ? headOnly.error.message : ''}`);
  assert.equal(headOnly.status, 413);
  assert.match(headOnly.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.ok(headOnly.headers['x-request-id'], 'x-request-id on the 413');
  assert.equal((JSON.parse(headOnly.body.toString()) as { code: string }).code, 'body-too-large');

  // The same with the whole body sent: 413 (or the connection cut before an answer), never 200.
  const full = await rawRequest(small.url, { method: 'POST', path: '/fn/echo', body: twoMiB, headers: { 'content-type': 'application/octet-stream' } });
  if (isAnswer(full)) {
    assert.equal(full.status, 413);
    assert.equal((JSON.parse(full.body.toString()) as { code: string }).code, 'body-too-large');
  }

  // Chunked over the cap: counted as it streams and stopped; 413 or a closed connection, never 200.
  const chunked = await rawRequest(small.url, { method: 'POST', path: '/fn/echo', chunked: { data: twoMiB, chunkSize: 64 * 1024 } });
  if (isAnswer(chunked)) {
    assert.equal(chunked.status, 413, `chunked over the cap answered ${chunked.status}: ${chunked.body.subarray(0, 200).toString()}`);
    assert.equal((JSON.parse(chunked.body.toString()) as { code: string }).code, 'body-too-large');
  } else {
    assert.match(chunked.error.code ?? chunked.error.message, /ECONNRESET|EPIPE|socket hang up/);
  }

  // Under the cap still works, both ways of sending, after the refusals.
  const okBody = randomBytes(512 * 1024);
  const ok = await fetch(`${small.url}/fn/echo`, { method: 'POST', body: okBody });
  assert.equal(ok.status, 200);
  assert.equal(sha(new Uint8Array(await ok.arrayBuffer())), sha(okBody));
  assert.equal(await chunkedEcho(small, 'echo', okBody), undefined, 'a chunked body under the cap is echoed whole');
});

test('WebSocket: an http function using the ws package echoes messages; the open socket counts as in flight', { timeout: 40_000 }, async () => {
  await ferry.deploy('ws-echo', await wsEchoFiles());
  const port = new URL(ferry.url).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/fn/ws-echo/room?x=1`);
  const received: string[] = [];
  let onMessage: () => void = () => {};
  ws.on('message', (data) => {
    received.push(data.toString());
    onMessage();
  });
  const nextMessages = (n: number): Promise<void> =>
    within(`${n} WebSocket message(s)`, 10_000, new Promise<void>((resolve) => {
      const check = (): void => {
        if (received.length >= n) resolve();
      };
      onMessage = check;
      check();
    }));
  await within('the WebSocket to open', 15_000, new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
  }));
  await nextMessages(1);
  assert.equal(received[0], 'hello /room?x=1', 'the function sees the path after /fn/{name}');

  for (const m of ['one', 'two', 'three']) ws.send(m);
  await nextMessages(4);
  assert.deepEqual(received.slice(1), ['one', 'two', 'three']);

  const open = await listInstances(ferry, 'ws-echo');
  assert.equal(open.length, 1);
  assert.equal(open[0]!.inFlight, 1, 'an open WebSocket is one call in flight');

  // Plain HTTP to the same function still works while the socket is open.
  const plain = await fetch(`${ferry.url}/fn/ws-echo`);
  assert.equal(await plain.text(), 'plain http');

  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.close(1000, 'bye');
  assert.equal(await within('the close handshake', 10_000, closed), 1000);
  await waitFor('inFlight back to 0 after the close', async () => {
    const l = await listInstances(ferry, 'ws-echo');
    return l.length === 1 && l[0]!.inFlight === 0;
  });
});

test('host routing: with --domain, {name}.D, {version}.{name}.D and {alias}.{name}.D reach the function; other hosts reach the API', { timeout: 40_000 }, async () => {
  const d = ferry;
  const files = {
    'ferry.json': manifest({ runtime: 'node', handler: 'index.js' }),
    'package.json': '{"type":"module"}',
    'index.js': 'export default (req, ctx) => ({ fn: ctx.function, version: ctx.version, path: new URL(req.url).pathname + new URL(req.url).search });\n',
  };
  for (const v of ['v1', 'v2', 'v3']) await d.deploy('hello', files, v);
  const alias = await d.api('PUT', '/v1/functions/hello/aliases/prod', { version: 'v2' });
  assert.equal(alias.status, 200);
  const port = new URL(d.url).port;

  const get = async (host: string, path = '/greet?x=1'): Promise<{ status: number; json: Record<string, unknown>; rid: unknown }> => {
    const r = await rawRequest(d.url, { path, headers: { host } });
    assert.ok(isAnswer(r), `Host ${host}: ${!isAnswer(r) ? r.error.message : ''}`);
    return { status: r.status, json: JSON.parse(r.body.toString()) as Record<string, unknown>, rid: r.headers['x-request-id'] };
  };

  const latest = await get(`hello.fn.test:${port}`);
  assert.equal(latest.status, 200);
  assert.deepEqual(latest.json, { fn: 'hello', version: 'v3', path: '/greet?x=1' }, 'the whole path goes to the function');
  assert.ok(latest.rid);
  assert.equal((await get('hello.fn.test')).json.version, 'v3', 'without a port too');
  assert.equal((await get(`v1.hello.fn.test:${port}`)).json.version, 'v1');
  assert.equal((await get('v1.hello.fn.test')).json.version, 'v1');
  assert.equal((await get(`prod.hello.fn.test:${port}`)).json.version, 'v2');
  assert.equal((await get(`HELLO.FN.TEST:${port}`)).json.version, 'v3', 'host names are case-insensitive');

  const missing = await get(`nope.fn.test:${port}`);
  assert.equal(missing.status, 404);
  assert.equal(missing.json.code, 'function-not-found');
  assert.ok(missing.rid);

  // Any other host, and the domain itself, is the API.
  for (const host of [`127.0.0.1:${port}`, 'example.com', `fn.test:${port}`, `hello.fn.test.example.com:${port}`]) {
    const health = await get(host, '/healthz');
    assert.equal(health.status, 200, `Host ${host}: /healthz`);
    assert.equal(health.json.status, 'ok');
  }
  // ...and /fn paths keep working on the API host.
  assert.equal((await get(`127.0.0.1:${port}`, '/fn/hello@v1/x')).json.version, 'v1');
});
