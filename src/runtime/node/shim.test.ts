import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CallSignal, type InvocationRequest, type ResponseWriter } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { startInstance, tempDir, type TestInstance } from '../../../test/support/runtime-harness.js';
import { nodeRuntime } from './node-runtime.js';

/** One module exercising every conversion rule, request field and failure mode, by path. */
const handlerJs = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// /stream's second event waits for /release; /slow answers once 50 calls are in at once.
let release;
const released = new Promise((r) => (release = r));
let slowIn = 0;
let allIn;
const allArrived = new Promise((r) => (allIn = r));
console.log('module loaded');
export default async function (request, context) {
  const url = new URL(request.url);
  switch (url.pathname) {
    case '/string': return 'hello';
    case '/object': return { a: 1, list: [1, 'two'] };
    case '/bytes': return new Uint8Array([0, 1, 255]);
    case '/arraybuffer': return new Uint8Array([7, 8]).buffer;
    case '/null': return null;
    case '/sync': return 'never awaited';
    case '/response': {
      const headers = new Headers({ 'x-custom': 'yes' });
      headers.append('set-cookie', 'a=1');
      headers.append('set-cookie', 'b=2');
      return new Response('created', { status: 201, headers });
    }
    case '/json': return Response.json({ ok: true }, { status: 202 });
    case '/blob': return new Response(new Blob(['blob body'], { type: 'text/x-blob' }));
    case '/stream': {
      let n = 0;
      return new Response(new ReadableStream({
        async pull(c) {
          n++;
          if (n > 1) await released;
          c.enqueue(new TextEncoder().encode('data: ' + n + '\\n\\n'));
          if (n === 2) c.close();
        },
      }), { headers: { 'content-type': 'text/event-stream' } });
    }
    case '/endless': return new Response(new ReadableStream({
      pull: async (c) => { await sleep(20); c.enqueue(new TextEncoder().encode('tick\\n')); },
      cancel: () => console.log('stream cancelled', context.requestId),
    }));
    case '/echo': {
      const body = new Uint8Array(await request.arrayBuffer());
      return new Response(body, { headers: { 'x-method': request.method, 'x-length': String(body.length) } });
    }
    case '/pipe': return new Response(request.body);
    case '/context': return {
      function: context.function, version: context.version, requestId: context.requestId,
      greeting: context.env.GREETING, seesSocket: 'FERRY_SOCKET' in context.env, frozen: Object.isFrozen(context.env),
      waitUntil: typeof context.waitUntil, url: request.url, method: request.method,
      header: request.headers.get('x-test'), hasBody: request.body !== null, aborted: request.signal.aborted,
    };
    case '/throw': throw new Error('boom here');
    case '/reject': return Promise.reject(new TypeError('bad thing'));
    case '/log':
      console.log('hello from', context.requestId);
      await sleep(5);
      console.error('two\\nlines');
      context.waitUntil(sleep(10).then(() => console.info('after the response')));
      return 'logged';
    case '/release': release(); return 'released';
    case '/inflight': console.log('in flight'); await sleep(300); return 'last';
    case '/slow': if (++slowIn === 50) allIn(); await allArrived; return url.searchParams.get('n');
    case '/hang':
      request.signal.addEventListener('abort', () => console.log('aborted', context.requestId));
      return new Promise(() => {});
    case '/proxy': return fetch(context.env.UPSTREAM);
    case '/crash': setTimeout(() => { throw new Error('async crash'); }, 10); return 'ok';
  }
  return new Response('no route', { status: 404 });
}
`;

async function instance(t: TestContext, env: Record<string, string> = {}): Promise<TestInstance> {
  const dir = tempDir(t, 'ferry-shim-');
  writeFileSync(join(dir, 'index.js'), handlerJs);
  await nodeRuntime.build({ dir, manifest: { runtime: 'node', handler: 'index.js' }, log() {} });
  return startInstance(t, nodeRuntime, dir, { handler: 'index.js', env: { GREETING: 'hi', FERRY_FUNCTION: 'fn', FERRY_VERSION: 'v1', ...env } });
}

/** An upstream that answers gzip-compressed, for the fetch()-and-return test. */
async function gzipUpstream(t: TestContext): Promise<string> {
  const server = createServer((_req, res) => {
    const body = gzipSync('upstream says hi');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length, 'x-upstream': '1' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('node shim: conversions, bodies, context, errors, logs, concurrency, cancel', async (t) => {
  const inst = await instance(t, { UPSTREAM: await gzipUpstream(t) });
  const get = (path: string, init?: RequestInit): Promise<Response> => fetch(inst.url + path, init);

  await t.test('string -> 200 text/plain with content-length', async () => {
    const r = await get('/string');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(r.headers.get('content-length'), '5');
    assert.equal(await r.text(), 'hello');
  });

  await t.test('object -> JSON; bytes and ArrayBuffer -> octet-stream; null -> 204', async () => {
    const o = await get('/object');
    assert.equal(o.headers.get('content-type'), 'application/json');
    assert.deepEqual(await o.json(), { a: 1, list: [1, 'two'] });
    const b = await get('/bytes');
    assert.equal(b.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual([...new Uint8Array(await b.arrayBuffer())], [0, 1, 255]);
    assert.deepEqual([...new Uint8Array(await (await get('/arraybuffer')).arrayBuffer())], [7, 8]);
    const n = await get('/null');
    assert.equal(n.status, 204);
    assert.equal(await n.text(), '');
  });

  await t.test('Response: status, headers (each set-cookie kept), string / JSON / Blob bodies', async () => {
    const r = await get('/response');
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('x-custom'), 'yes');
    assert.deepEqual(r.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(r.headers.get('content-length'), '7');
    assert.equal(await r.text(), 'created');
    const j = await get('/json');
    assert.equal(j.status, 202);
    assert.deepEqual(await j.json(), { ok: true });
    const b = await get('/blob');
    assert.equal(b.headers.get('content-type'), 'text/x-blob');
    assert.equal(await b.text(), 'blob body');
  });

  // Causal, not timed: the second event is held until the first has arrived and /release is
  // called, so a shim that buffered the stream would never answer (the hang guard fails it).
  await t.test('a streamed Response reaches the client chunk by chunk', { timeout: 60_000 }, async () => {
    const r = await get('/stream');
    assert.equal(r.headers.get('content-type'), 'text/event-stream');
    const reader = r.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'data: 1\n\n');
    assert.equal(await (await get('/release')).text(), 'released');
    let rest = '';
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
    assert.equal(rest, 'data: 2\n\n');
  });

  await t.test('a Response from fetch() is passed on decoded, without its stale encoding headers', async () => {
    const r = await get('/proxy');
    assert.equal(r.headers.get('x-upstream'), '1');
    assert.equal(r.headers.get('content-encoding'), null);
    assert.equal(await r.text(), 'upstream says hi');
  });

  await t.test('request body: 1 MiB POST echoed whole, and piped straight back as a stream', async () => {
    const body = randomBytes(1024 * 1024);
    const r = await get('/echo', { method: 'POST', body });
    assert.equal(r.headers.get('x-method'), 'POST');
    assert.equal(r.headers.get('x-length'), String(body.length));
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(body));
    const p = await get('/pipe', { method: 'PUT', body });
    assert.ok(Buffer.from(await p.arrayBuffer()).equals(body));
  });

  await t.test('Request and context fields', async () => {
    const r = await get('/context?x=1', { headers: { 'x-test': 'abc' } });
    const c = await r.json();
    assert.equal(c.requestId, r.headers.get('x-request-id'));
    assert.deepEqual({ ...c, requestId: undefined }, {
      function: 'fn',
      version: 'v1',
      greeting: 'hi',
      seesSocket: false,
      frozen: true,
      waitUntil: 'function',
      url: `${inst.url}/context?x=1`,
      method: 'GET',
      header: 'abc',
      hasBody: false,
      aborted: false,
      requestId: undefined,
    });
  });

  await t.test('thrown error and rejected promise -> 500 function-error, stack on stderr with the request id', async () => {
    const r = await get('/throw');
    assert.equal(r.status, 500);
    assert.equal(r.headers.get('x-error-code'), 'function-error');
    const id = r.headers.get('x-request-id')!;
    await waitFor(() => inst.stderr().includes(`\x1e${id}\x1fError: boom here\n\x1e${id}\x1f    at `));
    const rej = await get('/reject');
    assert.equal(rej.status, 500);
    assert.match(await rej.text(), /TypeError: bad thing/);
  });

  await t.test('console output inside a call carries \\x1e<id>\\x1f on every line; outside it none', async () => {
    const r = await get('/log');
    const id = r.headers.get('x-request-id')!;
    assert.equal(await r.text(), 'logged');
    await waitFor(() => inst.stdout().includes(`\x1e${id}\x1fafter the response\n`));
    assert.ok(inst.stdout().includes(`\x1e${id}\x1fhello from ${id}\n`));
    assert.ok(inst.stderr().includes(`\x1e${id}\x1ftwo\n\x1e${id}\x1flines\n`));
    assert.ok(inst.stdout().startsWith('module loaded\n'));
  });

  // Each call waits until all 50 are in the handler at once: calls run one at a time would never end.
  await t.test('50 concurrent calls on one instance overlap', { timeout: 60_000 }, async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => get(`/slow?n=${i}`).then((r) => r.text())));
    assert.deepEqual(answers, Array.from({ length: 50 }, (_, i) => String(i)));
  });

  await t.test('a client that goes away cancels the call: request.signal aborts, streams are cancelled', async () => {
    const ac = new AbortController();
    const pending = get('/hang', { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    await assert.rejects(pending);
    await waitFor(() => /\x1e([^\x1f]+)\x1faborted \1\n/.test(inst.stdout()));

    const s = await get('/endless');
    const reader = s.body!.getReader();
    await reader.read();
    await reader.cancel();
    await waitFor(() => /\x1e([^\x1f]+)\x1fstream cancelled \1\n/.test(inst.stdout()));
    assert.equal(await (await get('/string')).text(), 'hello', 'the instance still serves');
  });
});

/** A bodiless GET as the gateway would pass it, without an HTTP server in between. */
function fakeRequest(url: string): InvocationRequest {
  return { method: 'GET', path: url, headers: ['Host', 'fn.local'], body: undefined };
}

/** Records what the connector writes. */
function recordingSink(): ResponseWriter & { status: number; body: string; ended: boolean } {
  return {
    headersSent: false,
    destroyed: false,
    statusCode: 200,
    writableFinished: false,
    status: 0,
    body: '',
    ended: false,
    writeHead(status: number) {
      this.status = status;
      return this;
    },
    write(chunk: Uint8Array | string) {
      this.body += String(chunk);
      return true;
    },
    end(chunk?: Uint8Array | string) {
      if (chunk) this.body += Buffer.from(chunk).toString();
      this.ended = true;
    },
    once() {},
    on() {},
    off() {},
    destroy() {},
  };
}

test('connector.dispatch direct: answer into a sink; meta.signal abort cancels the call in the instance', async (t) => {
  const inst = await instance(t);
  const meta = (signal: CallSignal, requestId: string = randomUUID()) => ({ requestId, signal, onHeaders() {}, extraHeaders: [] });
  const sink = recordingSink();
  await inst.connector.dispatch(fakeRequest('/context'), sink, meta(new CallSignal(), 'direct-1'));
  assert.equal(sink.status, 200);
  assert.equal(JSON.parse(sink.body).url, 'http://fn.local/context');
  assert.equal(JSON.parse(sink.body).requestId, 'direct-1');

  const cancel = new CallSignal();
  const pending = inst.connector.dispatch(fakeRequest('/hang'), recordingSink(), meta(cancel, 'direct-2'));
  await new Promise((r) => setTimeout(r, 50));
  cancel.abort(new FerryError('invoke-timeout', 'too slow'));
  await assert.rejects(pending, (e: unknown) => e instanceof FerryError && e.code === 'invoke-timeout');
  await waitFor(() => inst.stdout().includes('\x1edirect-2\x1faborted direct-2\n'));
});

test('SIGTERM lets in-flight calls finish, then the shim exits 0', async (t) => {
  const inst = await instance(t);
  const slow = fetch(`${inst.url}/inflight`).then((r) => r.text());
  // SIGTERM once the call is in the handler (it said so), not after a guessed pause.
  await waitFor(() => inst.stdout().includes('in flight'), 60_000);
  const stopped = inst.process.stop(5000);
  assert.equal(await slow, 'last');
  await stopped;
  assert.equal(await inst.exited, 0);
});

test('an uncaught exception exits 70 with the error on stderr', async (t) => {
  const inst = await instance(t);
  assert.equal(await (await fetch(`${inst.url}/crash`)).text(), 'ok');
  assert.equal(await inst.exited, 70);
  assert.match(inst.stderr(), /uncaught exception[\s\S]*async crash/);
});
