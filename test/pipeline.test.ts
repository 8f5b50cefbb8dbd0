/**
 * The invocation pipeline called in process: plain invocation values in, a memory writer out, no
 * socket between the test and Ferry (the functions are real instances under the process
 * driver). Its policy: resolve, authorize, credential stripping, limits, async, time limits,
 * history. And a body for every method, end to end over HTTP for node, python and exec.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { startInProcess, type InProcessFerry } from './support/in-process.js';
import { startFerry, disposeFerry } from './support/ferry.js';
import { rawRequest, isAnswer } from './support/raw-http.js';
import { nodeFn, until } from './support/helpers.js';

let ferry: InProcessFerry;
before(async () => {
  ferry = await startInProcess({ maxBodyBytes: 1024, historyPayloadMaxBytes: 64 });
  await ferry.deploy('echo', nodeFn('export default async (req, ctx) => Response.json({ method: req.method, url: new URL(req.url).pathname, headers: [...req.headers], body: ctx.body ? await new Response(ctx.body).text() : null, requestId: ctx.requestId });'));
  await ferry.deploy('guarded', nodeFn("export default (req) => 'guarded:' + (req.headers.get('authorization') ?? 'none');", { invoke: 'token' }));
  await ferry.deploy('sleepy', nodeFn('export default (req) => new Promise((r) => setTimeout(() => r("late"), 20_000));'));
  await ferry.deploy('recorded', nodeFn('export default async (req) => "got:" + (await req.text());', { recordPayloads: true }));
});
after(() => ferry.close());

test('a sync invocation resolves, calls the function and answers through the writer, with the request id', async () => {
  const { out, writer, text } = await ferry.invoke({ function: 'echo', method: 'POST', path: '/a/b?x=1', headers: ['x-test', 'yes'], requestId: 'in-process-1' }, 'hello');
  assert.equal(out.error, undefined);
  assert.equal(out.status, 200);
  assert.equal(out.requestId, 'in-process-1');
  assert.equal(writer.header('x-request-id'), 'in-process-1');
  const seen = JSON.parse(text) as { method: string; url: string; headers: string[][]; body: string; requestId: string };
  assert.equal(seen.method, 'POST');
  assert.equal(seen.url, '/a/b');
  assert.equal(seen.body, 'hello');
  assert.equal(seen.requestId, 'in-process-1');
  assert.ok(seen.headers.some(([k, v]) => k === 'x-test' && v === 'yes'));

  // An id that is not a sane one is replaced.
  const odd = await ferry.invoke({ function: 'echo', requestId: 'bad id with spaces' });
  assert.notEqual(odd.out.requestId, 'bad id with spaces');
  assert.match(odd.out.requestId, /^[A-Za-z0-9._:-]{1,128}$/);
});

test('resolve: an unknown function or ref is a 404 outcome, nothing written', async () => {
  const fn = await ferry.invoke({ function: 'nope' });
  assert.equal(fn.out.error?.code, 'function-not-found');
  assert.equal(fn.out.status, 404);
  assert.equal(fn.writer.headersSent, false);
  const ref = await ferry.invoke({ function: 'echo', ref: 'v9' });
  assert.equal(ref.out.status, 404);
  assert.equal(ref.writer.headersSent, false);
});

test('authorize: a function asking for a token gets one checked; a known principal needs none; Ferry credentials never reach it', async () => {
  const none = await ferry.invoke({ function: 'guarded' });
  assert.equal(none.out.error?.code, 'unauthorized');
  assert.equal(none.out.status, 401);
  const bad = await ferry.invoke({ function: 'guarded', credential: 'Bearer fry_not-a-real-token-at-all-0000000000000' });
  assert.equal(bad.out.status, 401);

  const credential = `Bearer ${ferry.token}`;
  const ok = await ferry.invoke({ function: 'guarded', credential, headers: ['Authorization', credential, 'x-other', '1'] });
  assert.equal(ok.out.status, 200);
  assert.equal(ok.text, 'guarded:none', 'the Ferry token was stripped before the call');

  const asAdmin = await ferry.invoke({ function: 'guarded', principal: { subject: 'admin', groups: ['root', 'singular:admin'], tokenId: 't', via: 'api-token' } });
  assert.equal(asAdmin.out.status, 200);
  const stranger = await ferry.invoke({ function: 'guarded', principal: { subject: 'x', groups: ['permission:execute', 'singular:x'], tokenId: 't', via: 'api-token' } });
  assert.equal(stranger.out.error?.code, 'function-not-found', 'a caller outside the owning group does not see the function');

  // A public function's caller keeps other schemes: they are the function's business.
  const basic = await ferry.invoke({ function: 'echo', credential: 'Basic dTpw', headers: ['Authorization', 'Basic dTpw'] });
  assert.ok((JSON.parse(basic.text) as { headers: string[][] }).headers.some(([k, v]) => k === 'authorization' && v === 'Basic dTpw'));
});

test('limits: a declared body over --max-body is refused before any instance starts; a streamed one is stopped', async () => {
  await ferry.deploy('never-started', nodeFn('export default () => "ran";'));
  const declared = await ferry.invoke({ function: 'never-started', method: 'POST' }, Buffer.alloc(2048));
  assert.equal(declared.out.error?.code, 'body-too-large');
  assert.equal(declared.out.status, 413);
  const instances = (await (await ferry.api('GET', '/v1/functions/never-started/instances')).json()) as { instances: unknown[] };
  assert.deepEqual(instances.instances, [], 'refused from the declared size alone');

  // No declared size: counted as it streams, the call stopped past the cap.
  const streamed = await ferry.invoke({ function: 'echo', method: 'POST', body: Readable.from([Buffer.alloc(600), Buffer.alloc(600)], { objectMode: false }), bodyLength: undefined });
  assert.equal(streamed.out.error?.code, 'body-too-large');
});

test('time limits: a caller deadline shorter than the function limit ends the call with invoke-timeout', async () => {
  const { out } = await ferry.invoke({ function: 'sleepy', deadline: Date.now() + 300 });
  assert.equal(out.error?.code, 'invoke-timeout');
  assert.equal(out.status, 504);
});

test('async: accepted, stored and answered 202; the run goes through the pipeline and is in the history as async', async () => {
  const { out, writer, text } = await ferry.invoke({ function: 'echo', method: 'POST', path: '/later', mode: 'async', headers: ['content-type', 'text/plain'] }, 'for later');
  assert.equal(out.status, 202);
  const accepted = JSON.parse(text) as { id: string; location: string };
  assert.equal(writer.header('location'), `/v1/executions/${accepted.id}`);
  const done = await until(async () => {
    const rec = (await (await ferry.api('GET', `/v1/executions/${accepted.id}`)).json()) as { status: string };
    return rec.status === 'succeeded' ? rec : undefined;
  }, 15_000);
  assert.ok(done);
  const result = await (await ferry.api('GET', `/v1/executions/${accepted.id}/result`)).text();
  assert.equal((JSON.parse(result) as { body: string; url: string }).body, 'for later');
  const runs = await until(async () => {
    const l = (await (await ferry.api('GET', '/v1/invocations?function=echo')).json()) as { invocations: Array<{ kind: string; executionId: string | null; path: string; requestId: string }> };
    return l.invocations.find((i) => i.executionId === accepted.id);
  }, 5_000);
  assert.equal(runs?.kind, 'async');
  assert.equal(runs?.path, '/later');
  assert.equal(runs?.requestId, accepted.id);
});

test('history: sync calls are recorded; recordPayloads copies both bodies as they pass, cut at the cap', async () => {
  const { out } = await ferry.invoke({ function: 'recorded', method: 'POST', requestId: 'recorded-1' }, 'x'.repeat(100));
  assert.equal(out.status, 200);
  const entry = await until(async () => {
    const l = (await (await ferry.api('GET', '/v1/invocations?function=recorded')).json()) as { invocations: Array<{ id: string; requestId: string }> };
    return l.invocations.find((i) => i.requestId === 'recorded-1');
  });
  assert.ok(entry);
  const detail = (await (await ferry.api('GET', `/v1/invocations/${entry.id}`)).json()) as { request: { body: string }; response: { body: string }; truncated: boolean; kind: string };
  assert.equal(detail.kind, 'sync');
  assert.equal(detail.request.body, 'x'.repeat(64));
  assert.equal(detail.response.body, `got:${'x'.repeat(60)}`);
  assert.equal(detail.truncated, true);
});

test('a body for every method: a GET with a body reaches a node handler as context.body', async () => {
  const { out, text } = await ferry.invoke({ function: 'echo', method: 'GET', path: '/q' }, 'payload on a GET');
  assert.equal(out.status, 200);
  const seen = JSON.parse(text) as { method: string; body: string };
  assert.equal(seen.method, 'GET');
  assert.equal(seen.body, 'payload on a GET');
});

test('a body for every method, end to end over HTTP: GET with a body reaches node (context.body), python (request.body) and exec (stdin)', { timeout: 120_000 }, async (t) => {
  const real = await startFerry();
  t.after(() => disposeFerry(real));
  await real.deploy('get-node', nodeFn('export default async (req, ctx) => req.method + ":" + (req.body === null) + ":" + (ctx.body ? await new Response(ctx.body).text() : "none");'));
  await real.deploy('get-py', { 'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py' }), 'main.py': 'def handler(request):\n    return request.method + ":" + request.body.decode()\n' });
  await real.deploy('get-exec', { 'ferry.json': JSON.stringify({ runtime: 'exec', command: ['sh', 'run.sh'] }), 'run.sh': 'printf "%s:" "$FERRY_METHOD"; cat\n' });
  const get = async (name: string, body: string): Promise<string> => {
    // Node's client frames a GET's body only when told its length.
    const r = await rawRequest(real.url, { method: 'GET', path: `/fn/${name}`, body: Buffer.from(body), headers: { 'content-length': Buffer.byteLength(body) } });
    assert.ok(isAnswer(r), `${name}: ${!isAnswer(r) ? r.error.message : ''}`);
    assert.equal(r.status, 200, `${name}: ${r.body.toString()}`);
    return r.body.toString();
  };
  assert.equal(await get('get-node', 'coap-ish payload'), 'GET:true:coap-ish payload', 'request.body stays null on a GET; context.body has it');
  assert.equal(await get('get-py', 'tinyfaas payload'), 'GET:tinyfaas payload');
  assert.equal(await get('get-exec', 'stdin payload'), 'GET:stdin payload');
  // Chunked, too: no declared length.
  const chunked = await rawRequest(real.url, { method: 'GET', path: '/fn/get-node', chunked: { data: Buffer.from('chunked get body'), chunkSize: 5 } });
  assert.ok(isAnswer(chunked));
  assert.equal(chunked.body.toString(), 'GET:true:chunked get body');
});
